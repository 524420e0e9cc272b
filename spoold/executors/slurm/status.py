"""What a task's Slurm state means for the daemon: a :class:`~spoold.executors.base.TaskStatus`.

Slurm's word for an array element (from the batched poll of :mod:`.monitor`), the task's
own result file and the steps it runs after decide. A transient failure is handed to
:mod:`.retry` (the task is cleaned and waits for its resubmission in the same poll); a
permanent one gets a line in the task's log saying what Slurm did, so the log tail in
``error.txt`` explains it. A dependent step that Slurm cancelled because an upstream
task failed transiently waits for that retry instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spoold.executors.base import TaskState, TaskStatus
from spoold.executors.resources import Resources
from spoold.taskrun import read_result

from .files import append_line, from_result, memory_kill
from .handles import SlurmHandle, SlurmTask, step_of
from .monitor import TaskState as SlurmState
from .retry import RetryPolicy, clean_for_retry

#: Slurm states shown as QUEUED (everything else that is live is RUNNING).
QUEUED_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "CONFIGURING",
                           "POWER_UP_NODE", "RESV_DEL_HOLD", "UNKNOWN"})
#: task states of an upstream task that mean its dependents can never run
GIVEN_UP = (TaskState.FAILED, TaskState.CANCELLED, TaskState.LOST)

Statuses = dict[str, dict[int, TaskStatus]]


@dataclass
class Round:
    """What one :meth:`submit` or :meth:`poll` of the executor knows about the steps in it.

    Attributes
    ----------
    batch : dict
        The handles of the poll, by step name (empty for a :meth:`submit`).
    statuses : dict
        The statuses found so far in this poll, by step name (upstream steps first).
    polling : bool
        True inside :meth:`poll` (the daemon hands every in-flight step of a request to it).
    cancelled : set of str
        Names of the steps :meth:`cancel` was asked for (kept by the executor).
    """

    batch: dict[str, SlurmHandle] = field(default_factory=dict)
    statuses: Statuses = field(default_factory=dict)
    polling: bool = False
    cancelled: set[str] = field(default_factory=set)


def upstream_failed(handle: SlurmHandle, round_: Round) -> str:
    """Why this step can never run (an upstream task failed for good), or ""."""
    for name in handle.after:
        for index, status in round_.statuses.get(name, {}).items():
            if status.state in GIVEN_UP:
                return f"not run: task {index} of step {step_of(name)} ended {status.state.value}"
    return ""


def upstream_ok_by_results(handle: SlurmHandle) -> bool:
    """True when every upstream result file this step knows of says its task succeeded."""
    results = [read_result(Path(p)) for p in handle.after_results]
    return bool(results) and all(r is not None and r.ok for r in results)


def upstream_retried(handle: SlurmHandle, round_: Round) -> bool:
    """True when this step's dependency broke because an upstream task is being retried."""
    if upstream_failed(handle, round_):
        return False
    for name in handle.after:
        upstream = round_.batch.get(name)
        if upstream is not None and upstream.retried:
            return True
        if upstream is None and upstream_ok_by_results(handle):
            return True
    return False


class StatusReader:
    """Turns what Slurm said about each task into its status, retrying transient failures.

    Parameters
    ----------
    policy : RetryPolicy
        Which failures are retried, how often, with how much more memory.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        #: Slurm's last word on each array element, ``(array id, index)`` → state
        self.states: dict[tuple[str, int], SlurmState] = {}

    def statuses_of(self, handle: SlurmHandle, round_: Round) -> dict[int, TaskStatus]:
        """The status of every task of ``handle``, by index."""
        return {index: self.status_of(handle, task, round_) for index, task in handle.ordered()}

    def status_of(self, handle: SlurmHandle, task: SlurmTask, round_: Round) -> TaskStatus:
        """The status of one task (may queue it for a retry, or note its end in its log)."""
        if handle.refused:
            return TaskStatus(TaskState.FAILED, None, None, f"Slurm refused the job: {handle.refused}")
        if task.final:
            return TaskStatus(TaskState.CANCELLED, None, None, task.final)
        if task.job_id is None:
            if handle.name in round_.cancelled:
                return TaskStatus(TaskState.CANCELLED, None, None, "cancelled before it was submitted")
            failed = upstream_failed(handle, round_)
            if failed:
                return TaskStatus(TaskState.CANCELLED, None, None, failed)
            return TaskStatus(TaskState.QUEUED, None, None, handle.deferred or "not submitted yet")
        slurm_id = task.slurm_id
        state = self.states.get((task.job_id, task.index))
        if state is None:
            result = read_result(task.result_file)
            if result is not None:  # finished, and sacct does not know yet (or forgot)
                return from_result(result, slurm_id)
            return TaskStatus(TaskState.QUEUED, slurm_id, None, "submitted; Slurm has not reported it yet")
        if state.live:
            kind = TaskState.QUEUED if state.state in QUEUED_STATES else TaskState.RUNNING
            reason = f" ({state.reason})" if state.reason and state.reason != "None" else ""
            return TaskStatus(kind, slurm_id, None, f"{state.state}{reason}")
        if state.ok:
            return TaskStatus(TaskState.SUCCEEDED, slurm_id, 0, "COMPLETED")
        result = read_result(task.result_file)  # the exit code, in the task's own words
        if state.state == "FAILED" and result is not None and result.ok:
            # The task's own result file outranks a FAILED row that sacct briefly shows for
            # an element whose array record another element reused.
            return from_result(result, slurm_id)
        state = memory_kill(handle, task, state)
        exit_code = result.exit_code if result is not None else state.exit_code
        if state.state in ("CANCELLED", "VANISHED"):
            return self._cancelled(handle, task, state, exit_code, round_)
        # FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, ...
        if self.policy.should_retry(state.state, task.retries) and handle.name not in round_.cancelled:
            return self._retry(handle, task, state)
        tries = f" after {task.retries} retries" if task.retries else ""
        what = f"exit code {exit_code}" if state.state == "FAILED" else state.state
        self._note(task, f"spoold: Slurm job {slurm_id} ended with {what}{tries} (state {state.state}).")
        return TaskStatus(TaskState.FAILED, slurm_id, exit_code, f"{state.state}{tries}")

    def _cancelled(self, handle: SlurmHandle, task: SlurmTask, state: SlurmState, exit_code: int | None,
                   round_: Round) -> TaskStatus:
        """A task Slurm cancelled: by its broken dependency on a retried upstream (it waits), or for good."""
        # squeue says "DependencyNeverSatisfied"; sacct gives no reason at all. A dependent
        # that this executor did not cancel itself was cancelled by Slurm when its upstream
        # failed: upstream_retried tells whether that failure is being retried.
        slurm_id = task.slurm_id
        by_dependency = "depend" in state.reason.lower() or state.state == "VANISHED" or bool(handle.after)
        if by_dependency and upstream_retried(handle, round_) and handle.name not in round_.cancelled:
            task.forget(state.state)
            handle.deferred = "waiting for the previous step's retry"
            return TaskStatus(TaskState.QUEUED, None, None, handle.deferred)
        reason = " (its dependency can never be satisfied)" if "depend" in state.reason.lower() else ""
        self._note(task, f"spoold: Slurm job {slurm_id} was cancelled{reason}.")
        return TaskStatus(TaskState.CANCELLED, slurm_id, exit_code, f"{state.state}{reason}")

    def _retry(self, handle: SlurmHandle, task: SlurmTask, state: SlurmState) -> TaskStatus:
        """Clean the failed try and queue the task for resubmission (submitted in this poll)."""
        slurm_id = task.slurm_id
        retries = task.retries + 1
        clean_for_retry(task.result_file, task.log_file, [Path(p) for p in task.outputs], retries)
        factor = self.policy.memory_factor(state.state)
        if factor != 1.0:
            task.mem = Resources(mem=task.mem or handle.resources.mem).with_memory_factor(factor).mem
        task.forget(state.state)
        task.retries = retries
        more = f" with {task.mem}" if factor != 1.0 else ""
        handle.deferred = (f"{state.state} in {slurm_id}: resubmitting{more} "
                           f"(retry {retries} of {self.policy.max_retries})")
        return TaskStatus(TaskState.QUEUED, None, None, handle.deferred)

    @staticmethod
    def _note(task: SlurmTask, line: str) -> None:
        """Write ``line`` into the task's log once per try."""
        if not task.noted:
            append_line(task.log_file, line)
            task.noted = True
