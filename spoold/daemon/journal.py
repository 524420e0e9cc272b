"""What happens to a request, written down: its journal lines and its changes of state.

:class:`Journal` is the one writer both the daemon and the ``spool`` command (while
it holds the spool's lock) use: :meth:`Journal.emit` appends an event to the
request's ``events.jsonl`` (at most once per event, step and attempt), writes its
``log`` line and tells the mail notifier; :meth:`Journal.transition` changes the
request's state through :func:`spoold.states.transition` (journal, then
``state.json``, then the folder move).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from spoold import events, state as st
from spoold.states import Line, RequestState, transition

log = logging.getLogger("spoold")


class Changes(Protocol):
    """What the daemon's parts need to journal an event or change a request's state."""

    def emit(self, folder: Path, state: dict, event: str, *, step: str | None = None, detail: str = "",
             durable: bool = True) -> None:
        """Journal an event (at most once per event, step and attempt)."""

    def transition(self, folder: Path, state: dict, to: RequestState, *lines: Line, **options: Any) -> Path:
        """Change a request's state (:func:`spoold.states.transition`); return where its folder is."""


class Journal:
    """The journal and the changes of state of the requests of one spool.

    Parameters
    ----------
    spool : Spool
        Whose request folders are written and moved.
    notifier : Notifier, optional
        Told of every journalled event (the mail replies); set by the daemon once it started.
    """

    def __init__(self, spool: Any, notifier: Any = None) -> None:
        self.notifier = notifier
        self.records = st.Records(spool, self.emit)

    def emit(self, folder: Path, state: dict, event: str, *, step: str | None = None, detail: str = "",
             durable: bool = True) -> None:
        """Journal an event (at most once per event, step and attempt) and tell the notifier."""
        record = events.make(event, step=step, detail=detail, attempt=int(state.get("attempt", 1)))
        if not events.append_once(folder, record, durable=durable):
            return
        line = f"{event}{' ' + step if step else ''}{': ' + detail if detail else ''}"
        events.log(folder, line)
        log.info("%s %s", folder.name, line)  # spoold -v: every journal event, one line each
        if self.notifier is not None:
            try:
                self.notifier.event(folder, record)
            except Exception:  # noqa: BLE001 - the notifier must never stop the daemon
                log.exception("the notifier failed on %s", folder.name)

    def transition(self, folder: Path, state: dict, to: RequestState, *lines: Line, **options: Any) -> Path:
        """Change a request's state: journal, state.json, folder move (:func:`spoold.states.transition`)."""
        return transition(self.records, folder, state, to, *lines, **options)
