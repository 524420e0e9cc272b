"""The ``spool`` command's actions, applied by the daemon: cancel, hold, release, retry.

Part of :class:`spoold.daemon.Daemon` (a mixin: it uses the daemon's spool, runner,
executor and emit). The ``spool`` command leaves one file per action in
``control/``; the daemon, the only owner of the request folders, applies it and
answers with a sentence in ``control/.<id>.<action>.done``.
"""

from __future__ import annotations

import logging
import os
import traceback

from spoold import state as st
from spoold.spool import write_json

log = logging.getLogger("spoold")


class ControlsMixin:
    """Actions from the spool command (mixed into :class:`spoold.daemon.Daemon`)."""

    # -- actions from the spool command ----------------------------------------------------------
    def apply_controls(self) -> None:
        """Apply cancel, hold, release and retry left in control/ by the spool command."""
        for request_id, action, path in self.spool.controls():
            if self.spool.find(request_id) is None and (self.spool.dir("incoming") / f"{request_id}.yaml").exists():
                continue  # not claimed yet: apply it once it is
            try:
                message = self.apply(request_id, action)
            except Exception as error:  # noqa: BLE001
                log.error("%s %s failed:\n%s", action, request_id, traceback.format_exc())
                message = f"{action} failed: {error}"
            try:
                write_json(self.spool.dir("control") / f".{request_id}.{action}.done", {"message": message})
                path.unlink()
            except OSError:
                pass

    def apply(self, request_id: str, action: str) -> str:
        """Apply one action now; return a sentence saying what happened."""
        found = self.spool.find(request_id)
        if found is None:
            return f"There is no request {request_id} in this spool."
        where, folder = found
        state = st.load(folder) or st.new_state(request_id)
        if action == "cancel":
            if where not in ("pending", "running", "hold"):
                return f"{request_id} is {where}: only pending, running or held requests can be cancelled."
            for _name, rec in self.runner.in_flight(state):
                if rec.get("handle"):
                    self.executor.cancel(rec["handle"])
                rec["status"] = "cancelled"
            state["state"] = "cancelled"
            self.emit(folder, state, "cancelled", step=state.get("step"), detail="cancelled by spool cancel")
            st.save(folder, state)
            self.spool.move(request_id, where, "cancelled")
            return f"{request_id} is cancelled."
        if action == "hold":
            if where == "pending" or (where == "running" and not self.runner.in_flight(state)):
                state["held_from"], state["state"], state["hold_requested"] = where, "held", False
                self.emit(folder, state, "held", detail=f"held while {where}")
                st.save(folder, state)
                self.spool.move(request_id, where, "hold")
                return f"{request_id} is held; 'spool release {request_id}' lets it go on."
            if where == "running":
                state["hold_requested"] = True
                st.save(folder, state)
                return f"{request_id} will be held when its running step ends."
            return f"{request_id} is {where}: only pending or running requests can be held."
        if action == "release":
            if where == "running" and state.get("hold_requested"):
                state["hold_requested"] = False
                st.save(folder, state)
                return f"{request_id} is no longer to be held."
            if where != "hold":
                return f"{request_id} is {where}, not held."
            back = state.get("held_from") or "pending"
            state["state"] = "running" if back == "running" else "pending"
            state["held_from"] = None
            self.emit(folder, state, "released", detail=f"back to {back}")
            st.save(folder, state)
            self.spool.move(request_id, "hold", back)
            return f"{request_id} is released."
        if action == "retry":
            if where not in ("failed", "cancelled"):
                return f"{request_id} is {where}: only failed or cancelled requests can be retried."
            attempt = int(state.get("attempt", 1))
            state.setdefault("history", []).append({
                "attempt": attempt, "state": state.get("state"), "step": state.get("step"),
                "error": state.get("error"), "time": st.now_iso(),
                "steps": {k: v for k, v in (state.get("steps") or {}).items() if v.get("attempt") == attempt},
            })
            for old in ("error.txt",):
                if (folder / old).exists():
                    os.replace(folder / old, folder / f"error.attempt{attempt}.txt")
            state.update(attempt=attempt + 1, state="pending", error=None, waiting=None, hold_requested=False)
            self.emit(folder, state, "retried", detail=f"attempt {attempt + 1}")
            st.save(folder, state)
            self.spool.move(request_id, where, "pending")
            return f"{request_id} is pending again (attempt {attempt + 1})."
        return f"Unknown action {action!r}: use cancel, hold, release or retry."
