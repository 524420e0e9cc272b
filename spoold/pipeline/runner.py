"""Advance one running request by what its executor reports: submit, poll, finish.

Every change of the request's state goes through the daemon's ``transition``
(:func:`spoold.states.transition`): the journal first (a ``step-done`` or
``failed`` line is written at most once per step and attempt), then
``state.json`` (atomically), then the folder move (one rename). A daemon that
dies between any two of them redoes the rest on restart and the journal
deduplicates. A step's own progress is ``state.json`` alone; a step is marked ``submitting`` in state.json before it
is handed to the executor, and on restart the executor's :meth:`find` (Slurm:
by job name) or the tasks' ``.started`` markers (local) re-attach to it.

Chaining: with an executor that :attr:`~Executor.supports_dependencies` (Slurm),
once a step is submitted the steps after it are submitted at once, each with
``after=`` its upstream's handle, so the scheduler starts each one when the one
before has succeeded (``afterok``) and the night's work waits in one queue.
Steps are still collected in order: a step is finished (checked, ``step-done``)
only after its upstream, and a failure is blamed on the earliest failed step;
the steps after it are cancelled and recorded as not run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from spoold import events, state as st
from spoold.events import Event
from spoold.executors.base import Executor, StepJob, StepPoll, Task, TaskState
from spoold.pipeline.base import Context, Step
from spoold.pipeline.resolve import missing_sentence, resolve, wait_deadline, waiting_detail, waiting_lines
from spoold.states import Line, Outcome, RequestState, StepStatus

log = logging.getLogger("spoold.runner")

#: how many lines of a failed task's log go into error.txt
LOG_TAIL_LINES = 30


class Services(Protocol):
    """What the runner needs from the daemon."""

    site: Any
    executor: Executor

    def emit(self, folder: Path, state: dict, event: str, *, step: str | None = None, detail: str = "") -> None:
        """Journal an event (at most once per event, step and attempt)."""

    def transition(self, folder: Path, state: dict, to: RequestState, *lines: Line, **fields: Any) -> Path:
        """Change the request's state (:func:`spoold.states.transition`); return where its folder is."""


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of a log file ('' when there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def in_flight(state: dict) -> list[tuple[str, dict]]:
    """(step name, record) of a request's steps handed to the executor and not finished."""
    attempt = state.get("attempt", 1)
    return [
        (name, rec)
        for name, rec in (state.get("steps") or {}).items()
        if rec.get("attempt") == attempt and rec.get("status") in (StepStatus.SUBMITTING, StepStatus.SUBMITTED)
    ]


class Runner:
    """Moves running requests through their steps.

    Parameters
    ----------
    services : Services
        The daemon (site, executor, emit).
    steps : list of Step
        The steps after ``resolve``, in order.
    """

    def __init__(self, services: Services, steps: list[Step]) -> None:
        self.services = services
        self.steps = steps

    # -- what a request needs -------------------------------------------------------
    def wanted(self, ctx: Context) -> list[Step]:
        """The steps this request needs, in order."""
        return [s for s in self.steps if s.wanted(ctx)]

    in_flight = staticmethod(in_flight)

    # -- one request, one turn -------------------------------------------------------
    def advance(self, ctx: Context, polls: dict[str, StepPoll]) -> Outcome:
        """Do what can be done now; return what it came to.

        ``polls`` holds this request's answers from the daemon's one batched
        :meth:`Executor.poll`. Returns an :class:`~spoold.states.Outcome`: running,
        waiting, hold (a hold was asked for before the next step), done (every step
        done; the daemon publishes it) or failed (the request is in failed/ now).
        """
        state = ctx.state
        rec = st.step(state, "resolve")
        if rec["status"] not in st.STEP_FINISHED:
            outcome = self._resolve(ctx, rec)
            if outcome != Outcome.DONE:
                return outcome
        for step in self.wanted(ctx):
            rec = st.step(state, step.name)
            if rec["status"] in st.STEP_FINISHED:
                continue
            if state.get("step") != step.name:
                state["step"] = step.name
                st.save(ctx.folder, state)
            if rec["status"] == StepStatus.PENDING and state.get("hold_requested"):
                return Outcome.HOLD
            if rec["status"] == StepStatus.PENDING and self._waits(ctx, step, rec):
                return Outcome.RUNNING
            if rec["status"] in (StepStatus.PENDING, StepStatus.SUBMITTING):
                outcome = self._submit(ctx, step, rec)
                if rec["status"] == StepStatus.SUBMITTED and self.services.executor.supports_dependencies:
                    self._submit_chain(ctx, step)
                return outcome
            if rec["status"] == StepStatus.SUBMITTED:
                poll = polls.get(step.name)
                if poll is not None:
                    outcome = self._collect(ctx, step, rec, poll)
                    if outcome == Outcome.DONE:
                        continue
                    if outcome != Outcome.RUNNING:
                        return outcome
                if self.services.executor.supports_dependencies:
                    self._submit_chain(ctx, step)
                return Outcome.RUNNING
            if rec["status"] == StepStatus.FAILED:
                return self.fail(ctx, step.name, rec.get("note") or "the step failed")
        return Outcome.DONE

    def _resolve(self, ctx: Context, rec: dict) -> Outcome:
        state, site = ctx.state, self.services.site
        state["step"] = "resolve"
        found = resolve(ctx)
        hours = float(site.limits.data_wait_hours)
        if found.error:
            return self.fail(ctx, "resolve", found.error)
        state["night"] = found.night
        if found.missing:
            waiting = state.get("waiting") or {}
            first = not waiting
            since = waiting.get("since") or st.now_iso()
            until = wait_deadline(since, hours)
            if ctx.now >= until:
                return self.fail(ctx, "resolve", missing_sentence(found.missing, hours, found.reasons))
            changed = (waiting.get("missing"), waiting.get("reasons") or {}) != (list(found.missing), found.reasons)
            state["waiting"] = {"since": since, "until": until.isoformat(timespec="seconds"),
                                "missing": list(found.missing), "reasons": dict(found.reasons)}
            if state.get("state") != RequestState.WAITING or changed:
                detail = waiting_detail(found.missing, found.reasons, until)
                told = [Line(Event.WAITING, "resolve", detail)] if first else []
                self.services.transition(ctx.folder, state, RequestState.WAITING, *told)
                events.log(ctx.folder, "waiting: " + "; ".join(waiting_lines(found.missing[:5], found.reasons)))
            return Outcome.WAITING
        resumed = state.get("waiting") is not None
        state["runs"] = list(found.runs)
        state["nights"] = list(found.nights)
        state["run_nights"] = {str(k): v for k, v in found.run_nights.items() if v}
        state["inputs"] = {str(k): v for k, v in found.inputs.items()}
        state["run_subruns"] = {str(k): v for k, v in found.run_subruns.items()}
        state["waiting"] = None
        rec["status"] = StepStatus.DONE
        rec["note"] = f"{len(found.runs)} run(s): {', '.join(str(r) for r in found.runs)}"
        if len(found.nights) > 1:
            rec["note"] += f" of {len(found.nights)} nights ({', '.join(found.nights)})"
        rec["finished"] = st.now_iso()
        lines = [Line(Event.RESUMED, "resolve", "the input data are there")] if resumed else []
        lines.append(Line(Event.STEP_DONE, "resolve", rec["note"]))
        self.services.transition(ctx.folder, state, RequestState.RUNNING, *lines)
        return Outcome.DONE

    def _skip_if_done(self, ctx: Context, step: Step, rec: dict) -> bool:
        """Skip ``step`` (and say why) when :meth:`Step.done_already` says its outputs are there."""
        reason = step.done_already(ctx)
        if reason:
            rec["status"], rec["note"], rec["finished"] = StepStatus.SKIPPED, f"skipped: {reason}", st.now_iso()
            events.log(ctx.folder, f"step {step.name} skipped: {reason}")
            self.services.emit(ctx.folder, ctx.state, Event.STEP_DONE, step=step.name, detail=rec["note"])
            st.save(ctx.folder, ctx.state)
        return bool(reason)

    @staticmethod
    def _waits(ctx: Context, step: Step, rec: dict) -> bool:
        """True when ``step`` waits for another request's work (:meth:`Step.waits_on`); its note says for what."""
        reason = step.waits_on(ctx)
        if reason and rec.get("note") != reason:
            rec["note"] = reason
            events.log(ctx.folder, f"step {step.name}: {reason}")
            st.save(ctx.folder, ctx.state)
        elif not reason and rec.get("note"):
            rec["note"] = ""
        return bool(reason)

    def _submit_chain(self, ctx: Context, upstream: Step) -> None:
        """Submit the wanted steps after ``upstream`` (submitted, unfinished), each after the one before."""
        state = ctx.state
        wanted = self.wanted(ctx)
        for step in wanted[wanted.index(upstream) + 1:]:
            rec = st.step(state, step.name)
            if not step.reads_upstream:  # skipped or waiting as a first step would; the next chains after upstream
                if rec["status"] == StepStatus.SKIPPED:
                    continue
                if rec["status"] == StepStatus.PENDING and not state.get("hold_requested"):
                    if self._skip_if_done(ctx, step, rec):
                        continue
                    if self._waits(ctx, step, rec):
                        return
            if rec["status"] in (StepStatus.PENDING, StepStatus.SUBMITTING):
                if state.get("hold_requested"):
                    return
                handle = st.step(state, upstream.name).get("handle")
                if not handle:
                    return
                self._submit(ctx, step, rec, after=(handle,))
            elif rec["status"] != StepStatus.SUBMITTED:
                return
            upstream = step

    def _job(self, ctx: Context, step: Step, after: tuple = ()) -> StepJob:
        plans = step.tasks(ctx)
        tasks = tuple(
            Task(index=i, label=p.label, argv=tuple(str(a) for a in p.argv),
                 result_file=ctx.result_file(step.name, p.label), log_file=ctx.log_file(step.name, p.label),
                 outputs=tuple(p.outputs))
            for i, p in enumerate(plans)
        )
        return StepJob(
            request_id=ctx.state["id"], step=step.name, attempt=int(ctx.state.get("attempt", 1)),
            tasks=tasks, workdir=ctx.folder, resources=step.resources(ctx),
            submitter=ctx.state.get("submitter"), after=tuple(after),
        )

    def _submit(self, ctx: Context, step: Step, rec: dict, after: tuple = ()) -> Outcome:
        """Hand ``step`` to the executor (re-attaching after a crash); ``after``: upstream handles.

        A step chained after a running upstream is never skipped: its inputs are being made again.
        """
        state = ctx.state
        if rec["status"] == StepStatus.PENDING and not after and self._skip_if_done(ctx, step, rec):
            return self.advance(ctx, {})
        if rec["status"] == StepStatus.PENDING:
            self._clean(ctx, step)
        job = self._job(ctx, step, after)
        executor = self.services.executor
        handle = executor.find(job) if rec["status"] == StepStatus.SUBMITTING else None
        if handle is None:
            rec["status"], rec["started"] = StepStatus.SUBMITTING, rec.get("started") or st.now_iso()
            st.save(ctx.folder, state)
            handle = executor.submit(job)
            chained = f", to start when {', '.join(str(h.get('job_id')) for h in after)} succeeded" if after else ""
            events.log(ctx.folder, f"step {step.name}: submitted {len(job.tasks)} task(s) as {handle.get('job_id')}"
                                   f"{chained}")
        else:
            events.log(ctx.folder, f"step {step.name}: re-attached to {handle.get('job_id')}")
        rec["status"], rec["handle"] = StepStatus.SUBMITTED, handle
        rec["tasks"] = {
            str(t.index): {"label": t.label, "state": TaskState.QUEUED.value, "job_id": None, "exit_code": None,
                           "detail": "", "log": str(t.log_file.relative_to(ctx.folder))}
            for t in job.tasks
        }
        if after:
            rec["after"] = [h.get("name") for h in after]
        self.services.transition(ctx.folder, state, RequestState.RUNNING)
        return Outcome.RUNNING

    @staticmethod
    def _clean(ctx: Context, step: Step) -> None:
        """Remove what an earlier attempt of ``step`` left in the request's own folders."""
        removed = []
        for path in step.outputs(ctx):
            if not (path.is_relative_to(ctx.products) or path.is_relative_to(ctx.folder)):
                continue  # never someone else's files
            try:
                path.unlink()
                removed.append(path.name)
            except FileNotFoundError:
                pass
        if removed:
            events.log(ctx.folder, f"step {step.name}: removed {len(removed)} output(s) an earlier attempt left: "
                                   f"{', '.join(removed[:5])}")

    def _collect(self, ctx: Context, step: Step, rec: dict, poll: StepPoll) -> Outcome:
        state = ctx.state
        changed = poll.handle != rec.get("handle")
        rec["handle"] = poll.handle
        for index, status in poll.tasks.items():
            task = rec["tasks"].setdefault(str(index), {"label": str(index), "log": ""})
            new = status.to_json()
            if any(task.get(k) != v for k, v in new.items()):
                task.update(new)
                _stamp(task, status.state)
                changed = True
        if not poll.finished:
            if changed:
                st.save(ctx.folder, state)
            return Outcome.RUNNING
        bad = [(i, s) for i, s in sorted(poll.tasks.items()) if s.state is not TaskState.SUCCEEDED]
        if bad:
            index, status = bad[0]
            label = rec["tasks"][str(index)].get("label", index)
            sentence = (f"{len(bad)} of {len(poll.tasks)} task(s) of step {step.name} did not succeed; "
                        f"the first, {label}, {status.state.value} ({status.detail}).")
            log_file = ctx.folder / rec["tasks"][str(index)].get("log", "")
            return self.fail(ctx, step.name, sentence, log_file=log_file)
        problem = step.verify(ctx)
        if problem:
            return self.fail(ctx, step.name, problem)
        rec["status"], rec["finished"] = StepStatus.DONE, st.now_iso()
        rec["note"] = f"{len(poll.tasks)} task(s) succeeded"
        self.services.emit(ctx.folder, state, Event.STEP_DONE, step=step.name, detail=rec["note"])
        st.save(ctx.folder, state)
        return Outcome.DONE

    def fail(self, ctx: Context, step: str, sentence: str, *, log_file: Path | None = None) -> Outcome:
        """Fail the request at ``step``: error.txt, then the transition to failed (which moves its folder)."""
        state = ctx.state
        rec = st.step(state, step)
        rec["status"], rec["note"], rec["finished"] = StepStatus.FAILED, sentence, st.now_iso()
        text = f"The request failed in step {step}: {sentence}\n"
        if log_file is not None and log_file.is_file():
            text += f"\nThe last lines of {log_file.relative_to(ctx.folder) if log_file.is_relative_to(ctx.folder) else log_file}:\n"
            text += tail(log_file) + "\n"
        from spoold.files import write_atomic

        write_atomic(ctx.folder / "error.txt", text)
        self._cancel_chained(ctx, step)
        self.services.transition(ctx.folder, state, RequestState.FAILED, Line(Event.FAILED, step, sentence),
                                 step=step, error=sentence)
        return Outcome.FAILED

    def _cancel_chained(self, ctx: Context, failed: str) -> None:
        """Cancel the steps submitted after ``failed`` and record them as not run.

        Slurm cancels an ``afterok`` dependent of a failed job by itself; a step that
        failed its check after its tasks succeeded would let the dependents start.
        """
        for name, rec in self.in_flight(ctx.state):
            if name == failed:
                continue
            if rec.get("handle"):
                try:
                    self.services.executor.cancel(rec["handle"])
                except Exception:  # noqa: BLE001 - the request fails anyway; say so in the log
                    log.exception("cancelling step %s of %s failed", name, ctx.state.get("id"))
            rec["status"], rec["finished"] = StepStatus.CANCELLED, st.now_iso()
            rec["note"] = f"not run: step {failed} failed"
            events.log(ctx.folder, f"step {name} cancelled: step {failed} failed")


def _stamp(task: dict, state: TaskState) -> None:
    """When the daemon first saw a task running and finished (``started``, ``finished``: its duration as seen)."""
    now = st.now_iso()
    if state is not TaskState.QUEUED and not task.get("started"):
        task["started"] = now
    if state.final and not task.get("finished"):
        task["finished"] = now
