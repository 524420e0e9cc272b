"""One bad request never stops the spool: the guard around every piece of per-request work.

:class:`Guard` is one of the daemon's parts; what it needs from the daemon is
:class:`GuardServices`. Postfix's rule: a damaged queue file is kept in ``corrupt/``
with a reason and the queue goes on. Whatever goes wrong while the daemon handles
one request is decided here, for that request alone:

* its folder is damaged (``state.json`` missing, truncated or not JSON; the folder
  not writable): its known tasks are cancelled and it is put aside in ``corrupt/``
  with ``<id>.reason.txt`` (left where it is, with the reason, when it cannot be
  moved);
* its disk is full: it is left alone for a few seconds at a time (Postfix's
  deferred), with the sentence in the daemon's log and then its own, and goes on
  once there is room (a task that failed on the full disk fails the request,
  and ``spool retry`` then works);
* anything else: it fails with a sentence in ``error.txt`` and ``spool status``.

Only causes that are the spool's own (its state folders gone) stop the daemon,
as :class:`SpoolWideError`, with a sentence.
"""

from __future__ import annotations

import errno
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from spoold import events, state as st
from spoold.executors.base import Executor
from spoold.pipeline.base import Context
from spoold.pipeline.runner import Runner, in_flight
from spoold.spool import Spool
from spoold.states import Folder

log = logging.getLogger("spoold")

#: errors that say the disk (or the user's quota) is full
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
#: errors that say the request's folder may not be written
NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
#: seconds a request is left alone while its disk is full
DEFER_SECONDS = 10.0


class SpoolWideError(Exception):
    """The spool itself cannot be served (not one request's trouble); the message says why."""


class GuardServices(Protocol):
    """What the guard needs from the daemon."""

    site: Any
    spool: Spool
    executor: Executor
    runner: Runner

    def forget(self, request_id: str) -> None:
        """Drop what the daemon keeps in memory about a request that leaves running/."""


class Guard:
    """Keeps one request's trouble its own (see the module's description).

    Parameters
    ----------
    services : GuardServices
        The daemon (site, spool, executor, runner, forget).
    """

    def __init__(self, services: GuardServices) -> None:
        self.services = services
        self.spool = services.spool
        self._handles_of: dict[str, list[dict]] = {}  # the in-flight handles last seen per running request
        self._deferred: dict[str, tuple[float, str]] = {}  # request id -> (left alone until, why)

    # -- the guard -------------------------------------------------------------------------
    def guarded(self, folder: Path, where: str, work: Callable[..., Any], *args: Any) -> Any:
        """Run ``work(*args)`` for the request in ``folder``; on any failure decide for it alone (None)."""
        try:
            return work(*args)
        except SpoolWideError:
            raise
        except Exception as error:  # noqa: BLE001 - whatever it is, it is this request's
            self._check_spool(where)
            log.error("handling %s/%s failed:\n%s", where, folder.name, traceback.format_exc())
            self._isolate(folder, where, error)
            return None

    def _check_spool(self, where: str) -> None:
        """Raise SpoolWideError when the state folder itself is gone or unusable."""
        path = self.spool.dir(where)
        if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
            raise SpoolWideError(f"The spool's folder {path} is missing or not writable; "
                                 "spoold cannot serve this spool until it is repaired.")

    def _isolate(self, folder: Path, where: str, error: Exception) -> None:
        rid = folder.name
        if not folder.exists():
            self._cancel_known(rid, "its folder disappeared")
            return
        if isinstance(error, OSError) and error.errno in DISK_FULL:
            self._defer_for_disk(folder, error)
            return
        if isinstance(error, OSError) and error.errno in NOT_WRITABLE:
            self._aside(folder, where, f"spoold could not write in the request's folder ({error.strerror}: "
                                       f"{error.filename or folder}).")
            return
        sentence = f"spoold hit an internal error ({type(error).__name__}: {error})."
        try:
            self._fail_in(folder, sentence)
        except Exception as second:  # noqa: BLE001 - it cannot even be failed: keep it aside
            self._aside(folder, where, f"{sentence} Failing it failed too ({type(second).__name__}: {second}).")

    # -- what happens to the request ---------------------------------------------------------
    def state_or_aside(self, folder: Path, where: str) -> dict | None:
        """The request's state, or None when it was left alone or put aside (its state cannot be
        trusted or its folder not written)."""
        if self.left_alone(folder.name):
            return None
        state, problem = st.load_checked(folder)
        if problem is None and not os.access(folder, os.W_OK | os.X_OK):
            problem = "its folder cannot be written (its permissions or attributes were changed)."
        if problem is None:
            return state
        self._aside(folder, where, f"The request was put aside: {problem}")
        return None

    def _aside(self, folder: Path, where: str, reason: str) -> None:
        rid = folder.name
        state = st.load(folder) or {}
        self._cancel_known(rid, "it was put aside", state)
        self.services.forget(rid)
        moved = self.spool.put_aside(rid, where, reason)
        log.error("%s/%s put aside in %s: %s", where, rid, moved.parent.name, reason)
        if moved.parent == self.spool.dir(Folder.CORRUPT) and os.access(moved, os.W_OK):
            try:
                events.log(moved, f"put aside: {reason}")
            except OSError:
                pass

    def _defer_for_disk(self, folder: Path, error: OSError) -> None:
        """Leave a request alone while its disk is full (Postfix's deferred); it goes on once there is room."""
        rid = folder.name
        sentence = (f"The disk is full ({error.strerror}: {error.filename or folder}); {rid} is left alone for "
                    f"{DEFER_SECONDS:.0f} s at a time and goes on once there is room (nothing half-written is "
                    "kept: state.json is only ever replaced whole).")
        if rid not in self._deferred:
            log.error("%s", sentence)
        self._deferred[rid] = (time.monotonic() + DEFER_SECONDS, sentence)

    def _fail_in(self, folder: Path, sentence: str) -> None:
        state = st.load(folder)
        if state is None:
            raise ValueError("its state.json cannot be read")
        ctx = Context(self.services.site, None, folder, state, folder)
        self.services.runner.fail(ctx, state.get("step") or "resolve", sentence)  # its transition: to failed/
        self.services.forget(folder.name)

    # -- memory of what runs -------------------------------------------------------------------
    def left_alone(self, request_id: str) -> bool:
        """True for a request put aside where it is, or deferred for now (its disk was full)."""
        deferred = self._deferred.get(request_id)
        if deferred is not None:
            until, sentence = deferred
            if time.monotonic() < until:
                return True
            del self._deferred[request_id]
            found = self.spool.find(request_id)
            if found is not None:
                try:  # its journal says why it stood still, once that can be written
                    events.log(found[1], f"stood still a while: {sentence}")
                except OSError:
                    self._deferred[request_id] = (time.monotonic() + DEFER_SECONDS, sentence)
                    return True
        return self.spool.aside_reason(request_id) is not None

    def remember_handles(self, request_id: str, state: dict) -> None:
        """Keep the in-flight handles of a running request, to cancel them if its folder is lost."""
        handles = self._in_flight_handles(state)
        if handles:
            self._handles_of[request_id] = handles
        else:
            self._handles_of.pop(request_id, None)

    def forget_vanished(self, running: Iterable[str]) -> None:
        """Cancel the tasks of requests whose folder vanished from the spool (removed by hand)."""
        running = set(running)
        for rid in [r for r in self._handles_of if r not in running]:
            if self.spool.find(rid) is None:
                self._cancel_known(rid, "its folder was removed")
            self._handles_of.pop(rid, None)

    def _cancel_known(self, request_id: str, why: str, state: dict | None = None) -> None:
        handles = list(self._handles_of.pop(request_id, [])) + self._in_flight_handles(state or {})
        seen = set()
        for handle in handles:
            key = handle.get("name") or id(handle)
            if key in seen:
                continue
            seen.add(key)
            try:
                self.services.executor.cancel(handle)
                log.warning("%s: cancelled its tasks (%s) because %s", request_id, handle.get("job_id"), why)
            except Exception:  # noqa: BLE001 - say so and go on
                log.exception("%s: cancelling %s failed", request_id, handle.get("job_id"))

    def _in_flight_handles(self, state: dict) -> list[dict]:
        """The executor handles of a request's steps that are handed out and not finished."""
        return [rec["handle"] for _, rec in in_flight(state) if rec.get("handle")]

    def forget(self, request_id: str) -> None:
        """Drop the handles kept of a request that leaves running/."""
        self._handles_of.pop(request_id, None)
