"""The local executor: a bounded pool of processes on the daemon's host.

Each task runs as ``python -m spoold.taskrun --once ...`` in its own session
(``start_new_session``), so it survives the daemon and can be stopped as a
process group. Its outcome is its result file; ``<result>.started`` (written
by taskrun itself, exclusively) tells a restarted daemon that it was started
and by which pid: such a task is re-attached, never run again.

The handle keeps each task's full command line, so a new daemon can start the
tasks that were still queued when the old one stopped.

A taskrun that could not write its marker (a full disk) exits with
``EXIT_NO_MARKER`` before running anything; its task is reported failed, with
the line taskrun wrote into its log. An empty or unreadable marker (left by an
older taskrun that failed while writing it) whose task has no result and no
live process is set aside as ``.<marker>.unreadable.<time>``: that task did not
start, and is started again (its new marker is claimed exclusively, so still
only once).
"""

from __future__ import annotations

import enum
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spoold.executors.base import (
    Executor,
    Handle,
    StepJob,
    StepPoll,
    TaskState,
    TaskStatus,
    taskrun_argv,
)
from spoold.lock import pid_start_time
from spoold.taskrun import (
    EXIT_ALREADY_STARTED,
    EXIT_NO_MARKER,
    NO_MARKER_LINE,
    read_result,
    read_started,
    started_file,
)

#: seconds between SIGTERM and SIGKILL when a task is cancelled
KILL_GRACE_SECONDS = 3.0
#: the handle's key that says :meth:`LocalExecutor.cancel` was asked for (its tasks end CANCELLED);
#: spelled as the task state, as in every handle written so far
CANCELLED = TaskState.CANCELLED.value


class Gate(enum.Enum):
    """Whether a queued task may start, by the steps its step runs after."""

    GO = enum.auto()  # every one succeeded (or there are none)
    WAIT = enum.auto()  # one has not ended yet
    UPSTREAM_FAILED = enum.auto()  # one failed: the task is reported cancelled, never started


class LocalExecutor(Executor):
    """Run tasks as local processes, at most ``max_tasks`` at a time.

    Parameters
    ----------
    site : Site or None
        ``site.limits.max_tasks_in_flight`` bounds the pool.
    max_tasks : int, optional
        Overrides the site's bound.
    """

    name = "local"

    def __init__(self, site: Any = None, *, max_tasks: int | None = None) -> None:
        limits = getattr(site, "limits", None)
        self.max_tasks = max(1, int(max_tasks or getattr(limits, "max_tasks_in_flight", 2)))
        self.host = socket.gethostname()
        self._children: dict[tuple[str, str], subprocess.Popen] = {}
        self._queue: list[tuple[str, str]] = []  # (job name, task index) in submission order
        self._handles: dict[str, Handle] = {}

    # -- the interface ----------------------------------------------------------
    def submit(self, job: StepJob) -> Handle:
        """Queue the step's tasks; they start as slots free up (in :meth:`poll`)."""
        env = dict(job.env)
        handle: Handle = {
            "executor": self.name,
            "name": job.name,
            "job_id": job.name,
            "host": self.host,
            "workdir": str(job.workdir),
            "env": env,
            "after": [h.get("name") for h in job.after],
            "after_results": [
                [t["result"] for t in h.get("tasks", {}).values()] for h in job.after
            ],
            "tasks": {
                str(task.index): {
                    "label": task.label,
                    "argv": taskrun_argv(task)[:3] + ["--once"] + taskrun_argv(task)[3:],
                    "result": str(task.result_file),
                    "log": str(task.log_file),
                    "pid": None,
                }
                for task in job.tasks
            },
        }
        self._adopt(handle)
        return handle

    def find(self, job: StepJob) -> Handle | None:
        """Local tasks are found from their result files by :meth:`poll`: nothing to look up."""
        return None

    def poll(self, handles: Sequence[Handle]) -> list[StepPoll]:
        """Return every task's status and start queued tasks while slots are free."""
        self._reap()
        for handle in handles:
            self._adopt(handle)
        statuses = [self._statuses(h) for h in handles]
        running = sum(
            1 for st in statuses for s in st.values() if s.state is TaskState.RUNNING
        )
        running += sum(1 for key, child in self._children.items() if child.poll() is None
                       and key[0] not in {h["name"] for h in handles})
        for name, index in list(self._queue):
            if running >= self.max_tasks:
                break
            handle = self._handles.get(name)
            if handle is None or handle.get(CANCELLED):
                self._queue.remove((name, index))
                continue
            gate = self._gate(handle)
            if gate is Gate.WAIT:
                continue
            self._queue.remove((name, index))
            if gate is Gate.UPSTREAM_FAILED:
                handle["tasks"][index]["dependency_failed"] = True
                continue
            self._launch(handle, index)
            running += 1
        statuses = [self._statuses(h) for h in handles]
        return [StepPoll(handle=self._handles.get(h["name"], h), tasks=st) for h, st in zip(handles, statuses)]

    def cancel(self, handle: Handle) -> None:
        """Stop the step: drop queued tasks, SIGTERM then SIGKILL running ones' process groups."""
        name = handle["name"]
        own = self._handles.setdefault(name, handle)
        own[CANCELLED] = True
        handle[CANCELLED] = True
        self._queue = [(n, i) for n, i in self._queue if n != name]
        groups = []
        for index, task in own["tasks"].items():
            pid = self._live_pid(own, task)
            child = self._children.get((name, index))
            if child is not None and child.poll() is None:
                groups.append(child.pid)
            if pid is not None:
                groups.append(pid)
        for pgid in set(groups):
            _killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        while time.monotonic() < deadline and any(_group_alive(g) for g in groups):
            self._reap()
            time.sleep(0.05)
        for pgid in set(groups):
            if _group_alive(pgid):
                _killpg(pgid, signal.SIGKILL)
        self._reap()

    def close(self) -> None:
        """Forget the children (they keep running in their own sessions)."""
        self._reap()

    # -- inside -----------------------------------------------------------------
    def _adopt(self, handle: Handle) -> None:
        """Know a handle (also one made by an earlier daemon) and queue its unstarted tasks."""
        name = handle["name"]
        if name in self._handles:
            return
        self._handles[name] = handle
        if handle.get(CANCELLED):
            return
        for index, task in handle["tasks"].items():
            result = Path(task["result"])
            if read_result(result) is not None or task.get("taskrun_exit") is not None:
                continue
            if read_started(result) is None and _clear_unreadable_marker(result):
                self._queue.append((name, index))

    def _gate(self, handle: Handle) -> Gate:
        """Whether the step may start: the steps it runs after all succeeded, one has not ended, or one failed."""
        for results in handle.get("after_results", []):
            for path in results:
                result = read_result(Path(path))
                if result is None:
                    return Gate.WAIT
                if not result.ok:
                    return Gate.UPSTREAM_FAILED
        return Gate.GO

    def _launch(self, handle: Handle, index: str) -> None:
        task = handle["tasks"][index]
        env = os.environ.copy()
        env.update(handle.get("env") or {})
        Path(task["log"]).parent.mkdir(parents=True, exist_ok=True)
        Path(task["result"]).parent.mkdir(parents=True, exist_ok=True)
        child = subprocess.Popen(
            task["argv"],
            cwd=handle.get("workdir") or None,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        task["pid"] = child.pid
        self._children[(handle["name"], index)] = child

    def _reap(self) -> None:
        """Forget ended children; keep the exit code of one that ended before its task started."""
        for (name, index), child in list(self._children.items()):
            code = child.poll()
            if code is None:
                continue
            del self._children[(name, index)]
            task = self._handles[name]["tasks"][index]
            if code != 0 and read_result(Path(task["result"])) is None and read_started(Path(task["result"])) is None:
                task["taskrun_exit"] = code

    def _live_pid(self, handle: Handle, task: dict[str, Any]) -> int | None:
        """The pid of the task's taskrun when it runs on this host, else None."""
        started = read_started(Path(task["result"]))
        if not started or started.get("host") != self.host:
            return None
        pid = int(started.get("pid", -1))
        start = pid_start_time(pid)
        if start is None or started.get("pid_start") not in (None, start):
            return None
        return pid

    def _statuses(self, handle: Handle) -> dict[int, TaskStatus]:
        name = handle["name"]
        own = self._handles.get(name, handle)
        out: dict[int, TaskStatus] = {}
        for index, task in own["tasks"].items():
            out[int(index)] = self._status(own, index, task)
        return out

    def _status(self, handle: Handle, index: str, task: dict[str, Any]) -> TaskStatus:
        result_file = Path(task["result"])
        result = read_result(result_file)
        started = read_started(result_file)
        job_id = f"pid {started['pid']}" if started else (f"pid {task['pid']}" if task.get("pid") else None)
        if result is not None:
            if result.ok:
                return TaskStatus(TaskState.SUCCEEDED, job_id, 0, f"{result.seconds:.1f} s on {result.host}")
            if handle.get(CANCELLED) and result.signal:
                return TaskStatus(TaskState.CANCELLED, job_id, result.exit_code, TaskState.CANCELLED.value)
            detail = f"exit code {result.exit_code}"
            if result.signal:
                detail = f"killed by signal {result.signal}"
            return TaskStatus(TaskState.FAILED, job_id, result.exit_code, detail)
        if task.get("dependency_failed"):
            return TaskStatus(TaskState.CANCELLED, None, None, "an earlier step failed")
        if started is not None:
            if self._live_pid(handle, task) is not None:
                return TaskStatus(TaskState.RUNNING, job_id, None, TaskState.RUNNING.value)
            if started.get("host") != self.host:
                return TaskStatus(TaskState.LOST, job_id, None, f"started on host {started.get('host')}, not here")
            # it may have written its result just now
            result = read_result(result_file)
            if result is not None:
                return self._status(handle, index, task)
            state = TaskState.CANCELLED if handle.get(CANCELLED) else TaskState.LOST
            return TaskStatus(state, job_id, None, "ended without writing its result (killed?)")
        child = self._children.get((handle["name"], index))
        code = child.poll() if child is not None else task.get("taskrun_exit")
        if child is not None and code is None:
            return TaskStatus(TaskState.RUNNING, job_id, None, "starting")
        if code == EXIT_NO_MARKER:
            return TaskStatus(TaskState.FAILED, job_id, code, _no_marker_reason(task))
        if handle.get(CANCELLED):
            return TaskStatus(TaskState.CANCELLED, None, None, "cancelled before it started")
        if code is not None and code != EXIT_ALREADY_STARTED:
            return TaskStatus(TaskState.LOST, job_id, code, f"taskrun exited with {code} before starting the task")
        return TaskStatus(TaskState.QUEUED, None, None, "waiting for a free slot")


def _no_marker_reason(task: dict[str, Any]) -> str:
    """The sentence taskrun left in the log when it could not write its marker, or one of ours."""
    try:
        with open(task["log"], "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    said = [line for line in lines if line.startswith(NO_MARKER_LINE)]
    if said:
        return said[-1].lstrip("# ")
    return (f"taskrun could not record the start of this task in {started_file(Path(task['result']))} "
            "(a full disk, or a folder it may not write); the task did not run.")


def _clear_unreadable_marker(result: Path) -> bool:
    """True when the task of ``result`` may be started: no marker, or an unreadable one set aside.

    An empty or unreadable marker was left by an older taskrun that failed while
    writing it, before running anything; it is set aside unless a taskrun of
    this result still runs (then False).
    """
    marker = started_file(result)
    if not os.path.lexists(marker):
        return True
    if _taskrun_alive(result):
        return False
    try:
        os.replace(marker, marker.with_name(f".{marker.name}.unreadable.{time.time():.0f}"))
    except FileNotFoundError:
        pass
    return True


def _taskrun_alive(result: Path) -> bool:
    """True when a process on this host runs taskrun for ``result`` (its command line names it)."""
    wanted = os.fsencode(str(result))
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if b"spoold.taskrun" in argv and wanted in argv:
            return True
    return False


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # zombies in the group still count for killpg(0); check the leader's state
    return pid_start_time(pgid) is not None
