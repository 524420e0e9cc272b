"""Talking to the bridge's IMAP mailbox (IMAPClient over TLS)."""

from __future__ import annotations

import logging
from typing import Any

from imapclient import IMAPClient

from spoold.mail.tls import read_password, ssl_context

log = logging.getLogger("spoold.mail.imap")

#: seconds a single IMAP command may take before the connection counts as broken
IMAP_TIMEOUT = 30.0


def connect(mail: Any, *, timeout: float = IMAP_TIMEOUT) -> IMAPClient:
    """Log in to the site's IMAP server (IMAPS, or IMAP + STARTTLS) and return the client.

    Raises OSError, ssl.SSLError or an IMAPClient error when the server cannot be
    reached or refuses the login, and MailSetupError for unusable settings.
    """
    context = ssl_context(mail.ca_file)
    if mail.imap_tls == "ssl":
        client = IMAPClient(mail.imap_host, port=mail.imap_port, ssl=True, ssl_context=context, timeout=timeout)
    else:
        client = IMAPClient(mail.imap_host, port=mail.imap_port, ssl=False, timeout=timeout)
        client.starttls(context)
    try:
        client.login(mail.imap_user, read_password(mail.imap_password_file, "IMAP") or "")
    except Exception:
        _close(client)
        raise
    return client


def ensure_folder(client: IMAPClient, name: str) -> None:
    """Create a mailbox folder unless it exists."""
    if not client.folder_exists(name):
        client.create_folder(name)
        try:
            client.subscribe_folder(name)
        except Exception:  # noqa: BLE001 - subscribing is a courtesy for mail clients
            pass


def move(client: IMAPClient, uid: int, folder: str) -> None:
    """Move one message (by UID) to a folder: MOVE when offered, else COPY + delete + expunge."""
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return
    client.copy([uid], folder)
    client.delete_messages([uid])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        client.expunge()


def _close(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:  # noqa: BLE001
        pass


def logout(client: IMAPClient | None) -> None:
    """Log out quietly (the connection may be dead already)."""
    if client is None:
        return
    try:
        client.logout()
    except Exception:  # noqa: BLE001
        _close(client)
