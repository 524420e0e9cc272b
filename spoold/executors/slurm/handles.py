"""Small pieces of the Slurm executor that work on handles and files, not on Slurm.

A *handle* (see :mod:`spoold.executors.base`) is the JSON dict the daemon stores in
``state.json``; for Slurm it lists every task with its current array id and index, its
retries and their history, the arrays submitted, and the steps it waits for.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Sequence

from spoold.executors.base import Handle, TaskState, TaskStatus
from spoold.taskrun import TaskResult

from .monitor import TaskState as SlurmState


def has_retries(handle: Handle) -> bool:
    """True when a task of the step was resubmitted."""
    return any(t.get("retries") for t in handle.get("tasks", {}).values())


def dependency_ids(handles: Sequence[Handle], skip: set[int] = frozenset()) -> list[str] | None:
    """What a dependent step waits for: whole arrays, or ``<array>_<index>`` elements for a
    step that had retries (``afterok`` on an array that holds a failed try would never be
    satisfied). None when a task of ``handles`` is not submitted yet."""
    ids: set[str] = set()
    for h in handles:
        retried = has_retries(h)
        for key, t in h.get("tasks", {}).items():
            if int(key) in skip or t.get("final"):
                continue
            if t.get("job_id") is None:
                return None
            ids.add(f"{t['job_id']}_{t['index']}" if retried else t["job_id"])
    return sorted(ids, key=id_sort_key)


def id_sort_key(job_id: str) -> tuple[int, int]:
    """Sort ``"12"`` and ``"12_3"`` numerically."""
    array, _, index = job_id.partition("_")
    return int(array), int(index or -1)


def step_of(name: str) -> str:
    """The step in a job name ``astran.<id>.<step>.<attempt>``."""
    parts = name.split(".")
    return parts[-2] if len(parts) >= 4 else name


def upstream_first(handles: Sequence[Handle], by_name: dict[str, Handle]) -> list[Handle]:
    """The handles ordered so that a step comes after the steps it waits for."""
    ordered: list[Handle] = []
    seen: set[str] = set()

    def visit(h: Handle, depth: int = 0) -> None:
        if h["name"] in seen or depth > 50:
            return
        for name in h.get("after", []):
            if name in by_name:
                visit(by_name[name], depth + 1)
        seen.add(h["name"])
        ordered.append(h)

    for h in handles:
        visit(h)
    return ordered


#: What slurmstepd writes into a job's output when it kills it for its memory
#: (``JobAcctGatherParams=OverMemoryKill``; sites with cgroups report OUT_OF_MEMORY).
MEMORY_KILL_MARKERS = ("exceeded job memory limit", "exceeded memory limit", "oom-kill", "out of memory")


def memory_kill(handle: Handle, task: dict, state: SlurmState) -> SlurmState:
    """A FAILED by SIGKILL whose Slurm output says the memory limit was exceeded is OUT_OF_MEMORY."""
    if state.state != "FAILED" or state.signal != 9:
        return state
    output = Path(handle["workdir"]) / ".executor" / f"slurm-{task['job_id']}_{task['index']}.out"
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


def copy_handle(handle: Handle) -> Handle:
    """A deep copy of a handle (the daemon's stays as it was until it stores the new one)."""
    return copy.deepcopy(dict(handle))


def write_text(path: Path, text: str) -> None:
    """Write an executable script atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)


def append_line(path: Path, line: str) -> None:
    """Append one line to a task's log (never raises: a log is not worth failing for)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as log:
            log.write(line.rstrip("\n") + "\n")
    except OSError:
        pass
