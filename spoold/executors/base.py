"""The interface every executor implements (``local`` and ``slurm``).

A *step* of a request (``dl2``, ``dl3``, ``index``, ``report`` ...) is submitted
as ONE array of tasks, described by a :class:`StepJob`. Every task is an argv
that the executor runs through the task wrapper::

    python -m spoold.taskrun --result RESULT --log LOG -- argv...

(:func:`taskrun_argv` builds that line). The wrapper writes the task's
result file atomically (exit code, times, host), so the outcome of a task is
known even when the daemon died while it ran.

The daemon owns ``state.json``. What an executor needs to find its jobs again
is a :data:`Handle`: a JSON-serialisable dict that :meth:`Executor.submit`
returns, the daemon stores in ``state.json`` unchanged, and hands back to
:meth:`Executor.poll` and :meth:`Executor.cancel` (also after a restart, to a new
executor object). Keys every handle has:

``executor``
    the executor's :attr:`Executor.name` (``"local"``, ``"slurm"``);
``name``
    :attr:`StepJob.name` — carries the request id, the step and the attempt, so
    that :meth:`Executor.find` can re-attach after a crash between submitting
    and recording;
``job_id``
    the executor's id of the array (Slurm: the array job id; local: the name);
``tasks``
    ``{str(index): {...}}`` with whatever the executor needs per task.

Everything else in a handle is the executor's business.

Life of a step, as the daemon drives it::

    handle = executor.find(job) or executor.submit(job)   # record handle
    ...
    polls = executor.poll([h1, h2, ...])   # ONE batched call per loop
    # polls[i].handle replaces hi in state.json (executors may update it,
    # e.g. a Slurm retry after NODE_FAIL gets a new job id)
    # polls[i].tasks[index] is a TaskStatus
    ...
    executor.cancel(handle)                # cancel ID: stop every task
"""

from __future__ import annotations

import enum
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from spoold.executors.resources import Resources

#: What an executor returns from submit() and the daemon stores in state.json.
Handle = dict[str, Any]


@dataclass(frozen=True)
class Task:
    """One task of a step's array.

    Attributes
    ----------
    index : int
        Array index, 0..n-1 (Slurm's ``SLURM_ARRAY_TASK_ID``).
    label : str
        What a person calls it: ``"run 15864"``, ``"index"``.
    argv : tuple of str
        The command to run (without the taskrun wrapper).
    result_file : Path
        Where the wrapper writes the task's result (JSON, atomically).
    log_file : Path
        Where the task's stdout and stderr go.
    outputs : tuple of Path
        The files the task writes; an executor that runs the task again (a Slurm
        retry after NODE_FAIL or OUT_OF_MEMORY) removes what the failed try left.
    """

    index: int
    label: str
    argv: tuple[str, ...]
    result_file: Path
    log_file: Path
    outputs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class StepJob:
    """One step of one request, submitted as one array of tasks.

    Attributes
    ----------
    request_id : str
        The request's id (its folder name).
    step : str
        The step's name (``dl2``, ``dl3``, ``index``, ``report``).
    attempt : int
        1 for the first run of the request, +1 per ``spool retry``.
    tasks : tuple of Task
        The array; indices are 0..n-1 in order.
    workdir : Path
        The tasks' working directory; the executor may keep its own files
        (batch scripts, scheduler logs) in ``workdir / ".executor"``.
    resources : Resources
        The request's own resources (``None`` fields: the site's); the Slurm executor
        merges them with the site's once (:func:`spoold.executors.resources.for_request`).
    after : tuple of Handle
        Handles of steps that must all succeed before this one starts
        (Slurm: ``--dependency=afterok:...`` and ``--kill-on-invalid-dep=yes``).
    submitter : str or None
        The user the request belongs to (shared-account mode), for accounting.
    env : dict
        Extra environment variables for the tasks.
    """

    request_id: str
    step: str
    attempt: int
    tasks: tuple[Task, ...]
    workdir: Path
    resources: Resources = field(default_factory=Resources)
    after: tuple[Handle, ...] = ()
    submitter: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The job name that identifies this step: ``astran.<id>.<step>.<attempt>``."""
        return job_name(self.request_id, self.step, self.attempt)


def job_name(request_id: str, step: str, attempt: int) -> str:
    """Return the job name of a request's step: ``astran.<id>.<step>.<attempt>``."""
    return f"astran.{request_id}.{step}.{attempt}"


class TaskState(str, enum.Enum):
    """Where a task is. ``SUCCEEDED``, ``FAILED``, ``CANCELLED`` and ``LOST`` are final."""

    QUEUED = "queued"  # submitted, not started (Slurm PENDING; local: waiting for a slot)
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # exit code 0
    FAILED = "failed"  # non-zero exit, timeout, out of memory (after the executor's retries)
    CANCELLED = "cancelled"
    LOST = "lost"  # gone without a result file and without a record of why

    @property
    def final(self) -> bool:
        """True when the task will not change any more."""
        return self not in (TaskState.QUEUED, TaskState.RUNNING)


@dataclass(frozen=True)
class TaskStatus:
    """What an executor knows about one task.

    Attributes
    ----------
    state : TaskState
    job_id : str or None
        The executor's id of this task as a user would look it up
        (``"1234_5"`` for Slurm, ``"pid 4242"`` locally).
    exit_code : int or None
        The task's exit code when it finished.
    detail : str
        The executor's own words: ``"PENDING (Priority)"``, ``"TIMEOUT"``,
        ``"OUT_OF_MEMORY, resubmitted with 8G"``.
    """

    state: TaskState
    job_id: str | None = None
    exit_code: int | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the status as a JSON-serialisable dict (for state.json)."""
        return {
            "state": self.state.value,
            "job_id": self.job_id,
            "exit_code": self.exit_code,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class StepPoll:
    """The answer of :meth:`Executor.poll` for one step.

    ``handle`` is the (possibly updated) handle to store back in state.json;
    ``tasks`` maps each array index to its status.
    """

    handle: Handle
    tasks: dict[int, TaskStatus]

    @property
    def finished(self) -> bool:
        """True when every task is in a final state."""
        return all(status.state.final for status in self.tasks.values())


class Executor(ABC):
    """Runs the tasks of request steps. Subclasses: ``local``, ``slurm``.

    Constructed once per daemon as ``ExecutorClass(site)``. Must tolerate being
    handed, after a restart, handles that an earlier process created.
    """

    #: the site's ``executor`` value that selects this class
    name: ClassVar[str]
    #: True when :attr:`StepJob.after` makes the scheduler hold a step until its
    #: upstream succeeded (Slurm's ``afterok``): the daemon then submits a request's
    #: steps as one chain instead of one after another.
    supports_dependencies: ClassVar[bool] = False

    @abstractmethod
    def submit(self, job: StepJob) -> Handle:
        """Submit a step's array and return its handle (without waiting for it)."""

    @abstractmethod
    def find(self, job: StepJob) -> Handle | None:
        """Return the handle of ``job`` when it was already submitted, else None.

        The daemon calls this before :meth:`submit` when it may have crashed
        between submitting and recording the handle, so nothing runs twice.
        """

    @abstractmethod
    def poll(self, handles: Sequence[Handle]) -> list[StepPoll]:
        """Return the status of every task of every handle, in order.

        ONE batched query for all steps of all requests (Slurm: one
        ``sacct``/``squeue`` call). Never raises for a scheduler outage:
        report the last known states instead.
        """

    @abstractmethod
    def cancel(self, handle: Handle) -> None:
        """Stop every task of a step that has not finished (idempotent)."""

    def close(self) -> None:
        """Release what the executor holds (the daemon is stopping). Tasks keep running."""


def taskrun_argv(task: Task, *, python: str | None = None) -> list[str]:
    """Return the full command line of a task: the taskrun wrapper around its argv.

    Parameters
    ----------
    task : Task
    python : str, optional
        The interpreter; defaults to the daemon's own (``sys.executable``), which
        has spoold and lappana installed.
    """
    return [
        python or sys.executable,
        "-m",
        "spoold.taskrun",
        "--result",
        str(task.result_file),
        "--log",
        str(task.log_file),
        "--",
        *task.argv,
    ]
