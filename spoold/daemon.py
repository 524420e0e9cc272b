"""The spoold main loop: intake, actions, scheduling, advancing, sleeping.

One turn of the loop (:meth:`Daemon.turn`):

1. take settled files out of ``incoming`` (claim by rename) and validate them
   into ``pending/`` or ``rejected/``;
2. apply the ``spool`` command's actions left in ``control/`` (cancel, hold,
   release, retry);
3. move ``pending`` requests to ``running`` while fewer than
   ``site.limits.max_requests_in_flight`` are being worked on;
4. ask the executor, in ONE call, how every submitted task is doing, and
   advance each running request (:class:`spoold.pipeline.runner.Runner`);
5. let the mail notifier send what is queued.

Then it sleeps until the watcher's hint, a timer or a signal. Signal handlers
only set flags. At start it takes the spool's lock and recovers what an
earlier daemon left half-done (Postfix: everything in ``intake`` is validated
again; a folder whose state.json already says where it belongs is moved there).

Intake lives in :mod:`spoold.daemon_intake` and the spool command's actions in
:mod:`spoold.daemon_controls`; this module keeps the loop, recovery, scheduling
and advancing.
"""

from __future__ import annotations

import datetime as _dt
import logging
import queue
import signal
import time
import traceback
from pathlib import Path
from typing import Any

from spoold import events, state as st
from spoold.daemon_controls import ControlsMixin
from spoold.daemon_intake import IntakeMixin
from spoold.executors import make_executor
from spoold.executors.base import Executor, StepPoll
from spoold.lock import SpoolLock
from spoold.pipeline.base import Context, Step
from spoold.pipeline.runner import Runner
from spoold.pipeline.steps import default_steps
from spoold.request import RequestRejected, parse_request
from spoold.spool import Claimed, Spool, write_atomic, write_json
from spoold.wakeup import Wakeup
from spoold.watch import Watcher

log = logging.getLogger("spoold")

#: the folder a request's state belongs in
FOLDER_OF = {"pending": "pending", "running": "running", "waiting": "running", "held": "hold",
             "done": "done", "failed": "failed", "rejected": "rejected", "cancelled": "cancelled"}
#: seconds between polls of the local executor while tasks run
LOCAL_POLL_SECONDS = 0.25


class Daemon(IntakeMixin, ControlsMixin):
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
        self.poll_mode = poll
        self.wake = Wakeup()
        self.stop_requested = False
        self.lock = SpoolLock(self.spool.root)
        self.notifier = None
        self.watcher: Watcher | None = None
        self._requests: dict[str, Any] = {}  # parsed requests by id
        self._waiting_checked: dict[str, float] = {}
        self._busy = False  # tasks in flight: poll often
        self._picked: queue.Queue[Claimed] = queue.Queue()  # claimed by the watcher thread

    # -- services for the runner ------------------------------------------------------
    @property
    def executor(self) -> Executor:
        """The executor (made on first use)."""
        if self._executor is None:
            self._executor = make_executor(self.site)
        return self._executor

    def emit(self, folder: Path, state: dict, event: str, *, step: str | None = None, detail: str = "",
             durable: bool = True) -> None:
        """Journal an event (at most once per event, step and attempt) and tell the notifier."""
        record = events.make(event, step=step, detail=detail, attempt=int(state.get("attempt", 1)))
        if not events.append_once(folder, record, durable=durable):
            return
        events.log(folder, f"{event}{' ' + step if step else ''}{': ' + detail if detail else ''}")
        if self.notifier is not None:
            try:
                self.notifier.event(folder, record)
            except Exception:  # noqa: BLE001 - the notifier must never stop the daemon
                log.exception("the notifier failed on %s", folder.name)

    # -- start and stop -------------------------------------------------------------------
    def start(self) -> None:
        """Take the lock (raises SpoolLocked), create the folders, recover, start watching."""
        self.spool.init(
            group_writable=bool(getattr(getattr(self.site, "shared_account", None), "enabled", False)),
            group=getattr(getattr(self.site, "shared_account", None), "group", None),
        )
        self.lock.acquire(wait_for_commands=30.0)
        self.recover()
        if getattr(self.site, "mail", None) is not None:
            try:
                from spoold.mail.notifier import Notifier

                self.notifier = Notifier(self.site)
            except Exception:  # noqa: BLE001 - mail is optional; say so and go on
                log.exception("mail notifications are off: the notifier could not start")
        if not self.once:
            self.watcher = Watcher([self.spool.dir("incoming"), self.spool.dir("control")], self.wake,
                                   poll=self.poll_mode, incoming=self.spool.dir("incoming"),
                                   on_complete=self._pickup)
            self.watcher.start()
            log.info("watching %s by %s", self.spool.dir("incoming"), self.watcher.mode)

    def stop(self) -> None:
        """Stop watching, release the executor and the lock (tasks keep running)."""
        if self.watcher is not None:
            self.watcher.stop()
        if self._executor is not None:
            self._executor.close()
        self.lock.release()
        self.wake.close()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: stop after this turn; SIGHUP: rescan now. Handlers only set flags."""

        def stop(signum: int, _frame: object) -> None:
            self.stop_requested = True
            self.wake.set()

        def rescan(signum: int, _frame: object) -> None:
            self.wake.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, rescan)

    def run(self) -> int:
        """Serve the spool until stopped (or, with ``once``, until drained). Returns 0."""
        self.start()
        try:
            failures = 0
            while not self.stop_requested:
                try:
                    self.turn()
                    failures = 0
                except RuntimeError:
                    raise  # the watcher gave up: let the supervisor restart us
                except OSError:
                    # e.g. a full disk or an unreachable network filesystem: say so, back off, go on
                    failures += 1
                    log.exception("a turn failed (%d in a row); trying again", failures)
                    if failures >= 20:
                        raise
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
        if self.spool.incoming_names() or self.spool.list("intake") or self.spool.list("pending"):
            return False
        if self.spool.controls():
            return False
        for folder in self.spool.list("running"):
            state = st.load(folder) or {}
            if state.get("state") != "waiting":
                return False
        return True

    # -- one turn --------------------------------------------------------------------------
    def turn(self) -> None:
        """Do one round of work (see the module's description)."""
        self.lock.heartbeat()
        if self.watcher is not None:
            self.watcher.check()
        self.intake()
        self.apply_controls()
        self.schedule()
        self.advance_all()
        if self.notifier is not None:
            try:
                self.notifier.flush(self.spool.root)
            except Exception:  # noqa: BLE001
                log.exception("the notifier's flush failed")

    # -- recovery at start --------------------------------------------------------------------
    def recover(self) -> None:
        """Finish what a crashed daemon left half-done."""
        for folder in self.spool.list("intake"):
            if not (folder / "request.yaml").exists() and not (folder / "request.yaml").is_symlink():
                try:
                    (folder / "incoming-name").unlink(missing_ok=True)
                    folder.rmdir()  # a claim that never happened
                except OSError:
                    log.warning("intake/%s has no request.yaml and is not empty: left alone", folder.name)
                continue
            state = st.load(folder) or {}
            target = FOLDER_OF.get(state.get("state", ""))
            if state.get("accepted") and target == "pending":
                self.spool.move(folder.name, "intake", "pending")
            elif target == "rejected":
                self.spool.move(folder.name, "intake", "rejected")
            else:
                claimed_at = state.get("claimed_at") or folder.stat().st_mtime
                uid = (folder / "request.yaml").lstat().st_uid
                try:
                    name = (folder / "incoming-name").read_text(encoding="utf-8", errors="surrogateescape")
                except OSError:
                    name = "request.yaml"
                self.accept(Claimed(folder.name, folder, state.get("incoming_name") or name, uid, claimed_at))
        for where in ("pending", "running", "hold"):
            for folder in self.spool.list(where):
                for leftover in folder.glob(".*.tmp"):  # a write_atomic cut short by the crash
                    leftover.unlink(missing_ok=True)
                state = st.load(folder)
                if state is None:
                    continue
                target = FOLDER_OF.get(state.get("state", ""), where)
                if target != where and not (where == "running" and state.get("state") == "pending"):
                    self.spool.move(folder.name, where, target)
        removed = self.spool.sweep_tmp()
        if removed:
            log.info("removed %d half-written file(s) older than 36 h from tmp/", removed)

    # -- scheduling and advancing -----------------------------------------------------------------
    def schedule(self) -> None:
        """Move pending requests to running while there is room."""
        limit = int(self.site.limits.max_requests_in_flight)
        active = 0
        for folder in self.spool.list("running"):
            if (st.load(folder) or {}).get("state") != "waiting":
                active += 1
        for folder in self.spool.list("pending"):
            if active >= limit:
                break
            state = st.load(folder) or st.new_state(folder.name)
            state["state"] = "running"
            st.save(folder, state, sync_dir=False)
            self.spool.move(folder.name, "pending", "running")
            active += 1

    def request_of(self, folder: Path, state: dict) -> Any:
        """The parsed request of a folder (cached; parsed again after a restart)."""
        request = self._requests.get(folder.name)
        if request is None:
            raw = (folder / "request.yaml").read_bytes()
            when = _dt.datetime.fromtimestamp(float(state.get("claimed_at") or time.time()), _dt.timezone.utc)
            request = parse_request(raw, site=self.site, now=when)
            self._requests[folder.name] = request
        return request

    def products_dir(self, folder: Path, state: dict, request: Any) -> Path:
        """Where a request's products go: its own output, the site's output root, or its folder."""
        if getattr(request, "output", None):
            return Path(request.output)
        root = getattr(self.site, "output_root", None)
        if root is None:
            return folder
        shared = getattr(self.site, "shared_account", None)
        if shared is not None and getattr(shared, "products_per_user", False) and state.get("submitter"):
            return Path(root) / str(state["submitter"]).replace("/", "_") / folder.name
        return Path(root) / folder.name

    def advance_all(self) -> None:
        """Poll the executor once for every running request and advance each."""
        contexts = []
        now = time.time()
        reconcile = float(self.site.limits.reconcile_seconds)
        for folder in self.spool.list("running"):
            state = st.load(folder)
            if state is None:
                continue
            if state.get("state") == "waiting" and now - self._waiting_checked.get(folder.name, 0) < reconcile:
                continue
            self._waiting_checked[folder.name] = now
            try:
                request = self.request_of(folder, state)
            except Exception as error:  # noqa: BLE001 - a request that no longer parses fails with reasons
                reasons = error.errors if isinstance(error, RequestRejected) else [str(error)]
                ctx = Context(self.site, None, folder, state, folder)
                self.runner.fail(ctx, state.get("step") or "resolve",
                                 "The request is no longer valid: " + " ".join(reasons))
                self._finish(folder, state)
                continue
            products = self.products_dir(folder, state, request)
            if products != folder:
                state["products"] = str(products)
            products.mkdir(parents=True, exist_ok=True)
            contexts.append(Context(self.site, request, folder, state, products))
        handles, keys = [], []
        for ctx in contexts:
            for name, rec in self.runner.in_flight(ctx.state):
                if rec.get("status") == "submitted" and rec.get("handle"):
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
            polls = by_request.get(ctx.folder.name, {})
            try:
                outcome = self.runner.advance(ctx, polls)
            except Exception as error:  # noqa: BLE001 - one broken request must not stop the others
                log.error("advancing %s failed:\n%s", ctx.folder.name, traceback.format_exc())
                outcome = self.runner.fail(ctx, ctx.state.get("step") or "resolve",
                                           f"spoold hit an internal error ({type(error).__name__}: {error}).")
            if outcome in ("done", "failed"):
                if outcome == "done":
                    self._done(ctx)
                self._finish(ctx.folder, ctx.state)
            elif outcome == "hold":
                self.apply(ctx.folder.name, "hold")
            elif outcome == "running":
                busy = True
        self._busy = busy

    def _done(self, ctx: Context) -> None:
        state = ctx.state
        summary = ctx.folder / "summary.json"
        final = self.spool.dir("done") / ctx.folder.name
        if ctx.products == ctx.folder and summary.is_file():
            # the report wrote paths inside running/<id>/: say where they will be
            text = summary.read_text(encoding="utf-8")
            if str(ctx.folder) in text:
                write_atomic(summary, text.replace(str(ctx.folder), str(final)))
        if ctx.products != ctx.folder or not summary.exists():
            import json

            data: dict[str, Any] = {}
            try:
                data = json.loads((ctx.products / "summary.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {"request": state.get("id"), "source": state.get("request", {}).get("source"),
                        "runs": state.get("runs")}
            if ctx.products != ctx.folder:
                data["products_dir"] = str(ctx.products)
            write_json(summary, data)
        state["state"], state["finished"] = "done", st.now_iso()
        results = final if ctx.products == ctx.folder else ctx.products
        self.emit(ctx.folder, state, "done", step=state.get("step"), detail=f"results in {results}")
        st.save(ctx.folder, state)

    def _finish(self, folder: Path, state: dict) -> None:
        """Move a finished request to done/ or failed/."""
        self._requests.pop(folder.name, None)
        self._waiting_checked.pop(folder.name, None)
        target = FOLDER_OF[state["state"]]
        self.spool.move(folder.name, "running", target)
