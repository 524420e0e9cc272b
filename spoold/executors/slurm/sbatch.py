"""The batch script of one Slurm job array.

Every option goes into ``#SBATCH`` lines, so the script in the request's folder says
exactly what was asked of Slurm, and ``sbatch --parsable script`` is the whole command.
Each array element looks up its task in a ``case`` table and runs it through
``python -m spoold.taskrun``, which writes the task's result file itself.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)B?$", re.IGNORECASE)
_UNITS_MB = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024.0}


@dataclass(frozen=True)
class Resources:
    """What one array element asks Slurm for.

    Attributes
    ----------
    partition, account, qos : str or None
        Passed as ``--partition``, ``--account``, ``--qos`` when set.
    time : str
        Wall-clock limit per task in Slurm's syntax (``"01:00:00"``, ``"30"`` minutes).
    mem : str
        Memory per task (``"4G"``, ``"500M"``).
    cpus_per_task : int
        ``--cpus-per-task``.
    extra : tuple of str
        Further sbatch options, each a whole option such as ``"--constraint=fat"``.
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str = "01:00:00"
    mem: str = "4G"
    cpus_per_task: int = 1
    extra: tuple[str, ...] = ()

    def overridden(self, overrides: Mapping[str, object] | object | None) -> "Resources":
        """These resources with the fields a request sets replacing the site's.

        Parameters
        ----------
        overrides : mapping or object or None
            A mapping or an object with some of this class's field names; ``None``
            values (and ``None`` itself) change nothing. A non-empty ``extra`` replaces
            the site's options (the daemon passes the site's and the request's together,
            :func:`spoold.pipeline.runner.resources`).
        """
        if overrides is None:
            return self
        if not isinstance(overrides, Mapping):
            overrides = {name: getattr(overrides, name, None) for name in self.__dataclass_fields__}
        changes: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = overrides.get(name)
            if value is None:
                continue
            if name == "extra":
                if value:
                    changes["extra"] = tuple(str(v) for v in value)  # type: ignore[union-attr]
            elif name == "cpus_per_task":
                changes[name] = int(value)  # type: ignore[arg-type]
            else:
                changes[name] = str(value)
        return replace(self, **changes)

    def with_memory_factor(self, factor: float) -> "Resources":
        """These resources with the memory multiplied by ``factor`` (for an out-of-memory retry)."""
        return replace(self, mem=f"{int(round(memory_mb(self.mem) * factor))}M")


def memory_mb(mem: str) -> float:
    """Slurm's memory syntax (``"4G"``, ``"512M"``, ``"2048"``) in megabytes.

    Raises
    ------
    ValueError
        When ``mem`` is not a number with an optional K, M, G or T suffix.
    """
    match = _MEMORY.match(mem.strip())
    if not match:
        raise ValueError(f"memory {mem!r} is not a number with an optional K, M, G or T suffix")
    return float(match.group(1)) * _UNITS_MB[match.group(2).upper()]


def submission_name(step_name: str, submission: int) -> str:
    """The job name of a step's ``submission``-th sbatch: the step's name, then ``.1``, ``.2`` ...

    ``step_name`` is :attr:`spoold.executors.base.StepJob.name`
    (``astran.<request-id>.<step>.<attempt>``); submission 0 keeps it unchanged, later
    ones (more chunks of a large array, retries) add their number, so every job name is
    unique and a restarted daemon can look each one up.
    """
    if not step_name or any(c in step_name for c in ",\n\t "):
        raise ValueError(f"{step_name!r} cannot be a Slurm job name")
    return step_name if submission == 0 else f"{step_name}.{submission}"


def array_chunks(n_tasks: int, max_array_size: int) -> list[tuple[int, int]]:
    """Split ``n_tasks`` tasks into arrays Slurm accepts: a list of ``(offset, count)``.

    Slurm rejects array indices at or above its ``MaxArraySize``; every chunk here uses
    indices ``0 .. count-1``, and its tasks are ``offset .. offset+count-1``.
    """
    if n_tasks < 1:
        raise ValueError("an array needs at least one task")
    if max_array_size < 1:
        raise ValueError("MaxArraySize must be at least 1")
    return [(start, min(max_array_size, n_tasks - start)) for start in range(0, n_tasks, max_array_size)]


@dataclass(frozen=True)
class TaskCommand:
    """One array element: the task's argv and where taskrun writes its result and log."""

    argv: tuple[str, ...]
    result: Path
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ArrayScript:
    """Everything in one batch script; :meth:`render` gives its text."""

    name: str
    tasks: Sequence[TaskCommand]
    output: Path
    resources: Resources
    python: str
    throttle: int | None = None
    after_ok: Sequence[str] = ()
    workdir: Path | None = None
    pythonpath: str | None = None
    comment: str | None = None

    def array_spec(self) -> str:
        """``--array`` value: ``0-<n-1>`` with ``%throttle`` when set."""
        spec = f"0-{len(self.tasks) - 1}" if len(self.tasks) > 1 else "0"
        if self.throttle and len(self.tasks) > 1:
            spec += f"%{self.throttle}"
        return spec

    def options(self) -> list[str]:
        """The sbatch options, one per ``#SBATCH`` line, in a fixed order."""
        r = self.resources
        opts = [f"--job-name={self.name}", f"--array={self.array_spec()}", f"--output={self.output}",
                f"--time={r.time}", f"--mem={r.mem}", f"--cpus-per-task={r.cpus_per_task}", "--ntasks=1",
                "--no-requeue"]
        if self.workdir is not None:
            opts.append(f"--chdir={self.workdir}")
        for flag, value in (("partition", r.partition), ("account", r.account), ("qos", r.qos)):
            if value:
                opts.append(f"--{flag}={value}")
        if self.comment:
            opts.append(f"--comment={self.comment}")
        if self.after_ok:
            opts.append("--dependency=afterok:" + ":".join(self.after_ok))
            opts.append("--kill-on-invalid-dep=yes")
        opts.extend(r.extra)
        return opts

    def task_line(self, task: TaskCommand) -> str:
        """The shell command that runs one task through ``spoold.taskrun``."""
        env = [f"{k}={shlex.quote(v)}" for k, v in sorted(task.env.items())]
        argv = [self.python, "-m", "spoold.taskrun", "--result", str(task.result), "--log", str(task.log),
                "--", *task.argv]
        prefix = ("env " + " ".join(env) + " ") if env else ""
        return "exec " + prefix + " ".join(shlex.quote(a) for a in argv)

    def render(self) -> str:
        """The whole batch script."""
        lines = ["#!/bin/bash"]
        lines += [f"#SBATCH {shlex.quote(opt)}" for opt in self.options()]
        lines += [
            "# Written by spoold's Slurm executor: one array element per task; each task",
            "# writes its own result file, which is how spoold learns its exit code.",
            "set -u",
        ]
        if self.pythonpath:
            lines.append(f"export PYTHONPATH={shlex.quote(self.pythonpath)}${{PYTHONPATH:+:$PYTHONPATH}}")
        lines.append('case "${SLURM_ARRAY_TASK_ID:-0}" in')
        for index, task in enumerate(self.tasks):
            lines.append(f"  {index}) {self.task_line(task)} ;;")
        lines.append('  *) echo "spoold: no task ${SLURM_ARRAY_TASK_ID:-} in this array" >&2; exit 2 ;;')
        lines.append("esac")
        return "\n".join(lines) + "\n"
