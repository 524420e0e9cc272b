"""spoold's intake: settled files in ``incoming`` claimed and validated into pending or rejected.

:class:`Intake` is one of the daemon's parts; what it needs from the daemon is
:class:`IntakeServices`. Postfix's pickup and cleanup: a claim is one
rename; validation writes ``state.json`` (or ``errors.txt``) and moves the folder.
Large bursts are flushed once (group commit) instead of file by file.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import queue
import time
import traceback
from pathlib import Path
from typing import Any, Protocol

from spoold import state as st
from spoold.events import Event
from spoold.files import fsync_dir, sync_filesystem, write_in_place
from spoold.request import RequestRejected, parse_request, read_request_file
from spoold.spool import IGNORED_SUFFIXES, Claimed, Spool
from spoold.states import Folder, Line, RequestState
from spoold.wakeup import Wakeup
from spoold.watch import Watcher

log = logging.getLogger("spoold")

#: at most this many files are taken from incoming per turn (the rest next turn)
INTAKE_BATCH = 2000
#: batches larger than this are flushed once (group commit) instead of file by file
GROUP_COMMIT_MIN = 8
#: a file inotify saw being written but never closed is taken after this long without a change
#: (a close event lost in an inotify queue overflow must not keep it forever)
WRITER_GRACE_SECONDS = 300.0
#: what a request dropped as an origin file is told
ORIGIN_SENTENCE = (
    "{name} looks like a mail bridge's origin file. The submitter of a file dropped into incoming is "
    "its owner, never what a file beside it says, so it is not used; the mail bridge writes its "
    "requests into mailin/, where only the service account can write."
)


@functools.lru_cache(maxsize=256)
def user_name(uid: int | None) -> str | None:
    """Return the login name of a uid (or the number as text), None for None (cached: a burst has few owners)."""
    if uid is None:
        return None
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


class IntakeServices(Protocol):
    """What intake needs from the daemon."""

    site: Any
    spool: Spool
    wake: Wakeup
    watcher: Watcher | None
    stop_requested: bool

    def transition(self, folder: Path, state: dict, to: RequestState, *lines: Line, **options: Any) -> Path:
        """Change a request's state (:func:`spoold.states.transition`)."""

    def remember_request(self, request_id: str, request: Any) -> None:
        """Keep the parsed request of an accepted request (so it is not parsed again)."""


class Intake:
    """Claiming and validating new requests.

    Parameters
    ----------
    services : IntakeServices
        The daemon (site, spool, wake, watcher, stop flag, transition, request memory).
    """

    def __init__(self, services: IntakeServices) -> None:
        self.services = services
        self.spool = services.spool
        self._picked: queue.Queue[Claimed] = queue.Queue()  # claimed by the watcher thread
        self._intaking = False  # the main loop is in intake: the watcher thread leaves claims to it

    def pickup(self, name: str) -> None:
        """Claim a file inotify saw complete, at once (in the watcher's thread; only a rename).

        Postfix's pickup: taking the file out of incoming is all it does; the main
        loop validates it on its next turn (or, after a crash, :meth:`spoold.daemon.recovery.Recovery.recover`).
        """
        if self.services.stop_requested or self._intaking or name.endswith(IGNORED_SUFFIXES):
            return  # while the main loop takes a burst it is the only claimer (its wake is set)
        claimed = self.spool.claim(name, durable=False)
        if claimed is not None:
            self._picked.put(claimed)
            self.services.wake.set()

    def intake(self) -> int:
        """Claim and validate the settled files in incoming; return how many were taken."""
        self._intaking = True
        try:
            return self._intake()
        finally:
            self._intaking = False

    def _intake(self) -> int:
        settle = float(self.services.site.limits.settle_seconds)
        now = time.time()
        watcher = self.services.watcher
        batch: list[Claimed] = []
        while True:  # what the watcher thread took; while a burst is coming in, gather it
            try:
                batch.append(self._picked.get_nowait())
                continue
            except queue.Empty:
                pass
            if len(batch) < 2 or len(batch) >= INTAKE_BATCH:
                break
            time.sleep(0.005)
            if self._picked.empty():
                break
        for name in self.spool.mailin_names()[:INTAKE_BATCH]:
            try:
                claimed = self.spool.claim_mail(name, durable=False)
            except ValueError as error:
                log.error("%s", error)
                continue
            if claimed is not None:
                batch.append(claimed)
        for name in self.spool.incoming_names()[:INTAKE_BATCH]:
            ready = watcher is not None and watcher.complete(name)  # (the watcher thread claims none now)
            if not ready and not self.spool.settled(name, settle, now=now):
                continue
            if not ready and watcher is not None and watcher.writing(name) \
                    and not self.spool.settled(name, WRITER_GRACE_SECONDS, now=now):
                continue  # inotify saw it written and not yet closed: its writer is still at it
            if watcher is not None:
                watcher.forget(name)
            claimed = self.spool.claim(name, durable=False)
            if claimed is not None:
                batch.append(claimed)
        if len(batch) <= GROUP_COMMIT_MIN:
            for claimed in batch:  # a few: fsync each (syncfs would also flush others' writes)
                fsync_dir(self.spool.dir("incoming"))
                self.accept(claimed)
            return len(batch)
        # group commit: claims, then every request's files, then the moves, each flushed once
        fsync_dir(self.spool.dir("incoming"))
        moves: list[tuple[str, str]] = []
        for claimed in batch:
            self.accept(claimed, moves=moves)
        sync_filesystem(self.spool.root)
        for request_id, target in moves:
            self.spool.move(request_id, Folder.INTAKE, target, durable=False)
        for target in {t for _, t in moves}:
            fsync_dir(self.spool.dir(target))
        return len(batch)

    def accept(self, claimed: Claimed, *, moves: list[tuple[str, str]] | None = None) -> None:
        """Validate a claimed request: to pending with state.json, or to rejected with errors.txt.

        With ``moves`` (a batch), files are written without fsync and the move is
        left to the caller, which flushes the batch first; else all is done here.
        """
        folder = claimed.folder
        # a claim found again at start may carry an older spoold's record in state.json; a new one has none
        state = st.new_state(claimed.request_id, **((st.load(folder) or {}) if claimed.recovered else {}))
        state["claimed_at"] = state.get("claimed_at") or claimed.claimed_at
        state["incoming_name"] = state.get("incoming_name") or claimed.name
        state["submitter"] = state.get("submitter") or user_name(claimed.owner_uid)
        if claimed.via == "email":
            state["origin"] = "email"
            try:
                import json

                sender = json.loads((folder / "origin.json").read_text(encoding="utf-8")).get("from")
                if sender:
                    state["submitter"] = str(sender)
            except (OSError, ValueError, AttributeError):
                pass
        when = _dt.datetime.fromtimestamp(state["claimed_at"], _dt.timezone.utc)
        if claimed.via == "file":  # spoold -v: the claim's journal line (written by the claim)
            log.info("%s claimed: %s", claimed.request_id, claimed.name)
        if claimed.name.endswith(".origin.json"):
            self._reject(folder, state, [ORIGIN_SENTENCE.format(name=claimed.name)], moves)
            return
        try:
            raw = read_request_file(folder / "request.yaml", max_bytes=int(self.services.site.limits.max_request_bytes))
            request = parse_request(raw, site=self.services.site, now=when)
        except RequestRejected as rejected:
            self._reject(folder, state, rejected.errors, moves)
            return
        except Exception as error:  # noqa: BLE001 - a bug must not stop intake; keep the input aside
            log.error("validating %s failed:\n%s", claimed.request_id, traceback.format_exc())
            self._reject(folder, state, [
                f"spoold could not read this request ({type(error).__name__}); it is kept in rejected/ "
                "and the administrator can see the details in the daemon's log."], moves)
            return
        durable = moves is None
        if request.standing_order:
            state["origin"] = "standing order"
            state["standing_order"] = request.standing_order
        if request.live:
            state["live"] = True
        self.services.remember_request(claimed.request_id, request)
        state["request"] = _summary(request)
        self.services.transition(folder, state, RequestState.PENDING,
                                 Line(Event.ACCEPTED, None, f"{request.source_name}, products {', '.join(request.products)}"),
                                 moves=moves, durable=durable, sync_dir=False, in_place=True, accepted=st.now_iso())

    def _reject(self, folder: Path, state: dict, errors: list[str],
                moves: list[tuple[str, str]] | None = None) -> None:
        durable = moves is None
        name = state.get("incoming_name") or "request.yaml"
        errors = [name + e[len("request.yaml"):] if e.startswith("request.yaml ") else e for e in errors]
        write_in_place(folder / "errors.txt", "".join(f"{e}\n" for e in errors), durable=durable)
        self.services.transition(folder, state, RequestState.REJECTED,
                                 Line(Event.REJECTED, None, "; ".join(errors)[:2000]),
                                 moves=moves, durable=durable, sync_dir=False, in_place=True,
                                 error=errors[0] if errors else RequestState.REJECTED.value)


def _summary(request: Any) -> dict[str, Any]:
    """The request's values as state.json shows them."""
    return {
        "source": request.source_name,
        "ra_deg": request.ra_deg,
        "dec_deg": request.dec_deg,
        "night": request.night.isoformat() if request.night else None,
        "nights": [night.isoformat() for night in request.nights],
        "runs": list(request.runs) if request.runs else None,
        "start_from": request.start_from,
        "cuts": request.cuts.as_dict(),
        "irf_set": request.irf_set_name,
        "irf": request.irf,
        "lstchain": request.lstchain,
        "products": list(request.products),
        "notify": list(request.notify),
    }
