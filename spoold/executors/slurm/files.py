"""The files beside Slurm that the Slurm executor reads and writes.

The batch script (written atomically, :func:`spoold.spool.write_atomic`), lines in a
task's log that say what Slurm did, the Slurm output that tells a memory kill from
another SIGKILL, and a task's own result file, which outranks a lagging ``sacct``.
"""

from __future__ import annotations

from pathlib import Path

from spoold.executors.base import TaskState, TaskStatus
from spoold.spool import write_atomic
from spoold.taskrun import TaskResult

from .handles import SlurmHandle, SlurmTask
from .monitor import TaskState as SlurmState

#: What slurmstepd writes into a job's output when it kills it for its memory
#: (``JobAcctGatherParams=OverMemoryKill``; sites with cgroups report OUT_OF_MEMORY).
MEMORY_KILL_MARKERS = ("exceeded job memory limit", "exceeded memory limit", "oom-kill", "out of memory")


def write_script(path: Path, text: str) -> None:
    """Write an executable batch script atomically (temp file, fsync, rename)."""
    write_atomic(path, text, mode=0o755)


def append_line(path: Path, line: str) -> None:
    """Append one line to a task's log (never raises: a log is not worth failing for)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as log:
            log.write(line.rstrip("\n") + "\n")
    except OSError:
        pass


def memory_kill(handle: SlurmHandle, task: SlurmTask, state: SlurmState) -> SlurmState:
    """A FAILED by SIGKILL whose Slurm output says the memory limit was exceeded is OUT_OF_MEMORY."""
    if state.state != "FAILED" or state.signal != 9:
        return state
    output = handle.folder / f"slurm-{task.slurm_id}.out"
    try:
        with open(output, "rb") as stream:
            stream.seek(max(0, output.stat().st_size - 8192))
            text = stream.read().decode("utf-8", "replace").lower()
    except OSError:
        return state
    if any(marker in text for marker in MEMORY_KILL_MARKERS):
        return SlurmState(state="OUT_OF_MEMORY", exit_code=state.exit_code, signal=state.signal,
                          reason=state.reason, node=state.node)
    return state


def from_result(result: TaskResult, slurm_id: str) -> TaskStatus:
    """The status a task's own result file gives (when Slurm has no record of it yet)."""
    if result.ok:
        return TaskStatus(TaskState.SUCCEEDED, slurm_id, 0, "COMPLETED (from its result file)")
    return TaskStatus(TaskState.FAILED, slurm_id, result.exit_code, "FAILED (from its result file)")
