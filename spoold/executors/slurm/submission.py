"""Submitting a step's array to Slurm, deferring it, and finding it again by name.

A step is submitted as ``sbatch --parsable`` of a batch script written into
``<workdir>/.executor/`` (:mod:`.sbatch`), split below the cluster's MaxArraySize, named
``astran.<request>.<step>.<attempt>`` (then ``.1``, ``.2`` ... for more chunks and
retries), and depending on its upstream steps through one ``--dependency=afterok:...``.
A step that would take the jobs in flight over ``slurm.max_jobs_in_flight``, whose
upstream step is not submitted yet, or that met a Slurm outage is *deferred*: its
handle says why and a later poll submits it. Before an sbatch whose earlier answer
may have been lost, the job name is looked up (``squeue``, then ``sacct``), so
nothing is submitted twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from spoold.executors.base import StepJob, TaskState
from spoold.executors.resources import for_request, memory_mb
from spoold.taskrun import read_result, started_file

from .commands import SlurmCommands, SlurmError, SlurmRefused, SlurmUnavailable
from .files import append_line, write_script
from .handles import SlurmHandle, SlurmTask, dependency_ids, id_sort_key, step_of
from .monitor import Poller
from .sbatch import ArrayScript, TaskCommand, array_chunks, submission_name
from .status import Round, upstream_failed

#: Slurm's default MaxArraySize, used while ``scontrol show config`` does not answer
DEFAULT_MAX_ARRAY_SIZE = 1001


class Submitter:
    """Submits the tasks of handles that wait, within the site's cap, once their upstream allows.

    Parameters
    ----------
    settings : spoold.site.SlurmSettings
        The site's resources, ``array_throttle`` and ``max_jobs_in_flight``.
    commands : SlurmCommands
        How Slurm is asked.
    poller : Poller
        Told to hurry after a submission; its clock and interval pace submissions after an outage.
    python : str
        The interpreter the batch script runs ``spoold.taskrun`` with.
    max_array_size : int, optional
        Split arrays above this many tasks; by default the cluster's MaxArraySize.
    """

    def __init__(self, settings: Any, commands: SlurmCommands, poller: Poller, python: str,
                 max_array_size: int | None = None) -> None:
        self.settings = settings
        self.commands = commands
        self.poller = poller
        self.python = python
        self._max_array_size = max_array_size
        #: Slurm jobs queued or running over every step the last poll saw
        self.in_flight = 0
        #: True when something was submitted since the last poll (the next one asks Slurm at once)
        self.submitted_since_poll = False
        #: no sbatch before this time on the poller's clock (an outage was met)
        self.blocked_until = 0.0
        #: names of steps find() could not ask Slurm about: look again before their sbatch
        self.unsure: set[str] = set()
        self._lookup_failed = False

    @property
    def max_array_size(self) -> int:
        """The largest array submitted at once (the cluster's MaxArraySize unless given)."""
        if self._max_array_size is None:
            try:
                self._max_array_size = self.commands.max_array_size()
            except SlurmError:
                return DEFAULT_MAX_ARRAY_SIZE  # asked again next time
        return self._max_array_size

    # ------------------------------------------------------------------ handles
    def new_handle(self, job: StepJob) -> SlurmHandle:
        """The handle of a step not submitted yet, with its resources merged once (site ← request)."""
        resources = for_request(self.settings, job.resources)
        upstream = [SlurmHandle.from_json(h) for h in job.after]
        return SlurmHandle(
            name=job.name, request_id=job.request_id, step=job.step, workdir=str(job.workdir),
            resources=resources, submitter=job.submitter, env=dict(job.env),
            after=[h.name for h in upstream], after_jobs=dependency_ids(upstream),
            after_results=[t.result for h in upstream for _, t in h.ordered()],
            deferred="not submitted yet",
            tasks={task.index: SlurmTask(label=task.label, argv=list(task.argv), result=str(task.result_file),
                                         log=str(task.log_file), outputs=[str(p) for p in task.outputs],
                                         mem=resources.mem)
                   for task in job.tasks},
        )

    def find(self, job: StepJob) -> SlurmHandle | None:
        """The handle of ``job`` when Slurm knows its jobs by name (submitting the rest), else None."""
        handle = self.new_handle(job)
        chunks = array_chunks(len(job.tasks), self.max_array_size)
        names = [submission_name(job.name, n) for n in range(len(chunks))]
        found = self.lookup(names)
        if not found:
            if self._lookup_failed:
                self.unsure.add(job.name)
            return None
        handle.deferred = ""
        for number, (offset, count) in enumerate(chunks):
            job_id = found.get(names[number])
            if job_id is not None:
                self._record_submission(handle, job_id, list(range(offset, offset + count)), number)
        if handle.waiting():
            handle.deferred = "re-attached to part of the step; submitting the rest"
            self.try_submit(handle, Round())
        self.poller.hurry()
        return handle

    def lookup(self, names: Sequence[str]) -> dict[str, str]:
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

    # ------------------------------------------------------------------ submitting
    def try_submit(self, handle: SlurmHandle, round_: Round) -> None:
        """Submit the handle's waiting tasks if the cap and the upstream steps allow it."""
        todo = handle.waiting()
        if not todo or handle.refused or handle.name in round_.cancelled:
            handle.deferred = ""
            return
        failed = upstream_failed(handle, round_)
        if failed:
            for index in todo:
                handle.tasks[index].final = failed
            handle.deferred = ""
            return
        dependency, why = self._dependency(handle, round_)
        if why:
            handle.deferred = why
            return
        if self.poller.clock() < self.blocked_until:
            handle.deferred = handle.deferred or "waiting for Slurm to answer"
            return
        cap = int(self.settings.max_jobs_in_flight)
        if self.in_flight > 0 and self.in_flight + len(todo) > cap:
            handle.deferred = f"waiting: {self.in_flight} Slurm jobs in flight (the site allows {cap})"
            return
        try:
            for offset, count in array_chunks(len(todo), self.max_array_size):
                self._submit_chunk(handle, todo[offset:offset + count], dependency)
        except SlurmUnavailable as exc:
            handle.deferred = f"waiting for Slurm to answer: {exc}"
            # One sbatch that met an outage is enough: the others wait for the next poll
            # instead of each blocking the daemon for sbatch's own timeout.
            self.blocked_until = self.poller.clock() + max(self.poller.interval, self.poller.base_seconds)
            return
        except SlurmRefused as exc:
            self._refuse(handle, str(exc))
            return
        handle.deferred = ""

    def batch_script(self, handle: SlurmHandle, indices: list[int], dependency: Sequence[str] = ()) -> ArrayScript:
        """The batch script of the handle's next submission: the tasks ``indices`` as one array.

        Pure (no Slurm call, no file written): the golden-file test pins its text.
        """
        tasks = [handle.tasks[i] for i in indices]
        # Retries may ask for more memory than the others of the array: take the largest.
        mem = max((t.mem or handle.resources.mem for t in tasks), key=memory_mb)
        return ArrayScript(
            name=submission_name(handle.name, handle.submissions),
            tasks=[TaskCommand(tuple(t.argv), t.result_file, t.log_file, handle.env) for t in tasks],
            output=handle.folder / "slurm-%A_%a.out",
            resources=handle.resources.overridden({"mem": mem}),
            python=self.python,
            throttle=int(self.settings.array_throttle) or None,
            after_ok=list(dependency),
            workdir=Path(handle.workdir),
            comment=f"astran submitter={handle.submitter}" if handle.submitter else None,
        )

    def _submit_chunk(self, handle: SlurmHandle, indices: list[int], dependency: list[str]) -> None:
        number = handle.submissions
        script = self.batch_script(handle, indices, dependency)
        name = script.name
        tasks = [handle.tasks[i] for i in indices]
        handle.folder.mkdir(parents=True, exist_ok=True)
        for t in tasks:
            t.log_file.parent.mkdir(parents=True, exist_ok=True)
            t.result_file.parent.mkdir(parents=True, exist_ok=True)
        path = handle.folder / f"{name}.sh"
        write_script(path, script.render())
        # A retry or a resubmission after an outage may have been submitted by a daemon
        # that died before recording it: look its name up first.
        look = handle.uncertain or any(t.retries for t in tasks)
        job_id = self.lookup([name]).get(name) if look else None
        if job_id is None:
            for t in tasks:  # a result left by an earlier try must not stand for this one
                for stale in (t.result_file, started_file(t.result_file)):
                    stale.unlink(missing_ok=True)
            handle.uncertain = True  # an sbatch whose answer was lost may still have worked
            job_id = self.commands.sbatch(path)
        handle.uncertain = False
        self._record_submission(handle, job_id, indices, number)
        self.in_flight += len(indices)
        self.submitted_since_poll = True
        self.poller.hurry()

    @staticmethod
    def _record_submission(handle: SlurmHandle, job_id: str, indices: list[int], number: int) -> None:
        for position, index in enumerate(indices):
            task = handle.tasks[index]
            task.job_id, task.index = job_id, position
        handle.arrays = sorted(set(handle.arrays) | {job_id}, key=int)
        handle.job_id = handle.job_id or job_id
        handle.submissions = max(handle.submissions, number + 1)
        handle.submitted_at = time.time()

    def _dependency(self, handle: SlurmHandle, round_: Round) -> tuple[list[str], str]:
        """The ids for ``--dependency=afterok:``, or a reason to wait before submitting."""
        ids: list[str] = []
        for name in handle.after:
            upstream = round_.batch.get(name)
            if upstream is None:
                continue
            if upstream.waiting():
                return [], f"waiting for step {step_of(name)} to be submitted"
            done = round_.statuses.get(name, {})
            ids += dependency_ids([upstream], skip={i for i, s in done.items() if s.state == TaskState.SUCCEEDED})
        if any(n not in round_.batch for n in handle.after):
            first = handle.submissions == 0 and not round_.polling
            if first and handle.after_jobs is not None:
                ids += handle.after_jobs  # submit(): the upstream handles the daemon gave
            elif first:
                return [], "waiting for the previous step to be submitted"
            else:  # the daemon no longer polls the upstream step: its result files decide
                results = [read_result(Path(p)) for p in handle.after_results]
                if not all(r is not None and r.ok for r in results):
                    return [], "waiting for the previous step's results"
        return sorted(set(ids), key=id_sort_key), ""

    @staticmethod
    def _refuse(handle: SlurmHandle, message: str) -> None:
        handle.refused = message
        handle.deferred = ""
        for _, task in handle.ordered():
            append_line(task.log_file, f"spoold: Slurm refused the job: {message}")

