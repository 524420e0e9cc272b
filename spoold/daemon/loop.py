"""The spoold main loop: intake, actions, scheduling, advancing, sleeping.

One turn of the loop (:meth:`Daemon.turn`):

0. let the standing orders drop the requests of nights now complete (``StandingOrders``);
1. take settled files out of ``incoming`` (claim by rename) and validate them
   into ``pending/`` or ``rejected/``;
2. apply the ``spool`` command's actions left in ``control/`` (cancel, hold,
   release, retry);
3. move ``pending`` requests to ``running`` while fewer than
   ``site.limits.max_requests_in_flight`` are being worked on;
4. ask the executor, in ONE call, how every submitted task is doing, and
   advance each running request (:class:`spoold.pipeline.runner.Runner`);
5. check the live requests just done against the flare thresholds (``FlareAlerts``);
6. let the mail notifier send what is queued;
7. rewrite ``spool/status.html`` if something changed (``StatusPage``, at most every 2 s).

Then it sleeps until the watcher's hint, a timer or a signal. Signal handlers
only set flags. At start it takes the spool's lock and recovers what an
earlier daemon left half-done (Postfix: everything in ``intake`` is validated
again; a folder whose state.json already says where it belongs is moved there).

Its parts (intake, controls, recovery, products, guard, journal, runner, standing orders,
status page, flare alerts) are listed in docs/spoold.md.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from spoold import state as st
from spoold.alerts.watch import FlareAlerts
from spoold.daemon.controls import ActionAnswer, Controls
from spoold.daemon.guard import Guard, SpoolWideError
from spoold.daemon.intake import Intake
from spoold.daemon.journal import Journal
from spoold.daemon.products import Products
from spoold.daemon.recovery import Recovery
from spoold.daemon.signals import install_signal_handlers
from spoold.executors import make_executor
from spoold.executors.base import Executor, StepPoll
from spoold.lock import SpoolLock
from spoold.pipeline.base import Context, Step
from spoold.pipeline.resolve import settling
from spoold.pipeline.runner import Runner
from spoold.pipeline.steps import default_steps
from spoold.request import RequestRejected, parse_request
from spoold.spool import Spool
from spoold.standing.maker import StandingOrders
from spoold.status_page import StatusPage
from spoold.states import Action, Folder, Line, Outcome, RequestState, StepStatus
from spoold.daemon.warmup import import_run_catalog_reader
from spoold.wakeup import Wakeup
from spoold.watch import Watcher

log = logging.getLogger("spoold")

#: seconds between polls of the local executor while tasks run
LOCAL_POLL_SECONDS = 0.25


class Daemon:
    """The spool's one worker.

    Parameters
    ----------
    site : Site
    spool_root : Path, optional
        Overrides ``site.spool_root``.
    executor : Executor, optional
        Default: the site's (``make_executor(site)``).
    steps : list of Step, optional
        The steps after ``resolve``; default :func:`default_steps`.
    once : bool
        Drain and exit: stop when every request is terminal, held or waiting for data.
    poll : bool or None
        Watch incoming by polling (True), inotify (False) or as the filesystem needs (None).
    """

    def __init__(self, site: Any, *, spool_root: Path | None = None, executor: Executor | None = None,
                 steps: list[Step] | None = None, once: bool = False, poll: bool | None = None) -> None:
        self.site = site
        self.spool = Spool(spool_root or site.spool_root)
        self._executor = executor
        self.runner = Runner(self, steps if steps is not None else default_steps())
        self.once = once
        self._started = time.monotonic()
        self.poll_mode = poll
        self.wake = Wakeup()
        self.stop_requested = False
        self.lock = SpoolLock(self.spool.root)
        self.journal = Journal(self.spool)
        self.watcher: Watcher | None = None
        self._requests: dict[str, Any] = {}  # parsed requests by id
        self._waiting_checked: dict[str, float] = {}
        self._busy = False  # tasks in flight: poll often
        self.guard = Guard(self)
        self.intake = Intake(self)
        self.controls = Controls(self.spool, self.journal, lambda: self.executor)
        self.products = Products(site, self.spool, self.journal, self.runner)
        self.recovery = Recovery(self.spool, self.guard, self.intake.accept)
        self.standing = StandingOrders(site, self.spool)
        self.status_page = StatusPage(site, self.spool)
        self.alerts = FlareAlerts(site, self.spool, self)

    # -- services for the runner ------------------------------------------------------
    @property
    def executor(self) -> Executor:
        """The executor (made on first use)."""
        if self._executor is None:
            self._executor = make_executor(self.site)
        return self._executor

    def emit(self, folder: Path, state: dict, event: str, *, step: str | None = None, detail: str = "",
             durable: bool = True) -> None:
        """Journal an event (:meth:`spoold.daemon.journal.Journal.emit`)."""
        self.journal.emit(folder, state, event, step=step, detail=detail, durable=durable)
        self.status_page.changed()

    def transition(self, folder: Path, state: dict, to: RequestState, *lines: Line, **options: Any) -> Path:
        """Change a request's state (:meth:`spoold.daemon.journal.Journal.transition`)."""
        self.status_page.changed()
        return self.journal.transition(folder, state, to, *lines, **options)

    def apply(self, request_id: str, action: str) -> ActionAnswer:
        """Apply one of the ``spool`` command's actions now (:meth:`spoold.daemon.controls.Controls.apply`)."""
        return self.controls.apply(request_id, action)

    def remember_request(self, request_id: str, request: Any) -> None:
        """Keep the parsed request of an accepted request (so it is not parsed again)."""
        self._requests[request_id] = request

    def forget(self, request_id: str) -> None:
        """Drop what the daemon keeps in memory about a request that leaves running/."""
        self._requests.pop(request_id, None)
        self._waiting_checked.pop(request_id, None)
        self.guard.forget(request_id)

    # -- start and stop -------------------------------------------------------------------
    def start(self) -> None:
        """Take the lock (raises SpoolLocked), create the folders, recover, start watching."""
        self.spool.init(
            group_writable=bool(getattr(getattr(self.site, "shared_account", None), "enabled", False)),
            group=getattr(getattr(self.site, "shared_account", None), "group", None),
        )
        self.lock.acquire(wait_for_commands=30.0)
        self._started = time.monotonic()
        self.recovery.recover()
        if getattr(self.site, "mail", None) is not None:
            try:
                from spoold.mail.notifier import Notifier

                self.journal.notifier = Notifier(self.site)
            except Exception:  # noqa: BLE001 - mail is optional; say so and go on
                log.exception("mail notifications are off: the notifier could not start")
        if not self.once:
            self.watcher = Watcher([self.spool.dir("incoming"), self.spool.dir("control"), self.spool.dir("mailin")],
                                   self.wake,
                                   poll=self.poll_mode, incoming=self.spool.dir("incoming"),
                                   on_complete=self.intake.pickup)
            self.watcher.start()
            log.info("watching %s by %s", self.spool.dir("incoming"), self.watcher.mode)
            # validating the first request reads a run catalogue with astropy, ~1 s to import:
            # a long-lived daemon pays it now, beside the loop, not in the middle of a burst
            threading.Thread(target=import_run_catalog_reader, name="warm-up", daemon=True).start()

    def stop(self) -> None:
        """Stop watching, release the executor and the lock (tasks keep running)."""
        if self.watcher is not None:
            self.watcher.stop()
        if self._executor is not None:
            self._executor.close()
        self.status_page.changed()
        self.status_page.loop(force=True)
        self.lock.release()
        self.wake.close()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: stop after this turn; SIGHUP: rescan now (:mod:`spoold.daemon.signals`)."""
        install_signal_handlers(self)

    def run(self) -> int:
        """Serve the spool until stopped (or, with ``once``, until drained). Returns 0."""
        self.start()
        try:
            failures = 0
            while not self.stop_requested:
                try:
                    self.turn()
                    failures = 0
                except (RuntimeError, SpoolWideError):
                    raise  # the watcher gave up, or the spool itself is unusable: let the supervisor restart us
                except OSError:
                    # the spool's own folders failed (a full disk, an unreachable network filesystem):
                    # each request's trouble is handled by the guard, so this is spool-wide
                    failures += 1
                    log.exception("a turn failed (%d in a row); trying again", failures)
                    if failures >= 20:
                        raise SpoolWideError(
                            f"20 turns in a row failed on the spool {self.spool.root} itself; see the log above."
                        ) from None
                    time.sleep(min(30.0, 0.5 * 2 ** failures))
                    continue
                if self.once and self.drained():
                    break
                self.sleep()
        finally:
            self.stop()
        return 0

    def sleep(self) -> None:
        """Wait for a hint, a signal or the timer."""
        limits = self.site.limits
        if self._busy:
            poll = LOCAL_POLL_SECONDS if self.executor.name == "local" else float(self.site.slurm.poll_seconds)
            timeout = min(poll, float(limits.reconcile_seconds))
        else:
            timeout = float(limits.reconcile_seconds)
        if self.once:
            timeout = min(timeout, LOCAL_POLL_SECONDS)
        if self.spool.incoming_names():
            timeout = min(timeout, float(limits.settle_seconds) / 2 or 0.05)
        self.wake.wait(timeout)
        self.wake.clear()

    def drained(self) -> bool:
        """True when nothing can move without new input: all terminal, held or waiting."""
        if self.spool.incoming_names() or self.spool.mailin_names() or self.spool.list(Folder.INTAKE):
            return False
        if any(not self.guard.left_alone(f.name) for f in self.spool.list(Folder.PENDING)):
            return False
        if self.spool.controls():
            return False
        for folder in self.spool.list(Folder.RUNNING):
            if self.guard.left_alone(folder.name):
                continue
            state = st.load(folder) or {}
            if state.get("state") != RequestState.WAITING or settling(
                    state, float(self.site.limits.data_settle_seconds), time.monotonic() - self._started):
                return False
        return True

    # -- one turn --------------------------------------------------------------------------
    def turn(self) -> None:
        """Do one round of work (see the module's description)."""
        self.lock.heartbeat()
        if self.watcher is not None:
            self.watcher.check()
        self.standing.loop()
        self.intake.intake()
        self.controls.apply_controls()
        self.schedule()
        self.advance_all()
        self.alerts.loop()
        self._busy and self.status_page.changed()  # tasks change between the transitions it is told of
        self.status_page.loop()
        if self.journal.notifier is not None:
            try:
                self.journal.notifier.flush(self.spool.root)
            except Exception:  # noqa: BLE001
                log.exception("the notifier's flush failed")

    # -- scheduling and advancing -----------------------------------------------------------------
    def schedule(self) -> None:
        """Move pending requests to running while there is room."""
        limit = int(self.site.limits.max_requests_in_flight)
        active = 0
        for folder in self.spool.list(Folder.RUNNING):
            if not self.guard.left_alone(folder.name) and (st.load(folder) or {}).get("state") != RequestState.WAITING:
                active += 1
        for folder in self.spool.list(Folder.PENDING):
            if active >= limit:
                break
            if self.guard.guarded(folder, Folder.PENDING, self._start_one, folder):
                active += 1

    def _start_one(self, folder: Path) -> bool:
        state = self.guard.state_or_aside(folder, Folder.PENDING)
        if state is None:
            return False
        self.transition(folder, state, RequestState.RUNNING, sync_dir=False)
        return True

    def request_of(self, folder: Path, state: dict) -> Any:
        """The parsed request of a folder (cached; parsed again after a restart)."""
        request = self._requests.get(folder.name)
        if request is None:
            raw = (folder / "request.yaml").read_bytes()
            when = _dt.datetime.fromtimestamp(float(state.get("claimed_at") or time.time()), _dt.timezone.utc)
            request = parse_request(raw, site=self.site, now=when)
            self._requests[folder.name] = request
        return request

    def advance_all(self) -> None:
        """Poll the executor once for every running request and advance each, one failure apart from the others."""
        contexts = []
        now = time.time()
        seen = set()
        for folder in self.spool.list(Folder.RUNNING):
            seen.add(folder.name)
            ctx = self.guard.guarded(folder, Folder.RUNNING, self._context, folder, now)
            if ctx is not None:
                contexts.append(ctx)
        self.guard.forget_vanished(seen)
        handles, keys = [], []
        for ctx in contexts:
            for name, rec in self.runner.in_flight(ctx.state):
                if rec.get("status") == StepStatus.SUBMITTED and rec.get("handle"):
                    handles.append(rec["handle"])
                    keys.append((ctx.folder.name, name))
        answers: dict[tuple[str, str], StepPoll] = {}
        if handles:
            try:
                polled = self.executor.poll(handles)
            except Exception:  # noqa: BLE001 - a scheduler outage: try again next turn
                log.exception("asking the %s executor about %d step(s) failed; trying again", self.executor.name,
                              len(handles))
                polled = []
            for key, answer in zip(keys, polled):
                answers[key] = answer
        by_request: dict[str, dict[str, StepPoll]] = {}
        for (rid, step), answer in answers.items():
            by_request.setdefault(rid, {})[step] = answer
        busy = False
        for ctx in contexts:
            outcome = self.guard.guarded(ctx.folder, Folder.RUNNING, self._advance_one, ctx, by_request.get(ctx.folder.name, {}))
            busy = busy or outcome == Outcome.RUNNING
        self._busy = busy

    def _context(self, folder: Path, now: float) -> Context | None:
        """The context of one running request, or None when it is left alone this turn."""
        state = self.guard.state_or_aside(folder, Folder.RUNNING)
        if state is None:
            return None
        self.guard.remember_handles(folder.name, state)
        reconcile = float(self.site.limits.reconcile_seconds)
        if state.get("state") == RequestState.WAITING and now - self._waiting_checked.get(folder.name, 0) < reconcile:
            return None
        self._waiting_checked[folder.name] = now
        try:
            request = self.request_of(folder, state)
        except Exception as error:  # noqa: BLE001 - a request that no longer parses fails with reasons
            reasons = error.errors if isinstance(error, RequestRejected) else [str(error)]
            ctx = Context(self.site, None, folder, state, folder)
            self.runner.fail(ctx, state.get("step") or "resolve", "The request is no longer valid: " + " ".join(reasons))
            self.forget(folder.name)
            return None
        try:
            target = self.products.destination(folder, state, request)
        except ValueError as error:
            target, problem = None, f"The products cannot be put anywhere: {error}."
        else:
            problem = None
        products = folder
        if target is not None:
            products = folder / "products"
            state["products"] = str(target[0])
            if not products.is_dir():  # checked once, before any work; again when they are moved there
                problem = self.products.destination_problem(*target)
        site = self.site.for_lstchain(request.lstchain)  # offered: the request parsed just now
        if problem:
            self.runner.fail(Context(site, request, folder, state, folder), "publish", problem)
            self.forget(folder.name)
            return None
        products.mkdir(exist_ok=True)
        return Context(site, request, folder, state, products)

    def _advance_one(self, ctx: Context, polls: dict[str, StepPoll]) -> Outcome:
        try:
            outcome = self.runner.advance(ctx, polls)
        except OSError:
            self.guard.remember_handles(ctx.folder.name, ctx.state)  # what it just handed out can be cancelled
            raise  # the guard decides: the request's folder, its disk, or the spool
        except Exception as error:  # noqa: BLE001 - a bug in one request's handling fails that request
            log.error("advancing %s failed:\n%s", ctx.folder.name, traceback.format_exc())
            outcome = self.runner.fail(ctx, ctx.state.get("step") or "resolve",
                                       f"spoold hit an internal error ({type(error).__name__}: {error}).")
        if outcome == Outcome.DONE:
            outcome = self.products.done(ctx)
        if outcome in (Outcome.DONE, Outcome.FAILED):
            self.forget(ctx.folder.name)  # its transition moved it to done/ or failed/
        elif outcome == Outcome.HOLD:
            self.controls.apply(ctx.folder.name, Action.HOLD)
        else:  # tasks handed out this turn are known before the next turn lists running/
            self.guard.remember_handles(ctx.folder.name, ctx.state)
        return outcome

