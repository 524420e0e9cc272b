"""The Slurm executor: a request's step is one ``sbatch --parsable`` job array.

What it does, in the daemon's terms (:class:`spoold.executors.base.Executor`):

``submit(job)``
    makes the step's handle and submits its array, or defers it (:mod:`.submission`).
``find(job)``
    looks the step's job names up in squeue, then sacct: a daemon that died between
    sbatch and recording the handle re-attaches instead of submitting twice.
``poll(handles)``
    one ``sacct`` call for every array of every handle (``squeue`` when slurmdbd is
    down; nothing changes during an outage of both), with back-off (:mod:`.monitor`);
    each task's status from what Slurm said (:mod:`.status`, which hands transient
    failures to :mod:`.retry`); then the deferred steps are submitted.
``cancel(handle)``
    ``scancel`` of every array of the step.

The handles the daemon stores are JSON; this class reads them into
:class:`~.handles.SlurmHandle` at the start of each call and gives them back as JSON.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Sequence

from spoold.executors.base import Executor, Handle, StepJob, StepPoll

from .commands import SlurmCommands, SlurmError
from .handles import EXECUTOR_NAME, SlurmHandle, upstream_first
from .monitor import PollResult, Poller, TaskState as SlurmState, parse_rows
from .retry import RetryPolicy
from .sbatch import ArrayScript
from .status import Round, StatusReader
from .submission import Submitter

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

    name = EXECUTOR_NAME
    supports_dependencies = True

    def __init__(self, site: Any, *, commands: SlurmCommands | None = None, max_array_size: int | None = None,
                 python: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = site.slurm
        self.commands = commands or SlurmCommands()
        self.poller = Poller(self.commands, float(self.settings.poll_seconds),
                             float(self.settings.poll_max_seconds), clock=clock)
        self.policy = RetryPolicy.from_settings(self.settings)
        self.python = python or sys.executable
        self.submitter = Submitter(self.settings, self.commands, self.poller, self.python, max_array_size)
        self.reader = StatusReader(self.policy)
        self._cancelled: set[str] = set()
        self.last_poll: PollResult | None = None

    @property
    def max_array_size(self) -> int:
        """The largest array submitted at once (the cluster's MaxArraySize unless given)."""
        return self.submitter.max_array_size

    # ------------------------------------------------------------------ submit / find
    def new_handle(self, job: StepJob) -> SlurmHandle:
        """The handle of a step not submitted yet (what :meth:`submit` fills in)."""
        return self.submitter.new_handle(job)

    def batch_script(self, handle: SlurmHandle, indices: list[int], dependency: Sequence[str] = ()) -> ArrayScript:
        """The batch script of the handle's next submission (pure: the golden-file test pins it)."""
        return self.submitter.batch_script(handle, indices, dependency)

    def submit(self, job: StepJob) -> Handle:
        """Submit a step's array (or defer it) and return its handle."""
        handle = self.new_handle(job)
        if job.name in self.submitter.unsure:  # find() could not ask Slurm: look again before sbatch
            handle.uncertain = True
            self.submitter.unsure.discard(job.name)
        self.submitter.try_submit(handle, Round(cancelled=self._cancelled))
        return handle.to_json()

    def find(self, job: StepJob) -> Handle | None:
        """The handle of ``job`` when Slurm knows its jobs by name, else None."""
        handle = self.submitter.find(job)
        return None if handle is None else handle.to_json()

    # ------------------------------------------------------------------ poll
    def poll(self, handles: Sequence[Handle]) -> list[StepPoll]:
        """Status of every task of every handle: one batched Slurm call when a poll is due."""
        typed = [SlurmHandle.from_json(h) for h in handles]
        by_name = {h.name: h for h in typed}
        round_ = Round(batch=by_name, polling=True, cancelled=self._cancelled)
        if self.poller.due() or self.submitter.submitted_since_poll:
            arrays = sorted({a for h in typed for a in h.arrays}, key=int)
            self.submitter.submitted_since_poll = False
            result = self.poller.poll(arrays)
            self.last_poll = result
            if result.outage is None:
                known = set(arrays)
                states = {k: v for k, v in self.reader.states.items() if k[0] in known}
                states.update(result.states)
                self.reader.states = states
                self._check_missing(typed, result)
        statuses = round_.statuses
        for handle in upstream_first(typed, by_name):
            statuses[handle.name] = self.reader.statuses_of(handle, round_)
        # Submit what waited (cap, upstream, outage), then count what is in flight.
        self.submitter.in_flight = sum(1 for st in statuses.values() for s in st.values()
                                       if not s.state.final and s.job_id is not None)
        for handle in upstream_first(typed, by_name):
            if handle.deferred and handle.name not in self._cancelled:
                self.submitter.try_submit(handle, round_)
                statuses[handle.name] = self.reader.statuses_of(handle, round_)
        return [StepPoll(handle=h.to_json(), tasks=statuses[h.name]) for h in typed]

    def _check_missing(self, handles: Sequence[SlurmHandle], result: PollResult) -> None:
        """Ask squeue about arrays sacct should know by now but does not (a second call, rarely)."""
        now = time.time()
        states = self.reader.states
        missing = sorted({t.job_id for h in handles for t in h.tasks.values()
                          if t.job_id and (t.job_id, t.index) not in states
                          and now - float(h.submitted_at or now) > SACCT_GRACE_SECONDS}, key=int)
        if not missing:
            return
        try:
            rows = parse_rows(self.commands.squeue(job_ids=missing))
        except SlurmError:
            return
        result.calls += 1
        states.update(rows)
        for h in handles:
            for t in h.tasks.values():
                if t.job_id in missing and (t.job_id, t.index) not in states:
                    # In no record anywhere: an element cancelled before it started.
                    states[(t.job_id, t.index)] = SlurmState(state="VANISHED")

    # ------------------------------------------------------------------ cancel
    def cancel(self, handle: Handle) -> None:
        """scancel every array of the step (idempotent; an outage is retried on the next cancel)."""
        self._cancelled.add(str(handle.get("name", "")))
        arrays = [str(a) for a in handle.get("arrays", []) if a]
        if arrays:
            try:
                self.commands.scancel(arrays)
            except SlurmError:
                pass
        self.poller.hurry()

    def calls_per_poll(self) -> int:
        """Slurm commands the last poll ran (the benchmark prints it)."""
        return self.last_poll.calls if self.last_poll else 0

