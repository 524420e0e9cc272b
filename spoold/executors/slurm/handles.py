"""The Slurm executor's handle, typed: what the daemon stores in ``state.json`` for a step.

A handle (see :mod:`spoold.executors.base`) lists every task of a step with its current
array id and index, its retries and their history, the arrays submitted and the steps
it waits for. The daemon stores it as JSON and gives it back unchanged; the executor
reads it with :meth:`SlurmHandle.from_json` at the start of :meth:`submit`/:meth:`poll`
and writes it with :meth:`SlurmHandle.to_json` at the end. The JSON keys are those of
the untyped handles written before these classes, so the ``state.json`` of a request
that was running then reads the same (``tests/spoold/slurm/golden/old_handles.json``),
and a key missing from an older handle takes its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from spoold.executors.base import Handle
from spoold.executors.resources import Resources

#: the :attr:`spoold.executors.base.Executor.name` of the Slurm executor, a handle's ``executor``
EXECUTOR_NAME = "slurm"


@dataclass(frozen=True)
class TryRecord:
    """One earlier try of a task that Slurm ended and the executor resubmitted (or re-queued).

    Attributes
    ----------
    job_id : str
        Its Slurm id, ``<array>_<index>``.
    state : str
        Slurm's state word for how it ended (``OUT_OF_MEMORY``, ``NODE_FAIL``, ``CANCELLED`` ...).
    """

    job_id: str
    state: str

    def to_json(self) -> dict[str, Any]:
        """The record as stored in the handle."""
        return {"job_id": self.job_id, "state": self.state}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TryRecord":
        """The record of a handle's ``history`` entry."""
        return cls(job_id=str(data.get("job_id", "")), state=str(data.get("state", "")))


@dataclass
class SlurmTask:
    """One task of a step as the Slurm executor tracks it.

    Attributes
    ----------
    label : str
        What a person calls it (``run15864``).
    argv : list of str
        The task's command (without the taskrun wrapper).
    result, log : str
        Its result file and its log.
    outputs : list of str
        The files it writes; a retry removes what the failed try left of them.
    job_id : str or None
        The array it is in now; None while it is not submitted (deferred, or waiting for a retry).
    index : int or None
        Its index in that array.
    retries : int
        Resubmissions so far.
    mem : str or None
        The memory it asks for (more than the step's after an out-of-memory retry).
    history : list of TryRecord
        Its earlier tries.
    noted : bool
        True once the executor wrote a line about the current try's end into the log.
    final : str
        Why it will never be submitted (an upstream task failed for good), or "".
    """

    label: str
    argv: list[str]
    result: str
    log: str
    outputs: list[str] = field(default_factory=list)
    job_id: str | None = None
    index: int | None = None
    retries: int = 0
    mem: str | None = None
    history: list[TryRecord] = field(default_factory=list)
    noted: bool = False
    final: str = ""

    @property
    def result_file(self) -> Path:
        """The task's result file."""
        return Path(self.result)

    @property
    def log_file(self) -> Path:
        """The task's log."""
        return Path(self.log)

    @property
    def slurm_id(self) -> str:
        """``<array>_<index>``, the id a person looks the current try up with."""
        return f"{self.job_id}_{self.index}"

    @property
    def waiting(self) -> bool:
        """True when the task is to be submitted (not in an array, and not given up)."""
        return self.job_id is None and not self.final

    def forget(self, state: str) -> None:
        """Put the current try into the history and make the task wait for its next submission."""
        self.history.append(TryRecord(job_id=self.slurm_id, state=state))
        self.job_id, self.index, self.noted = None, None, False

    def to_json(self) -> dict[str, Any]:
        """The task as stored in the handle (``final`` only when set, as before)."""
        data: dict[str, Any] = {
            "label": self.label, "argv": list(self.argv), "result": self.result, "log": self.log,
            "outputs": list(self.outputs), "job_id": self.job_id, "index": self.index, "retries": self.retries,
            "mem": self.mem, "history": [h.to_json() for h in self.history], "noted": self.noted,
        }
        if self.final:
            data["final"] = self.final
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SlurmTask":
        """The task of a handle's ``tasks`` entry (any version)."""
        index = data.get("index")
        return cls(
            label=str(data.get("label", "")), argv=[str(a) for a in data.get("argv", [])],
            result=str(data["result"]), log=str(data["log"]), outputs=[str(p) for p in data.get("outputs") or []],
            job_id=None if data.get("job_id") is None else str(data["job_id"]),
            index=None if index is None else int(index), retries=int(data.get("retries") or 0), mem=data.get("mem"),
            history=[TryRecord.from_json(h) for h in data.get("history") or []], noted=bool(data.get("noted")),
            final=str(data.get("final") or ""),
        )


@dataclass
class SlurmHandle:
    """A step of a request as the Slurm executor tracks it (stored in ``state.json`` as JSON).

    Attributes
    ----------
    name : str
        The step's job name, ``astran.<request>.<step>.<attempt>``.
    job_id : str or None
        The first array submitted (what ``spool status`` shows).
    request_id, step, workdir : str
        Whose step it is and where its files go (``<workdir>/.executor/``).
    submitter : str or None
        The user of a shared-account request (the batch script's ``--comment``).
    env : dict
        Extra environment of the tasks.
    resources : Resources
        The step's merged resources (site defaults ← request overrides).
    after : list of str
        Names of the steps it runs after.
    after_jobs : list of str or None
        What ``--dependency=afterok:`` names for them at the first submission; None
        when an upstream task was not submitted yet.
    after_results : list of str
        The upstream tasks' result files (what decides once the daemon no longer polls them).
    arrays : list of str
        Every array submitted for the step, oldest first.
    submissions : int
        sbatch calls so far (numbers the job names of later ones: ``.1``, ``.2`` ...).
    submitted_at : float or None
        Unix time of the last submission.
    deferred : str
        Why unsubmitted tasks wait (the cap, an upstream step, an outage), or "".
    refused : str
        Slurm's sentence when it refused the step for good, or "".
    uncertain : bool
        True while an sbatch's answer may have been lost (look the name up before the next).
    tasks : dict of int to SlurmTask
        The tasks by array index of the step.
    """

    name: str
    request_id: str
    step: str
    workdir: str
    resources: Resources
    tasks: dict[int, SlurmTask]
    job_id: str | None = None
    submitter: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)
    after_jobs: list[str] | None = None
    after_results: list[str] = field(default_factory=list)
    arrays: list[str] = field(default_factory=list)
    submissions: int = 0
    submitted_at: float | None = None
    deferred: str = ""
    refused: str = ""
    uncertain: bool = False

    @property
    def folder(self) -> Path:
        """Where the executor keeps the step's batch scripts and Slurm outputs."""
        return Path(self.workdir) / ".executor"

    def ordered(self) -> Iterator[tuple[int, SlurmTask]]:
        """The tasks with their indices, in index order."""
        return iter(sorted(self.tasks.items()))

    @property
    def retried(self) -> bool:
        """True when a task of the step was resubmitted."""
        return any(t.retries for t in self.tasks.values())

    def waiting(self) -> list[int]:
        """Indices of the tasks that are to be submitted, in order."""
        return [i for i, t in self.ordered() if t.waiting]

    def to_json(self) -> Handle:
        """The handle as the daemon stores it (the keys of every earlier version)."""
        return {
            "executor": EXECUTOR_NAME, "name": self.name, "job_id": self.job_id, "request_id": self.request_id,
            "step": self.step, "workdir": self.workdir, "submitter": self.submitter, "env": dict(self.env),
            "resources": self.resources.to_json(), "after": list(self.after),
            "after_jobs": None if self.after_jobs is None else list(self.after_jobs),
            "after_results": list(self.after_results), "arrays": list(self.arrays), "submissions": self.submissions,
            "submitted_at": self.submitted_at, "deferred": self.deferred, "refused": self.refused,
            "uncertain": self.uncertain, "tasks": {str(i): t.to_json() for i, t in self.ordered()},
        }

    @classmethod
    def from_json(cls, data: Handle) -> "SlurmHandle":
        """The handle of a step as stored in ``state.json`` (by this or an earlier version)."""
        after_jobs = data.get("after_jobs")
        return cls(
            name=str(data["name"]), request_id=str(data.get("request_id", "")), step=str(data.get("step", "")),
            workdir=str(data.get("workdir", "")), resources=Resources.from_mapping(data.get("resources")),
            tasks={int(i): SlurmTask.from_json(t) for i, t in (data.get("tasks") or {}).items()},
            job_id=None if data.get("job_id") is None else str(data["job_id"]), submitter=data.get("submitter"),
            env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
            after=[str(n) for n in data.get("after") or [] if n],
            after_jobs=None if after_jobs is None else [str(j) for j in after_jobs],
            after_results=[str(p) for p in data.get("after_results") or []],
            arrays=[str(a) for a in data.get("arrays") or []], submissions=int(data.get("submissions") or 0),
            submitted_at=data.get("submitted_at"), deferred=str(data.get("deferred") or ""),
            refused=str(data.get("refused") or ""), uncertain=bool(data.get("uncertain")),
        )


def dependency_ids(handles: Sequence[SlurmHandle], skip: set[int] = frozenset()) -> list[str] | None:
    """What a dependent step waits for: whole arrays, or ``<array>_<index>`` elements for a
    step that had retries (``afterok`` on an array that holds a failed try would never be
    satisfied). None when a task of ``handles`` is not submitted yet."""
    ids: set[str] = set()
    for h in handles:
        retried = h.retried
        for index, t in h.tasks.items():
            if index in skip or t.final:
                continue
            if t.job_id is None:
                return None
            ids.add(t.slurm_id if retried else t.job_id)
    return sorted(ids, key=id_sort_key)


def id_sort_key(job_id: str) -> tuple[int, int]:
    """Sort ``"12"`` and ``"12_3"`` numerically."""
    array, _, index = job_id.partition("_")
    return int(array), int(index or -1)


def step_of(name: str) -> str:
    """The step in a job name ``astran.<id>.<step>.<attempt>``."""
    parts = name.split(".")
    return parts[-2] if len(parts) >= 4 else name


def upstream_first(handles: Sequence[SlurmHandle], by_name: dict[str, SlurmHandle]) -> list[SlurmHandle]:
    """The handles ordered so that a step comes after the steps it waits for."""
    ordered: list[SlurmHandle] = []
    seen: set[str] = set()

    def visit(h: SlurmHandle, depth: int = 0) -> None:
        if h.name in seen or depth > 50:
            return
        for name in h.after:
            if name in by_name:
                visit(by_name[name], depth + 1)
        seen.add(h.name)
        ordered.append(h)

    for h in handles:
        visit(h)
    return ordered
