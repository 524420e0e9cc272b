"""The Slurm executor: a request's step is one ``sbatch --parsable`` job array.

What it does, in the daemon's terms (:class:`spoold.executors.base.Executor`):

``submit(job)``
    writes the batch script into ``<workdir>/.executor/`` and submits it; the array is
    throttled (``%N``), split when larger than the cluster's MaxArraySize, named
    ``astran.<request>.<step>.<attempt>`` (then ``.1``, ``.2`` ... for more chunks and
    retries), logs ``slurm-%A_%a.out`` next to the script, and depends on the steps in
    ``job.after`` through one ``--dependency=afterok:...`` with ``--kill-on-invalid-dep=yes``.
    A step that would take the jobs in flight over ``slurm.max_jobs_in_flight``, whose
    upstream step is not submitted yet, or that met a Slurm outage is *deferred*: its
    handle says so and a later :meth:`poll` submits it.
``find(job)``
    looks the step's job names up in squeue, then sacct: a daemon that died between
    sbatch and recording the handle re-attaches instead of submitting twice.
``poll(handles)``
    one ``sacct`` call for every array of every handle (``squeue`` when slurmdbd is
    down; nothing changes during an outage of both), with back-off; transient failures
    are resubmitted (:mod:`.retry`); a permanent failure gets a line in the task's log
    saying what Slurm did, so the log tail in ``error.txt`` explains it.
``cancel(handle)``
    ``scancel`` of every array of the step.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

from spoold.executors.base import Executor, Handle, StepJob, StepPoll, TaskState, TaskStatus
from spoold.taskrun import read_result, started_file

from .commands import SlurmCommands, SlurmError, SlurmRefused, SlurmUnavailable
from .monitor import PollResult, Poller, TaskState as SlurmState
from .retry import RetryPolicy, clean_for_retry
from .handles import (append_line, copy_handle, dependency_ids, from_result, has_retries, id_sort_key,
                      memory_kill, step_of, upstream_first, write_text)
from .sbatch import ArrayScript, Resources, TaskCommand, array_chunks, memory_mb, submission_name

#: Slurm states shown as QUEUED (everything else that is live is RUNNING).
_QUEUED_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "CONFIGURING",
                            "POWER_UP_NODE", "RESV_DEL_HOLD", "UNKNOWN"})
#: Seconds a freshly submitted array may be missing from sacct (it lags squeue by 1-3 s,
#: longer while slurmdbd is down) before squeue is asked about it.
SACCT_GRACE_SECONDS = 60.0


class SlurmExecutor(Executor):
    """Run request steps as Slurm job arrays.

    Parameters
    ----------
    site : spoold.site.Site
        Uses ``site.slurm`` (resources, throttle, cap, poll intervals, retry policy).
    commands : SlurmCommands, optional
        How Slurm's commands are run (a prefix such as ``runuser -u USER --``).
    max_array_size : int, optional
        Split arrays above this many tasks; by default the cluster's MaxArraySize, read
        once from ``scontrol show config``.
    python : str, optional
        The interpreter the tasks run ``spoold.taskrun`` with (default: the daemon's).
    clock : callable, optional
        Monotonic seconds, for the poll back-off.
    """

    name = "slurm"
    supports_dependencies = True

    def __init__(self, site: Any, *, commands: SlurmCommands | None = None, max_array_size: int | None = None,
                 python: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = site.slurm
        self.commands = commands or SlurmCommands()
        self.poller = Poller(self.commands, float(self.settings.poll_seconds),
                             float(self.settings.poll_max_seconds), clock=clock)
        self.policy = RetryPolicy.from_settings(self.settings)
        self.python = python or sys.executable
        self._max_array_size = max_array_size
        self._states: dict[tuple[str, int], SlurmState] = {}
        self._in_flight = 0
        self._submitted_since_poll = False
        self._cancelled: set[str] = set()
        self._batch: dict[str, Handle] = {}
        self._submit_blocked_until = 0.0
        self._unsure: set[str] = set()
        self._lookup_failed = False
        self._polling = False
        self.last_poll: PollResult | None = None

    # ------------------------------------------------------------------ configuration
    @property
    def max_array_size(self) -> int:
        """The largest array submitted at once (the cluster's MaxArraySize unless given)."""
        if self._max_array_size is None:
            try:
                self._max_array_size = self.commands.max_array_size()
            except SlurmError:
                return 1001  # Slurm's default; asked again next time
        return self._max_array_size

    def _site_resources(self) -> Resources:
        s = self.settings
        return Resources(partition=s.partition, account=s.account, qos=s.qos, time=s.time, mem=s.mem,
                         cpus_per_task=int(s.cpus_per_task), extra=tuple(s.extra or ()))

    # ------------------------------------------------------------------ submit / find
    def submit(self, job: StepJob) -> Handle:
        """Submit a step's array (or defer it) and return its handle."""
        handle = self.new_handle(job)
        if job.name in self._unsure:  # find() could not ask Slurm: look again before sbatch
            handle["uncertain"] = True
            self._unsure.discard(job.name)
        self._try_submit(handle, {})
        return handle

    def find(self, job: StepJob) -> Handle | None:
        """The handle of ``job`` when Slurm knows its jobs by name, else None."""
        handle = self.new_handle(job)
        chunks = array_chunks(len(job.tasks), self.max_array_size)
        names = [submission_name(job.name, n) for n in range(len(chunks))]
        found = self._lookup(names)
        if not found:
            if self._lookup_failed:
                self._unsure.add(job.name)
            return None
        handle["deferred"] = ""
        for number, (offset, count) in enumerate(chunks):
            job_id = found.get(names[number])
            if job_id is None:
                continue
            self._record_submission(handle, job_id, list(range(offset, offset + count)), number)
        if any(t["job_id"] is None for t in handle["tasks"].values()):
            handle["deferred"] = "re-attached to part of the step; submitting the rest"
            self._try_submit(handle, {})
        self.poller.hurry()
        return handle

    def _lookup(self, names: Sequence[str]) -> dict[str, str]:
        """``{job name: array job id}`` for the names Slurm knows (squeue, then sacct)."""
        found: dict[str, str] = {}
        self._lookup_failed = False
        for query in (self.commands.squeue, self.commands.sacct):
            missing = [n for n in names if n not in found]
            if not missing:
                break
            try:
                rows = query(names=missing)
            except SlurmError:
                self._lookup_failed = True
                continue
            for row in rows:
                name, raw = row.get("JobName", ""), row.get("JobID", "")
                array_id = raw.split("_", 1)[0]
                if name in missing and array_id.isdigit():
                    # the oldest array of that name wins if, against all care, there are two
                    if name not in found or int(array_id) < int(found[name]):
                        found[name] = array_id
        return found

    def new_handle(self, job: StepJob) -> Handle:
        """The handle of a step not submitted yet (what :meth:`submit` fills in)."""
        resources = self._site_resources().overridden(job.resources)
        after_names = [h.get("name") for h in job.after if h.get("name")]
        after_results = [t.get("result") for h in job.after for t in h.get("tasks", {}).values() if t.get("result")]
        return {
            "executor": self.name,
            "name": job.name,
            "job_id": None,
            "request_id": job.request_id,
            "step": job.step,
            "workdir": str(job.workdir),
            "submitter": job.submitter,
            "env": dict(job.env),
            "resources": {**asdict(resources), "extra": list(resources.extra)},
            "after": after_names,
            "after_jobs": dependency_ids(job.after),
            "after_results": after_results,
            "arrays": [],
            "submissions": 0,
            "submitted_at": None,
            "deferred": "not submitted yet",
            "refused": "",
            "tasks": {
                str(task.index): {
                    "label": task.label,
                    "argv": list(task.argv),
                    "result": str(task.result_file),
                    "log": str(task.log_file),
                    "outputs": [str(p) for p in task.outputs],
                    "job_id": None,
                    "index": None,
                    "retries": 0,
                    "mem": resources.mem,
                    "history": [],
                    "noted": False,
                }
                for task in job.tasks
            },
        }

    def _try_submit(self, handle: Handle, statuses: dict[str, dict[int, TaskStatus]]) -> None:
        """Submit the handle's unsubmitted tasks if the cap and the upstream steps allow it."""
        todo = sorted(int(i) for i, t in handle["tasks"].items() if t["job_id"] is None and not t.get("final"))
        if not todo or handle.get("refused") or handle["name"] in self._cancelled:
            handle["deferred"] = ""
            return
        failed = self._upstream_failed(handle, statuses)
        if failed:
            for index in todo:
                handle["tasks"][str(index)]["final"] = failed
            handle["deferred"] = ""
            return
        dependency, why = self._dependency(handle, statuses)
        if why:
            handle["deferred"] = why
            return
        if self.poller.clock() < self._submit_blocked_until:
            handle["deferred"] = handle.get("deferred") or "waiting for Slurm to answer"
            return
        cap = int(self.settings.max_jobs_in_flight)
        if self._in_flight > 0 and self._in_flight + len(todo) > cap:
            handle["deferred"] = f"waiting: {self._in_flight} Slurm jobs in flight (the site allows {cap})"
            return
        try:
            for offset, count in array_chunks(len(todo), self.max_array_size):
                self._submit_chunk(handle, todo[offset:offset + count], dependency)
        except SlurmUnavailable as exc:
            handle["deferred"] = f"waiting for Slurm to answer: {exc}"
            # One sbatch that met an outage is enough: the others wait for the next poll
            # instead of each blocking the daemon for sbatch's own timeout.
            self._submit_blocked_until = self.poller.clock() + max(self.poller.interval,
                                                                   self.poller.base_seconds)
            return
        except SlurmRefused as exc:
            self._refuse(handle, str(exc))
            return
        handle["deferred"] = ""

    def batch_script(self, handle: Handle, indices: list[int], dependency: Sequence[str] = ()) -> ArrayScript:
        """The batch script of the handle's next submission: the tasks ``indices`` as one array.

        Pure (no Slurm call, no file written): the golden-file test pins its text.
        """
        name = submission_name(handle["name"], int(handle["submissions"]))
        tasks = [handle["tasks"][str(i)] for i in indices]
        base = {**handle["resources"], "extra": tuple(handle["resources"]["extra"])}
        # Retries may ask for more memory than the others of the array: take the largest.
        base["mem"] = max((t["mem"] for t in tasks), key=memory_mb)
        folder = Path(handle["workdir"]) / ".executor"
        return ArrayScript(
            name=name,
            tasks=[TaskCommand(tuple(t["argv"]), Path(t["result"]), Path(t["log"]), handle.get("env") or {})
                   for t in tasks],
            output=folder / "slurm-%A_%a.out",
            resources=Resources(**base),
            python=self.python,
            throttle=int(self.settings.array_throttle) or None,
            after_ok=list(dependency),
            workdir=Path(handle["workdir"]),
            comment=f"astran submitter={handle['submitter']}" if handle.get("submitter") else None,
        )

    def _submit_chunk(self, handle: Handle, indices: list[int], dependency: list[str]) -> None:
        number = int(handle["submissions"])
        script = self.batch_script(handle, indices, dependency)
        name = script.name
        tasks = [handle["tasks"][str(i)] for i in indices]
        folder = Path(handle["workdir"]) / ".executor"
        folder.mkdir(parents=True, exist_ok=True)
        for t in tasks:
            Path(t["log"]).parent.mkdir(parents=True, exist_ok=True)
            Path(t["result"]).parent.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.sh"
        write_text(path, script.render())
        # A retry or a resubmission after an outage may have been submitted by a daemon
        # that died before recording it: look its name up first.
        lookup = handle.get("uncertain") or any(t["retries"] for t in tasks)
        job_id = self._lookup([name]).get(name) if lookup else None
        if job_id is None:
            for t in tasks:  # a result left by an earlier try must not stand for this one
                for stale in (Path(t["result"]), started_file(Path(t["result"]))):
                    stale.unlink(missing_ok=True)
            handle["uncertain"] = True  # an sbatch whose answer was lost may still have worked
            job_id = self.commands.sbatch(path)
        handle["uncertain"] = False
        self._record_submission(handle, job_id, indices, number)
        self._in_flight += len(indices)
        self._submitted_since_poll = True
        self.poller.hurry()

    def _record_submission(self, handle: Handle, job_id: str, indices: list[int], number: int) -> None:
        for position, index in enumerate(indices):
            task = handle["tasks"][str(index)]
            task["job_id"], task["index"] = job_id, position
        handle["arrays"] = sorted(set(handle["arrays"]) | {job_id}, key=int)
        handle["job_id"] = handle["job_id"] or job_id
        handle["submissions"] = max(int(handle["submissions"]), number + 1)
        handle["submitted_at"] = time.time()

    def _dependency(self, handle: Handle, statuses: dict[str, dict[int, TaskStatus]]) -> tuple[list[str], str]:
        """The ids for ``--dependency=afterok:``, or a reason to wait before submitting."""
        ids: list[str] = []
        for name in handle.get("after", []):
            upstream = self._batch.get(name)
            if upstream is None:
                continue
            if any(t["job_id"] is None and not t.get("final") for t in upstream["tasks"].values()):
                return [], f"waiting for step {step_of(name)} to be submitted"
            done = statuses.get(name, {})
            ids += dependency_ids([upstream], skip={i for i, st in done.items() if st.state == TaskState.SUCCEEDED})
        outside = [n for n in handle.get("after", []) if n not in self._batch]
        if outside:
            if handle["submissions"] == 0 and handle.get("after_jobs") is not None and not self._polling:
                ids += handle["after_jobs"]  # submit(): the upstream handles the daemon gave
            elif handle["submissions"] == 0 and handle.get("after_jobs") is None and not self._polling:
                return [], "waiting for the previous step to be submitted"
            else:  # the daemon no longer polls the upstream step: its result files decide
                results = [read_result(Path(p)) for p in handle.get("after_results", [])]
                if not all(r is not None and r.ok for r in results):
                    return [], "waiting for the previous step's results"
        return sorted(set(ids), key=id_sort_key), ""

    def _refuse(self, handle: Handle, message: str) -> None:
        handle["refused"] = message
        handle["deferred"] = ""
        for task in handle["tasks"].values():
            append_line(Path(task["log"]), f"spoold: Slurm refused the job: {message}")

    # ------------------------------------------------------------------ poll
    def poll(self, handles: Sequence[Handle]) -> list[StepPoll]:
        """Status of every task of every handle: one batched Slurm call when a poll is due."""
        handles = [copy_handle(h) for h in handles]
        by_name = {h["name"]: h for h in handles}
        self._batch, self._polling = by_name, True
        if self.poller.due() or self._submitted_since_poll:
            arrays = sorted({a for h in handles for a in h.get("arrays", [])}, key=int)
            self._submitted_since_poll = False
            result = self.poller.poll(arrays)
            self.last_poll = result
            if result.outage is None:
                known = set(arrays)
                self._states = {k: v for k, v in self._states.items() if k[0] in known}
                self._states.update(result.states)
                self._check_missing(handles, result)
        statuses: dict[str, dict[int, TaskStatus]] = {}
        for handle in upstream_first(handles, by_name):
            statuses[handle["name"]] = self._statuses_of(handle, statuses)
        # Submit what waited (cap, upstream, outage), then count what is in flight.
        self._in_flight = sum(1 for st in statuses.values() for s in st.values()
                              if not s.state.final and s.job_id is not None)
        for handle in upstream_first(handles, by_name):
            if handle.get("deferred") and handle["name"] not in self._cancelled:
                self._try_submit(handle, statuses)
                statuses[handle["name"]] = self._statuses_of(handle, statuses)
        self._polling = False
        return [StepPoll(handle=h, tasks=statuses[h["name"]]) for h in handles]

    def _check_missing(self, handles: Sequence[Handle], result: PollResult) -> None:
        """Ask squeue about arrays sacct should know by now but does not (a second call, rarely)."""
        now = time.time()
        missing = sorted({t["job_id"] for h in handles for t in h["tasks"].values()
                          if t["job_id"] and (t["job_id"], t["index"]) not in self._states
                          and now - float(h.get("submitted_at") or now) > SACCT_GRACE_SECONDS}, key=int)
        if not missing:
            return
        try:
            from .monitor import parse_rows
            rows = parse_rows(self.commands.squeue(job_ids=missing))
        except SlurmError:
            return
        result.calls += 1
        self._states.update(rows)
        for h in handles:
            for t in h["tasks"].values():
                key = (t["job_id"], t["index"])
                if t["job_id"] in missing and key not in self._states:
                    # In no record anywhere: an element cancelled before it started.
                    self._states[key] = SlurmState(state="VANISHED")

    def _statuses_of(self, handle: Handle, statuses: dict[str, dict[int, TaskStatus]]) -> dict[int, TaskStatus]:
        out: dict[int, TaskStatus] = {}
        for key, task in sorted(handle["tasks"].items(), key=lambda kv: int(kv[0])):
            out[int(key)] = self._status_of(handle, task, statuses)
        return out

    def _status_of(self, handle: Handle, task: dict, statuses: dict[str, dict[int, TaskStatus]]) -> TaskStatus:
        if handle.get("refused"):
            return TaskStatus(TaskState.FAILED, None, None, f"Slurm refused the job: {handle['refused']}")
        if task.get("final"):
            return TaskStatus(TaskState.CANCELLED, None, None, task["final"])
        if task["job_id"] is None:
            if handle["name"] in self._cancelled:
                return TaskStatus(TaskState.CANCELLED, None, None, "cancelled before it was submitted")
            upstream_failed = self._upstream_failed(handle, statuses)
            if upstream_failed:
                return TaskStatus(TaskState.CANCELLED, None, None, upstream_failed)
            return TaskStatus(TaskState.QUEUED, None, None, handle.get("deferred") or "not submitted yet")
        slurm_id = f"{task['job_id']}_{task['index']}"
        state = self._states.get((task["job_id"], task["index"]))
        if state is None:
            result = read_result(Path(task["result"]))
            if result is not None:  # finished, and sacct does not know yet (or forgot)
                return from_result(result, slurm_id)
            return TaskStatus(TaskState.QUEUED, slurm_id, None, "submitted; Slurm has not reported it yet")
        if state.live:
            kind = TaskState.QUEUED if state.state in _QUEUED_STATES else TaskState.RUNNING
            reason = f" ({state.reason})" if state.reason and state.reason != "None" else ""
            return TaskStatus(kind, slurm_id, None, f"{state.state}{reason}")
        if state.ok:
            return TaskStatus(TaskState.SUCCEEDED, slurm_id, 0, "COMPLETED")
        result = read_result(Path(task["result"]))  # the exit code, in the task's own words
        if state.state == "FAILED" and result is not None and result.ok:
            # The task's own result file outranks a FAILED row that sacct briefly shows for
            # an element whose array record another element reused.
            return from_result(result, slurm_id)
        state = memory_kill(handle, task, state)
        exit_code = result.exit_code if result is not None else state.exit_code
        if state.state in ("CANCELLED", "VANISHED"):
            # squeue says "DependencyNeverSatisfied"; sacct gives no reason at all. A dependent
            # that this executor did not cancel itself was cancelled by Slurm when its upstream
            # failed: _upstream_retried tells whether that failure is being retried.
            by_dependency = ("depend" in state.reason.lower() or state.state == "VANISHED"
                             or bool(handle.get("after")))
            if by_dependency and self._upstream_retried(handle, statuses) and handle["name"] not in self._cancelled:
                # killed because an upstream task failed transiently and is being retried
                self._forget(task, state.state)
                handle["deferred"] = "waiting for the previous step's retry"
                return TaskStatus(TaskState.QUEUED, None, None, handle["deferred"])
            reason = " (its dependency can never be satisfied)" if "depend" in state.reason.lower() else ""
            detail = f"{state.state}{reason}"
            self._note(task, f"spoold: Slurm job {slurm_id} was cancelled{reason}.")
            return TaskStatus(TaskState.CANCELLED, slurm_id, exit_code, detail)
        # FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, ...
        if self.policy.should_retry(state.state, int(task["retries"])) and handle["name"] not in self._cancelled:
            return self._retry(handle, task, state, slurm_id)
        tries = f" after {task['retries']} retries" if task["retries"] else ""
        what = f"exit code {exit_code}" if state.state == "FAILED" else state.state
        self._note(task, f"spoold: Slurm job {slurm_id} ended with {what}{tries} (state {state.state}).")
        return TaskStatus(TaskState.FAILED, slurm_id, exit_code, f"{state.state}{tries}")

    def _retry(self, handle: Handle, task: dict, state: SlurmState, slurm_id: str) -> TaskStatus:
        """Clean the failed try and queue the task for resubmission (submitted in this poll)."""
        retries = int(task["retries"]) + 1
        clean_for_retry(Path(task["result"]), Path(task["log"]), [Path(p) for p in task.get("outputs", [])], retries)
        factor = self.policy.memory_factor(state.state)
        if factor != 1.0:
            task["mem"] = Resources(mem=task["mem"]).with_memory_factor(factor).mem
        self._forget(task, state.state)
        task["retries"] = retries
        more = f" with {task['mem']}" if factor != 1.0 else ""
        handle["deferred"] = f"{state.state} in {slurm_id}: resubmitting{more} (retry {retries} of {self.policy.max_retries})"
        return TaskStatus(TaskState.QUEUED, None, None, handle["deferred"])

    def _forget(self, task: dict, state: str) -> None:
        task["history"].append({"job_id": f"{task['job_id']}_{task['index']}", "state": state})
        task["job_id"], task["index"], task["noted"] = None, None, False

    def _note(self, task: dict, line: str) -> None:
        if not task.get("noted"):
            append_line(Path(task["log"]), line)
            task["noted"] = True

    def _upstream_retried(self, handle: Handle, statuses: dict[str, dict[int, TaskStatus]]) -> bool:
        """True when this step's dependency broke because an upstream task is being retried."""
        if self._upstream_failed(handle, statuses):
            return False
        for name in handle.get("after", []):
            upstream = self._batch.get(name)
            if upstream is not None and has_retries(upstream):
                return True
            if upstream is None:
                results = [read_result(Path(p)) for p in handle.get("after_results", [])]
                if results and all(r is not None and r.ok for r in results):
                    return True
        return False

    def _upstream_failed(self, handle: Handle, statuses: dict[str, dict[int, TaskStatus]]) -> str:
        """Why this step can never run (an upstream task failed for good), or ""."""
        for name in handle.get("after", []):
            for index, status in statuses.get(name, {}).items():
                if status.state in (TaskState.FAILED, TaskState.CANCELLED, TaskState.LOST):
                    return f"not run: task {index} of step {step_of(name)} ended {status.state.value}"
        return ""

    # ------------------------------------------------------------------ cancel
    def cancel(self, handle: Handle) -> None:
        """scancel every array of the step (idempotent; an outage is retried on the next cancel)."""
        self._cancelled.add(handle.get("name", ""))
        arrays = [a for a in handle.get("arrays", []) if a]
        if arrays:
            try:
                self.commands.scancel(arrays)
            except SlurmError:
                pass
        self.poller.hurry()

    def calls_per_poll(self) -> int:
        """Slurm commands the last poll ran (the benchmark prints it)."""
        return self.last_poll.calls if self.last_poll else 0
