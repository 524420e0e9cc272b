"""The daemon's mail hook: queue a reply per event, send the queue over SMTP.

The daemon calls :meth:`Notifier.event` right after it journals an event (fast:
it writes one small file into ``<request>/mail/outbox/``; it never raises) and
:meth:`Notifier.flush` once per loop. Flushing composes each queued event into
a message (``.eml``, written once, so a retry sends the very same message),
sends it, and moves it to ``mail/sent/``: a reply is never sent twice, and one
that cannot be sent now (SMTP down) stays in the outbox and goes out at a later
flush. A reply the server refuses for good goes to ``mail/failed/`` with the
reason; a request with nobody to tell gets no mail.
"""

from __future__ import annotations

import json
import logging
import os
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from spoold.events import Event
from spoold.files import write_atomic, write_json
from spoold.mail.compose import LIVE_EVENTS, REPLY_EVENTS, compose
from spoold.mail.folder import Folder, read_json_or_none
from spoold.mail.smtp import PermanentFailure, SmtpSender
from spoold.spool import STATE_DIRS
from spoold.states import Text

log = logging.getLogger("spoold.mail.notifier")

#: pause after a failed SMTP connection, doubled up to MAX_BACKOFF (seconds)
FIRST_BACKOFF = 2.0
MAX_BACKOFF = 60.0
#: the whole spool is searched for queued replies this often (seconds)
RESCAN_SECONDS = 120.0


class Notifier:
    """Replies to the people who asked, for every event that matters to them.

    Parameters
    ----------
    site : Site
        Uses ``site.mail`` (``from_address``, ``keyword``, the SMTP settings).
    """

    def __init__(self, site: Any) -> None:
        if site.mail is None:
            raise ValueError("the site has no mail settings")
        self.mail = site.mail
        self.alert_to = tuple(getattr(getattr(site, "alerts", None), "to", ()) or ())
        self._pending: set[str] = set()  # request ids with something in their outbox
        self._next_try = 0.0
        self._backoff = FIRST_BACKOFF
        self._next_rescan = 0.0

    # -- the daemon's hooks --------------------------------------------------------------
    def event(self, request_dir: Path, event: dict[str, Any]) -> None:
        """Queue a reply for an event of a request (writes a file; never raises)."""
        try:
            self._queue(Path(request_dir), event)
        except Exception:  # noqa: BLE001 - the daemon must go on whatever happens here
            log.exception("could not queue the %s reply of %s", event.get("event"), Path(request_dir).name)

    def flush(self, spool_root: Path) -> int:
        """Send what is queued; return how many replies went out (never raises)."""
        try:
            return self._flush(Path(spool_root))
        except Exception:  # noqa: BLE001
            log.exception("sending the queued replies failed")
            return 0

    # -- queueing ------------------------------------------------------------------------
    def _queue(self, folder: Path, event: dict[str, Any]) -> None:
        name = event.get("event")
        if name not in REPLY_EVENTS:
            return
        if name not in LIVE_EVENTS and (read_json_or_none(folder / "state.json") or {}).get("live"):
            return  # a live run's request tells only its failure and a flare; the night's request tells the rest
        attempt = int(event.get("attempt") or 1)
        outbox, sent = folder / "mail" / Box.OUTBOX, folder / "mail" / Box.SENT
        if name == Event.WAITING and any(
            any(box.glob(f"*-waiting-a{attempt}.*")) for box in (outbox, sent) if box.is_dir()
        ):
            return  # "waiting for data" is told once
        outbox.mkdir(parents=True, exist_ok=True)
        stem = f"{time.time_ns():020d}-{name}-a{attempt}"
        write_json(outbox / f"{stem}.json", event)
        self._pending.add(folder.name)

    # -- sending -------------------------------------------------------------------------
    def _flush(self, root: Path) -> int:
        now = time.monotonic()
        if now >= self._next_rescan:
            self._pending |= {p.parent.parent.name for p in root.glob("*/*/mail/outbox") if _has_entries(p)}
            self._next_rescan = now + RESCAN_SECONDS
        if not self._pending or now < self._next_try:
            return 0
        queue = []
        for request_id in sorted(self._pending):
            folder = _locate(root, request_id)
            if folder is None:
                self._pending.discard(request_id)
                continue
            entries = self._compose_all(folder)
            if not entries:
                self._pending.discard(request_id)
            queue += entries
        if not queue:
            return 0
        queue.sort(key=lambda item: item[1].name)  # oldest event first, across requests
        sent = 0
        try:
            with SmtpSender(self.mail) as smtp:
                for folder, eml in queue:
                    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
                    try:
                        refused = smtp.send(message)
                    except PermanentFailure as error:
                        _file_away(folder, eml, Box.FAILED, str(error))
                        log.error("the %s reply of %s was refused: %s", message["X-Astran-Event"], folder.name, error)
                        continue
                    _file_away(folder, eml, Box.SENT, f"refused: {', '.join(refused)}" if refused else "")
                    sent += 1
                    log.info("sent the %s reply of %s to %s", message["X-Astran-Event"], folder.name,
                             ", ".join(filter(None, [message["To"], message["Cc"]])))
        except Exception as error:  # noqa: BLE001 - SMTP down, TLS, auth: keep the queue, try later
            self._next_try = time.monotonic() + self._backoff
            log.warning("SMTP %s:%s failed (%s: %s); %d reply(s) stay queued, next try in %.0f s",
                        self.mail.smtp_host, self.mail.smtp_port, type(error).__name__, error,
                        len(queue) - sent, self._backoff)
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
            return sent
        self._backoff, self._next_try = FIRST_BACKOFF, 0.0
        return sent

    def _compose_all(self, folder: Path) -> list[tuple[Path, Path]]:
        """Turn queued events into messages; return (folder, .eml) pairs waiting to be sent."""
        outbox = folder / "mail" / Box.OUTBOX
        ready = []
        for entry in sorted(outbox.glob("[0-9]*.json")):
            eml = entry.with_suffix(".eml")
            if not eml.exists():
                try:
                    event = json.loads(entry.read_text(encoding="utf-8"))
                    message = compose(Folder.read(folder), event, entry.stem,
                                      from_address=self.mail.from_address, keyword=self.mail.keyword,
                                      alert_to=self.alert_to)
                except Exception as error:  # noqa: BLE001 - one broken entry must not block the rest
                    log.exception("could not compose %s of %s", entry.name, folder.name)
                    _file_away(folder, entry, Box.FAILED, f"could not compose: {error}")
                    continue
                if message is None:
                    _file_away(folder, entry, Box.UNSENT, "nobody to tell (no email sender, no notify list)")
                    continue
                write_atomic(eml, message.as_bytes(policy=policy.SMTP))
            entry.unlink(missing_ok=True)
        for eml in sorted(outbox.glob("[0-9]*.eml")):
            ready.append((folder, eml))
        return ready


class Box(Text):
    """The folders of a request's ``mail/``: queued replies, and where each ends."""

    OUTBOX = "outbox"  # composed or waiting to be composed, not sent yet
    SENT = "sent"
    FAILED = "failed"  # refused by the mail server, or it could not be composed
    UNSENT = "unsent"  # nobody to tell


def _has_entries(folder: Path) -> bool:
    try:
        return any(not name.startswith(".") for name in os.listdir(folder))
    except OSError:
        return False


def _locate(root: Path, request_id: str) -> Path | None:
    """The request folder of an id, in whichever state folder it is now."""
    for state in STATE_DIRS:
        folder = root / state / request_id
        if folder.is_dir():
            return folder
    return None


def _file_away(folder: Path, path: Path, box: str, note: str) -> None:
    """Move a queue file to ``mail/<box>/`` (sent, failed, unsent), with a note when given."""
    target = folder / "mail" / box
    target.mkdir(parents=True, exist_ok=True)
    os.replace(path, target / path.name)
    if note:
        write_atomic(target / f"{path.stem}.note", note + "\n")
