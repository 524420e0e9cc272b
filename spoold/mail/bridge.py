"""The email bridge: request emails in the bridge's IMAP mailbox become request files.

For each message in the watched folder (``INBOX``):

1. a Message-ID already turned into a request is a duplicate: moved to the
   processed folder, nothing written;
2. replies (``Re:``/``Fwd:``/``AW:``... or ``In-Reply-To``), automatic messages,
   subjects without the keyword as a whole word, senders outside the allow-list
   and a missing or wrong token are *set aside*: logged (one line), moved to the
   ``ignored`` folder, never answered;
3. otherwise the request (a ``.yml``/``.yaml`` attachment, else the plain-text
   body, else the HTML body as text) is written into the spool's ``mailin`` as
   one folder ``<id>/`` holding ``request.yaml`` and ``origin.json`` (written in
   ``.<id>.part/``, fsynced, renamed whole), and only then the message is moved
   to the processed folder. ``mailin`` is writable by the service account only,
   so the sender in ``origin.json`` cannot be forged by a file dropped beside a
   request.

A request that does not validate is still written: the daemon rejects it and
the sender gets the reasons by reply. The bridge never sends mail itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spoold.files import fsync_dir, write_file
from spoold.mail import imap, message as msg
from spoold.mail.seen import SeenStore
from spoold.mail.tls import MailSetupError
from spoold.spool import Spool, new_request_id

log = logging.getLogger("spoold.mail.bridge")

#: the folder non-requests are moved to
IGNORED_FOLDER = "ignored"
#: messages larger than this are set aside unread (bytes)
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
#: an IDLE is ended and re-issued after this many seconds (servers drop it after 30 min)
IDLE_SECONDS = 60.0
#: without IDLE, the mailbox is polled this often (seconds)
POLL_SECONDS = 15.0
#: the longest wait between reconnection attempts (seconds)
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class Decision:
    """What the bridge did with one message."""

    action: str  # "request", "duplicate" or "ignored"
    message_id: str
    sender: str
    request_id: str | None = None
    reason: str = ""

    @property
    def folder(self) -> str:
        """The mailbox folder the message belongs in now."""
        return IGNORED_FOLDER if self.action == "ignored" else "processed"


class SpoolWriteError(Exception):
    """The request could not be written into mailin (the message stays in the mailbox)."""


class _Stop(Exception):
    """Raised by the signal handler to end a wait."""


def _slug(subject: str, keyword: str) -> str:
    words = re.sub(re.escape(keyword), " ", subject, flags=re.IGNORECASE)
    words = re.sub(r"[^A-Za-z0-9]+", " ", words).strip()
    return "-".join(words.split()[:4]) or "email"


class Bridge:
    """Turns request emails into request folders in a spool's ``mailin``.

    Parameters
    ----------
    mail : MailSettings
        The site's mail settings (``site.mail``).
    spool_root : Path
        The spool root; ``mailin`` is written, ``mail/seen`` keeps Message-IDs.
    idle_seconds, poll_seconds : float
        How long one IDLE lasts before it is re-issued, and the polling interval
        used when the server has no IDLE (or ``use_idle`` is False).
    use_idle : bool
        Use IDLE when the server offers it (default); False: always poll.
    """

    def __init__(self, mail: Any, spool_root: Path, *, idle_seconds: float = IDLE_SECONDS,
                 poll_seconds: float = POLL_SECONDS, use_idle: bool = True) -> None:
        self.mail = mail
        self.spool = Spool(spool_root)
        self.seen = SeenStore(self.spool.root / "mail" / "seen")
        self.journal = self.spool.root / "mail" / "bridge.jsonl"
        self.idle_seconds = idle_seconds
        self.poll_seconds = poll_seconds
        self.use_idle = use_idle
        self.stop_requested = False
        self._interruptible = False

    # -- one message ---------------------------------------------------------------------
    def handle(self, raw: bytes) -> Decision:
        """Decide about one message and write its request when it is one."""
        mail = msg.parse(raw)
        record = self.seen.get(mail.message_id)
        if record is not None and record.get("status") == "written":
            return Decision("duplicate", mail.message_id, mail.sender, record.get("request_id"),
                            "this Message-ID made a request already")
        reason = self._reason_to_ignore(mail)
        if reason:
            return Decision("ignored", mail.message_id, mail.sender, reason=reason)
        text, source = msg.extract_request(mail.message)
        ok, text = msg.token_ok(mail, text, self.mail.token)
        if not ok:
            return Decision("ignored", mail.message_id, mail.sender, reason="the shared token is missing or wrong")
        request_id = (record or {}).get("request_id") or new_request_id(_slug(mail.subject, self.mail.keyword))
        if record is None and not self.seen.begin(mail.message_id, request_id):
            return Decision("duplicate", mail.message_id, mail.sender, reason="another bridge took this message")
        if not self._written_already(request_id):
            try:
                self._write(request_id, mail, text, source)
            except OSError as error:
                raise SpoolWriteError(
                    f"cannot write request {request_id} into {self.spool.dir('mailin')} "
                    f"({error.strerror or error})"
                ) from None
        self.seen.finish(mail.message_id)
        return Decision("request", mail.message_id, mail.sender, request_id, f"request from the {source}")

    def _reason_to_ignore(self, mail: msg.IncomingMail) -> str:
        if mail.auto_submitted:
            return "an automatic message (Auto-Submitted or Precedence)"
        if mail.is_reply:
            return "a reply or forward, not a new request"
        if not msg.has_keyword(mail.subject, self.mail.keyword):
            return f"the subject does not carry {self.mail.keyword} as a word"
        if not msg.sender_allowed(mail.sender, self.mail.allow):
            return f"the sender {mail.sender or '(unreadable)'} is not in the allow-list"
        return ""

    def _written_already(self, request_id: str) -> bool:
        return (self.spool.dir("mailin") / request_id).exists() or self.spool.find(request_id) is not None

    def _write(self, request_id: str, mail: msg.IncomingMail, text: str, source: str) -> None:
        origin = {
            "via": "email",
            "from": mail.sender,
            "message_id": mail.message_id,
            "date": mail.date,
            "subject": mail.subject,
            "received": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "request_from": source,
        }
        _write_folder(self.spool.dir("mailin"), request_id, {
            "origin.json": (json.dumps(origin, indent=1) + "\n").encode("utf-8"),
            "request.yaml": text.encode("utf-8"),
        })

    # -- the mailbox ---------------------------------------------------------------------
    def process_mailbox(self, client: Any) -> list[Decision]:
        """Handle every message in the watched folder; return the decisions."""
        client.select_folder(self.mail.imap_folder)
        uids = client.search("ALL")
        decisions = []
        if not uids:
            return decisions
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if size > MAX_MESSAGE_BYTES:
                decision = Decision("ignored", f"<uid {uid}>", "", reason=f"the message is too large ({size} bytes)")
            else:
                fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
                if fetched is None:
                    continue  # expunged meanwhile
                try:
                    decision = self.handle(fetched[b"BODY[]"])
                except SpoolWriteError:
                    raise
                except Exception as error:  # noqa: BLE001 - one unreadable message must not block the rest
                    log.exception("message uid %s could not be read", uid)
                    decision = Decision("ignored", f"<uid {uid}>", "",
                                        reason=f"the message could not be read ({type(error).__name__})")
            imap.move(client, uid, decision.folder)
            self._report(decision)
            decisions.append(decision)
        return decisions

    def _report(self, decision: Decision) -> None:
        if decision.action == "request":
            log.info("%s from %s became request %s (%s)", decision.message_id, decision.sender,
                     decision.request_id, decision.reason)
        elif decision.action == "duplicate":
            log.info("%s from %s is a duplicate: %s", decision.message_id, decision.sender, decision.reason)
        else:
            log.warning("set aside %s from %s: %s", decision.message_id, decision.sender or "?", decision.reason)
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                 "action": decision.action, "message_id": decision.message_id, "from": decision.sender,
                 "request_id": decision.request_id, "reason": decision.reason}
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(entry) + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    # -- the loop ------------------------------------------------------------------------
    def run(self, *, once: bool = False) -> int:
        """Serve the mailbox until stopped; with ``once``, one pass. Returns an exit code.

        Connection problems are logged and retried with a growing pause (at most
        30 s); nothing is moved out of the folder before its request is written.
        """
        backoff = 1.0
        while not self.stop_requested:
            client = None
            try:
                client = imap.connect(self.mail)
                imap.ensure_folder(client, self.mail.processed_folder)
                imap.ensure_folder(client, IGNORED_FOLDER)
                if backoff > 1.0:
                    log.warning("connected to %s:%s again", self.mail.imap_host, self.mail.imap_port)
                log.info("watching %s of %s on %s:%s (%s)", self.mail.imap_folder, self.mail.imap_user,
                         self.mail.imap_host, self.mail.imap_port,
                         "IDLE" if self._idle(client) else f"polling every {self.poll_seconds:g} s")
                backoff = 1.0
                while not self.stop_requested:
                    # until a look finds nothing: mail that came while handling the last batch
                    # was announced already, and an IDLE would not announce it again
                    while self.process_mailbox(client) and not self.stop_requested:
                        pass
                    if once:
                        return 0
                    self._wait(client)
            except _Stop:
                break
            except MailSetupError as error:
                log.error("%s", error)
                return 2
            except SpoolWriteError as error:
                if once:
                    log.error("%s", error)
                    return 1
                log.warning("%s; the message stays in %s, trying again in %.0f s", error,
                            self.mail.imap_folder, backoff)
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception as error:  # noqa: BLE001 - any IMAP/TLS/socket failure: retry
                if once:
                    log.error("IMAP %s:%s failed: %s", self.mail.imap_host, self.mail.imap_port, _describe(error))
                    return 1
                log.warning("IMAP %s:%s failed (%s); trying again in %.0f s", self.mail.imap_host,
                            self.mail.imap_port, _describe(error), backoff)
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                imap.logout(client)
        return 0

    def _wait(self, client: Any) -> None:
        """Wait for new mail: IDLE when offered (re-issued every ``idle_seconds``), else poll."""
        if self._idle(client):
            client.idle()
            try:
                self._interruptible = True
                if not self.stop_requested:
                    client.idle_check(timeout=self.idle_seconds)
            except _Stop:
                self.stop_requested = True
            finally:
                self._interruptible = False
                client.idle_done()
        else:
            self._sleep(self.poll_seconds)
            client.noop()

    def _idle(self, client: Any) -> bool:
        return self.use_idle and client.has_capability("IDLE")

    def _sleep(self, seconds: float) -> None:
        try:
            self._interruptible = True
            if not self.stop_requested:
                time.sleep(seconds)
        except _Stop:
            self.stop_requested = True
        finally:
            self._interruptible = False

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT end the bridge after the message at hand."""

        def stop(signum: int, _frame: object) -> None:
            self.stop_requested = True
            if self._interruptible:
                raise _Stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _write_folder(parent: Path, name: str, files: dict[str, bytes]) -> None:
    """Write ``parent/name/`` with ``files`` in it: all in ``.name.<random>.part/``, fsynced, then one rename."""
    tmp = parent / f".{name}.{secrets.token_hex(3)}.part"
    tmp.mkdir(mode=0o755)
    try:
        for filename, data in files.items():
            write_file(tmp / filename, data, exclusive=True)
        fsync_dir(tmp)
        os.rename(tmp, parent / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(parent)
