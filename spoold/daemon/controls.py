"""The ``spool`` command's actions: cancel, hold, release, retry.

:class:`Controls` applies them, for the daemon (which reads them from
``control/`` on every turn) and for the ``spool`` command itself when no daemon
serves the spool (it holds the spool's lock meanwhile). The ``spool`` command leaves one file per action in
``control/`` named ``<id>.<action>``; the daemon, the only owner of the request
folders, applies it and answers in ``control/.<id>.<action>.done`` with
``{"ok": true|false, "message": "..."}`` (``ok`` is false when the action was
refused: a retry of a done request, a release of one that is not held ...).
A control file whose name is not ``<id>.<action>`` with a valid request id is
never used to build a path: it is moved into ``control/.set-aside/`` and logged.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spoold import state as st
from spoold.daemon.journal import Changes
from spoold.events import Event
from spoold.executors.base import Executor, TaskState
from spoold.files import write_json
from spoold.pipeline.runner import in_flight
from spoold.spool import ID_RE, Spool
from spoold.states import ACTS_ON, Action, Folder, Line, RequestState, StepStatus

log = logging.getLogger("spoold")

#: where control files that name no valid request id are kept (a dot folder: never read as an action)
SET_ASIDE = ".set-aside"


@dataclass(frozen=True)
class ActionAnswer:
    """What an action did: ``ok`` is False when it was refused; ``message`` is a sentence."""

    ok: bool
    message: str

    def __str__(self) -> str:
        return self.message


def said_state(folder: str) -> str:
    """The state a person reads for a state folder: ``hold`` is ``held``, the others their name."""
    return RequestState.HELD.value if folder == Folder.HOLD else folder


def _refused(message: str) -> ActionAnswer:
    return ActionAnswer(False, message)


class Controls:
    """The actions of the ``spool`` command, applied to the requests of one spool.

    Parameters
    ----------
    spool : Spool
    changes : Changes
        Journals and changes the requests' states (:class:`spoold.daemon.journal.Journal`).
    executor : callable
        Returns the executor whose tasks a cancel stops (called only when there are some).
    """

    def __init__(self, spool: Spool, changes: Changes, executor: Callable[[], Executor]) -> None:
        self.spool = spool
        self.changes = changes
        self.executor = executor

    def apply_controls(self) -> None:
        """Apply cancel, hold, release and retry left in control/ by the spool command."""
        for request_id, action, path in self.spool.controls():
            if not ID_RE.match(request_id):
                self._set_aside(path)
                continue
            if self.spool.find(request_id) is None and (self.spool.dir("incoming") / f"{request_id}.yaml").exists():
                continue  # not claimed yet: apply it once it is
            try:
                answer = self.apply(request_id, action)
            except Exception as error:  # noqa: BLE001
                log.error("%s %s failed:\n%s", action, request_id, traceback.format_exc())
                answer = _refused(f"{action} failed: {error}")
            try:
                write_json(self.spool.dir("control") / f".{request_id}.{action}.done",
                           {"ok": answer.ok, "message": answer.message})
                path.unlink()
            except OSError:
                pass

    def _set_aside(self, path: Path) -> None:
        """Move a control file that names no valid request id out of the way, and say so."""
        aside = path.parent / SET_ASIDE
        try:
            aside.mkdir(exist_ok=True)
            os.replace(path, aside / path.name)
        except OSError as error:
            log.warning("control file %r names no valid request id and cannot be set aside (%s); ignored",
                        path.name[:80], error.strerror)
            return
        log.warning("control file %r names no valid request id: set aside in %s, not applied",
                    path.name[:80], aside)

    def apply(self, request_id: str, action: str) -> ActionAnswer:
        """Apply one action now; return whether it was done and a sentence saying what happened.

        Which folders each action applies in is :data:`spoold.states.ACTS_ON`; the
        change of state itself is the daemon's ``transition``.
        """
        found = self.spool.find(request_id)
        if found is None:
            return _refused(f"There is no request {request_id} in this spool.")
        where, folder = found
        state = st.load(folder) or st.new_state(request_id)
        actions = {Action.CANCEL: self._cancel, Action.HOLD: self._hold, Action.RELEASE: self._release,
                   Action.RETRY: self._retry}
        if action not in actions:
            return _refused(f"Unknown action {action!r}: use cancel, hold, release or retry.")
        return actions[Action(action)](request_id, where, folder, state)

    def _cancel(self, request_id: str, where: str, folder: Path, state: dict) -> ActionAnswer:
        if where not in ACTS_ON[Action.CANCEL]:
            return _refused(f"{request_id} is {said_state(where)}: only pending, running or held requests "
                            "can be cancelled.")
        for _name, rec in in_flight(state):
            if rec.get("handle"):
                self.executor().cancel(rec["handle"])
            rec["status"] = StepStatus.CANCELLED
            for task in (rec.get("tasks") or {}).values():  # what they were last seen doing no longer holds
                if task.get("state") in (TaskState.QUEUED, TaskState.RUNNING):
                    task.update(state=TaskState.CANCELLED, detail="cancelled by spool cancel")
        self.changes.transition(folder, state, RequestState.CANCELLED,
                                Line(Event.CANCELLED, state.get("step"), "cancelled by spool cancel"))
        return ActionAnswer(True, f"{request_id} is cancelled.")

    def _hold(self, request_id: str, where: str, folder: Path, state: dict) -> ActionAnswer:
        if where in ACTS_ON[Action.HOLD] and not (where == Folder.RUNNING and in_flight(state)):
            self.changes.transition(folder, state, RequestState.HELD, Line(Event.HELD, None, f"held while {where}"),
                                    held_from=where, hold_requested=False)
            return ActionAnswer(True, f"{request_id} is held; 'spool release {request_id}' lets it go on.")
        if where == Folder.RUNNING:
            state["hold_requested"] = True
            st.save(folder, state)
            return ActionAnswer(True, f"{request_id} will be held when its running step ends.")
        if where == Folder.HOLD:
            return _refused(f"{request_id} is held already; 'spool release {request_id}' lets it go on.")
        return _refused(f"{request_id} is {said_state(where)}: only pending or running requests can be held.")

    def _release(self, request_id: str, where: str, folder: Path, state: dict) -> ActionAnswer:
        if where == Folder.RUNNING and state.get("hold_requested"):
            state["hold_requested"] = False
            st.save(folder, state)
            return ActionAnswer(True, f"{request_id} is no longer to be held.")
        if where not in ACTS_ON[Action.RELEASE]:
            return _refused(f"{request_id} is {said_state(where)}, not held: only held requests can be released.")
        back = state.get("held_from") or Folder.PENDING
        self.changes.transition(folder, state, RequestState.RUNNING if back == Folder.RUNNING else RequestState.PENDING,
                                Line(Event.RELEASED, None, f"back to {back}"), held_from=None)
        return ActionAnswer(True, f"{request_id} is released.")

    def _retry(self, request_id: str, where: str, folder: Path, state: dict) -> ActionAnswer:
        if where not in ACTS_ON[Action.RETRY]:
            return _refused(f"{request_id} is {said_state(where)}: only failed or cancelled requests "
                            "can be retried.")
        attempt = int(state.get("attempt", 1))
        state.setdefault("history", []).append({
            "attempt": attempt, "state": state.get("state"), "step": state.get("step"),
            "error": state.get("error"), "time": st.now_iso(),
            "steps": {k: v for k, v in (state.get("steps") or {}).items() if v.get("attempt") == attempt},
        })
        for old in ("error.txt",):
            if (folder / old).exists():
                os.replace(folder / old, folder / f"error.attempt{attempt}.txt")
        self.changes.transition(folder, state, RequestState.PENDING,
                                Line(Event.RETRIED, None, f"attempt {attempt + 1}"),
                                attempt=attempt + 1, error=None, waiting=None, hold_requested=False)
        return ActionAnswer(True, f"{request_id} is pending again (attempt {attempt + 1}).")
