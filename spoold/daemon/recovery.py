"""spoold's recovery at start: finish what a crashed daemon left half-done (Postfix's rule).

:class:`Recovery` is one of the daemon's parts: it needs the spool, the guard
(:class:`Guarding`) and intake's ``accept``. Everything left in ``intake`` is validated again; a folder whose
``state.json`` already says where it belongs is moved there; a damaged one is put
aside, one by one, so one bad folder never stops the start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from spoold import events
from spoold import state as st
from spoold.files import rename_noreplace
from spoold.spool import LEGACY_CLAIM_RECORDS, Claimed, Spool, new_request_id
from spoold.states import Folder, belongs_in

log = logging.getLogger("spoold")


class Guarding(Protocol):
    """What recovery needs from the guard (:class:`spoold.daemon.guard.Guard`)."""

    def guarded(self, folder: Path, where: str, work: Callable[..., Any], *args: Any) -> Any:
        """Run ``work(*args)`` for one request; on any failure decide for it alone."""

    def state_or_aside(self, folder: Path, where: str) -> dict | None:
        """The request's state, or None when it was put aside or is left alone."""


class Recovery:
    """Recovery at start.

    Parameters
    ----------
    spool : Spool
    guard : Guarding
    accept : callable
        Validates a claimed request (:meth:`spoold.daemon.intake.Intake.accept`).
    """

    def __init__(self, spool: Spool, guard: Guarding, accept: Callable[[Claimed], None]) -> None:
        self.spool = spool
        self.guard = guard
        self.accept = accept

    def recover(self) -> None:
        """Finish what a crashed daemon left half-done; put damaged requests aside, one by one."""
        for folder in self.spool.list(Folder.INTAKE):
            self.guard.guarded(folder, Folder.INTAKE, self._recover_intake, folder)
        for where in (Folder.PENDING, Folder.RUNNING, Folder.HOLD):
            for folder in self.spool.list(where):
                self.guard.guarded(folder, where, self._recover_one, folder, where)
        removed = self.spool.sweep_tmp()
        if removed:
            log.info("removed %d half-written file(s) older than 36 h from tmp/", removed)

    def _recover_intake(self, folder: Path) -> None:
        if not (folder / "request.yaml").exists() and not (folder / "request.yaml").is_symlink():
            try:
                for record in (events.EVENTS_FILE, st.STATE_FILE, *LEGACY_CLAIM_RECORDS):  # the claim's record
                    (folder / record).unlink(missing_ok=True)
                folder.rmdir()  # a claim that never happened
            except OSError:
                log.warning("intake/%s has no request.yaml and is not empty: left alone", folder.name)
            return
        if self.spool.elsewhere(folder.name, Folder.INTAKE):
            # a request of this id is in another state folder too (left by an older spoold): the
            # claim gets an id of its own; nothing replaces the other
            fresh = new_request_id("-".join(folder.name.split("-")[2:-1]))
            log.warning("intake/%s: a request of that id exists already; this claim becomes %s", folder.name, fresh)
            rename_noreplace(folder, folder.with_name(fresh))
            folder = folder.with_name(fresh)
            state = st.load(folder)
            if state is not None:
                state["id"] = fresh
                st.save(folder, state)
        state = st.load(folder) or {}
        target = belongs_in(Folder.INTAKE, state)  # accepted or rejected before the crash: only the move is left
        if target is not None:
            self.spool.move(folder.name, Folder.INTAKE, target)
        else:
            claim = events.claim_of(folder)  # the claim's record; older spoolds began state.json instead
            claimed_at = state.get("claimed_at") or (claim[1] if claim else folder.stat().st_mtime)
            uid = (folder / "request.yaml").lstat().st_uid
            name = state.get("incoming_name") or (claim[0] if claim else _legacy_incoming_name(folder))
            # a claim from mailin is the bridge's folder renamed whole, without a claim record
            via = "email" if name is None and (folder / "origin.json").is_file() else "file"
            self.accept(Claimed(folder.name, folder, name or "request.yaml", uid, claimed_at, via=via,
                                recovered=True))

    def _recover_one(self, folder: Path, where: str) -> None:
        state = self.guard.state_or_aside(folder, where)
        if state is None:
            return
        for leftover in folder.glob(".*.tmp"):  # a write_atomic cut short by the crash
            leftover.unlink(missing_ok=True)
        target = belongs_in(where, state)  # a transition cut short after its state.json: the move is left
        if target is not None:
            self.spool.move(folder.name, where, target)


def _legacy_incoming_name(folder: Path) -> str | None:
    """The name an older spoold's claim recorded in ``incoming-name``, or None."""
    try:
        return (folder / LEGACY_CLAIM_RECORDS[0]).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
