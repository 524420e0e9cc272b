"""What a pipeline step is, and the context it works in."""

from __future__ import annotations

import datetime as _dt
import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lappana.paths import night_folder


@dataclass
class Context:
    """Everything a step needs about one request.

    Attributes
    ----------
    site : Site
    request : Request
        The parsed request (``spoold.request.Request``).
    folder : Path
        The request's folder (in ``running/``).
    state : dict
        Its ``state.json`` (read-only for steps; the daemon writes it).
    products : Path
        Where the products go: the request folder, or the site's output root.
    """

    site: Any
    request: Any
    folder: Path
    state: dict[str, Any]
    products: Path
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))

    @property
    def runs(self) -> list[int]:
        """The runs resolved by the ``resolve`` step."""
        return [int(r) for r in self.state.get("runs") or []]

    @property
    def night(self) -> str | None:
        """The night as ``YYYYMMDD`` of a one-night request (resolved), or None."""
        return self.state.get("night")

    @property
    def nights(self) -> list[str]:
        """Every night (``YYYYMMDD``) the resolved runs come from, in order."""
        return list(self.state.get("nights") or ([self.night] if self.night else []))

    def night_of_run(self, run: int) -> str | None:
        """The night (``YYYYMMDD``) a resolved run belongs to, or None when unknown."""
        return (self.state.get("run_nights") or {}).get(str(int(run))) or self.night

    def data_path(self, level: str, run: int) -> Path:
        """Return the site's DL1 or DL2 file of a run, in its night's folder (searching nights when none is known)."""
        pattern = self.site.data.dl1_pattern if level == "dl1" else self.site.data.dl2_pattern
        values = {"data_root": self.site.data.data_root, "run": int(run)}
        night = self.night_of_run(run)
        if night:
            return Path(pattern.format(night=night, **values))
        matches = sorted(glob.glob(pattern.format(night="*", **values)))
        return Path(matches[-1]) if matches else Path(pattern.format(night="NIGHT", **values))

    def subruns_of(self, run: int) -> int | None:
        """How many subrun DL1 files a run's DL2 is made from (``resolve`` found them, ``state.json``'s
        ``run_subruns``), or None for a run taken whole."""
        subruns = (self.state.get("run_subruns") or {}).get(str(int(run)))
        return int(subruns) if subruns and self.night_of_run(run) else None

    def dl1_files(self, run: int) -> list[Path]:
        """The DL1 files a run's DL2 is made from: its subrun files in order (:meth:`subruns_of`,
        :meth:`spoold.site.DataPatterns.dl1_files`), else its run file."""
        subruns = self.subruns_of(run)
        if subruns:
            return self.site.data.dl1_files(self.night_of_run(run), run, subruns)
        return [self.data_path("dl1", run)]

    def log_file(self, step: str, label: str) -> Path:
        """Return the log file of a task: ``logs/<step>/<label>.log``."""
        safe = label.replace(" ", "")
        return self.folder / "logs" / step / f"{safe}.log"

    def result_file(self, step: str, label: str) -> Path:
        """Return the result file of a task for the current attempt."""
        safe = label.replace(" ", "")
        attempt = int(self.state.get("attempt", 1))
        return self.folder / "logs" / step / ".results" / f"{safe}.attempt{attempt}.json"


@dataclass(frozen=True)
class TaskPlan:
    """One task a step wants run: a label, an argv, and the files it writes."""

    label: str
    argv: tuple[str, ...]
    outputs: tuple[Path, ...] = ()


class Step:
    """A pipeline step. Subclasses set :attr:`name` and implement the methods.

    A step is idempotent: :meth:`done_already` says when its outputs exist and
    check out (then the daemon skips it and says so), :meth:`waits_on` when
    another request is making them (then it waits), :meth:`outputs` names what
    an earlier attempt may have left (removed before the step runs again),
    :meth:`tasks` lists what to run, :meth:`verify` checks the outputs after
    every task succeeded.
    """

    name: str = ""
    #: False for a step that reads nothing the steps before it write: chained after them it may still be
    #: skipped or wait (:meth:`done_already`, :meth:`waits_on`), as a first step may
    reads_upstream: bool = True

    def wanted(self, ctx: Context) -> bool:
        """True when the request needs this step."""
        return True

    def done_already(self, ctx: Context) -> str | None:
        """A sentence when the outputs already exist and check out (the step is skipped)."""
        return None

    def waits_on(self, ctx: Context) -> str | None:
        """A sentence when the step must wait for work another request is doing (it is not submitted yet)."""
        return None

    def tasks(self, ctx: Context) -> list[TaskPlan]:
        """The tasks to run (one per run, or one)."""
        raise NotImplementedError

    def resources(self, ctx: Context) -> Any:
        """What its tasks ask of Slurm besides the site's: the request's own ``slurm:`` (a
        :class:`~spoold.executors.resources.Resources`)."""
        return ctx.request.slurm

    def outputs(self, ctx: Context) -> list[Path]:
        """The files this step writes (inside the request's own products folder): its tasks' outputs.

        Before the step is handed to the executor afresh, whatever of them an
        earlier attempt left is removed, so a retry never meets its own partial
        outputs (a tool that refuses to overwrite, a half-written file); an
        executor that retries one task removes that task's.
        """
        return [path for plan in self.tasks(ctx) for path in plan.outputs]

    def verify(self, ctx: Context) -> str | None:
        """A sentence naming what is missing after the tasks succeeded, else None."""
        return None


def nights_of(request: Any) -> list[str]:
    """Return every night of the request as ``YYYYMMDD`` (``night`` or ``nights``), in order."""
    nights = getattr(request, "nights", ()) or ((request.night,) if getattr(request, "night", None) else ())
    return [night_folder(n) for n in nights]
