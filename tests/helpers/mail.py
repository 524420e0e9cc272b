"""Helpers for the mail tests: the real Dovecot and Postfix of ``scripts/mail-up``.

``mail_servers`` reads the env file ``scripts/mail-up`` writes
(``/var/lib/astran-mail/env.json``) and checks that IMAPS and submission answer;
when they do not it FAILS under ``ASTRAN_REQUIRE_PEERS=1`` (``scripts/test``, CI)
and skips otherwise. ``mailboxes`` empties every test user's folders first, so
each test sees only its own mail.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path

from tests.helpers.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
PREFIX = Path(os.environ.get("ASTRAN_MAIL_PREFIX", "/var/lib/astran-mail"))
ENV_FILE = PREFIX / "env.json"
BIN = Path(sys.executable).parent


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@dataclass
class MailServers:
    """The loopback mail servers and their users (see scripts/mail-up)."""

    env: dict

    def address(self, user: str) -> str:
        return self.env["users"][user]["address"]

    def password(self, user: str) -> str:
        return self.env["users"][user]["password"]

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.env["ca_file"])

    # -- sending as a user -----------------------------------------------------------------
    def message(self, sender: str, subject: str, body: str | None = "", *, to: str = "astran",
                html: str | None = None, attachments: tuple = (), headers: dict | None = None) -> EmailMessage:
        """A message from a test user (``sender``) to another (default: the bridge's mailbox)."""
        message = EmailMessage()
        message["From"] = self.address(sender)
        message["To"] = self.address(to)
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="example.test")
        for key, value in (headers or {}).items():
            message[key] = value
        if body is not None:
            message.set_content(body)
        if html is not None:
            if body is None:
                message.set_content(html, subtype="html")
            else:
                message.add_alternative(html, subtype="html")
        for name, data in attachments:
            message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
        return message

    def send(self, sender: str, message: EmailMessage, *, relay: bool = False) -> float:
        """Send through Postfix; return time.monotonic() after.

        By default through submission (STARTTLS + AUTH as ``sender``, which needs Dovecot's
        SASL); with ``relay``, as mail from another server arrives: plain SMTP, no AUTH.
        """
        if relay:
            with smtplib.SMTP("127.0.0.1", self.env["smtp_port"], timeout=20) as smtp:
                smtp.send_message(message)
            return time.monotonic()
        with smtplib.SMTP("127.0.0.1", self.env["submission_port"], timeout=20) as smtp:
            smtp.starttls(context=self.context())
            smtp.login(self.address(sender), self.password(sender))
            smtp.send_message(message)
        return time.monotonic()

    # -- reading a user's mailbox ----------------------------------------------------------
    def imap(self, user: str):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.env["imaps_port"], ssl=True, ssl_context=self.context(),
                            timeout=20)
        client.login(self.address(user), self.password(user))
        return client

    def messages(self, user: str, folder: str = "INBOX") -> list[EmailMessage]:
        """Every message in a user's folder, oldest first."""
        client = self.imap(user)
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [BytesParser(policy=policy.default).parsebytes(fetched[u][b"BODY[]"]) for u in sorted(fetched)]
        finally:
            client.logout()

    def wait_messages(self, user: str, count: int, *, folder: str = "INBOX", timeout: float = 60.0,
                      match=None) -> list[EmailMessage]:
        """Wait until a folder holds at least ``count`` messages (those ``match`` accepts)."""

        def enough():
            found = [m for m in self.messages(user, folder) if match is None or match(m)]
            return found if len(found) >= count else None

        return wait_for(enough, timeout=timeout, interval=0.3, what=f"{count} message(s) for {user} in {folder}")

    def clear(self, *users: str) -> None:
        """Delete every message in every folder of the users."""
        for user in users or tuple(self.env["users"]):
            client = self.imap(user)
            try:
                for _flags, _sep, name in client.list_folders():
                    client.select_folder(name)
                    uids = client.search("ALL")
                    if uids:
                        client.delete_messages(uids)
                        client.expunge()
            finally:
                client.logout()

    # -- the servers -----------------------------------------------------------------------
    def stop(self, which: str) -> None:
        """Stop Postfix or Dovecot (scripts/mail-down WHICH)."""
        subprocess.run([str(REPO / "scripts" / "mail-down"), which], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        """Start what is not running (scripts/mail-up) and wait until both answer."""
        subprocess.run([str(REPO / "scripts" / "mail-up")], check=True, capture_output=True, timeout=300)

    def flush_queue(self) -> None:
        """Ask Postfix to retry its deferred mail now."""
        subprocess.run(["postqueue", "-c", str(PREFIX / "postfix" / "etc"), "-f"], capture_output=True, timeout=30)

    def site_file(self, folder: Path, spool: Path, *, extra: dict | None = None, **mail: object) -> Path:
        """A site file whose mail section uses these servers (overrides in ``mail``, other keys in ``extra``)."""
        import yaml

        settings = {
            "imap_host": "127.0.0.1", "imap_port": self.env["imaps_port"], "imap_tls": "ssl",
            "imap_user": self.address("astran"), "imap_password_file": self.env["users"]["astran"]["password_file"],
            "smtp_host": "127.0.0.1", "smtp_port": self.env["submission_port"], "smtp_starttls": True,
            "smtp_user": self.address("astran"), "smtp_password_file": self.env["users"]["astran"]["password_file"],
            "from_address": self.address("astran"), "ca_file": self.env["ca_file"],
            "allow": [self.address("analyst"), self.address("analyst2")],
        }
        settings.update(mail)
        site = {"spool": str(spool), **(extra or {}), "mail": settings}
        path = folder / "site.yaml"
        path.write_text(yaml.safe_dump(site, sort_keys=False))
        return path


class Process:
    """A command run as its own process with its output in a log file."""

    def __init__(self, argv: list[str], log: Path, cwd: Path) -> None:
        self.log = log
        self.handle = open(log, "ab")
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=self.handle, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)
        finally:
            self.handle.close()


def bridge_argv(site: Path, *, once: bool = False, idle_seconds: float = 600.0, poll_seconds: float = 600.0) -> list[str]:
    """The spool-mail command line (long IDLE and poll periods: only IDLE notifications wake it)."""
    argv = [str(BIN / "spool-mail"), "--config", str(site), "-v",
            "--idle-seconds", str(idle_seconds), "--poll-seconds", str(poll_seconds)]
    return argv + (["--once"] if once else [])
