"""TLS contexts and secrets shared by the IMAP and SMTP clients."""

from __future__ import annotations

import ssl
from pathlib import Path


class MailSetupError(Exception):
    """A mail setting that cannot work; the message is one sentence saying what to change."""


def ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """Return a verifying TLS client context; with ``ca_file``, trust that CA (too)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as error:
            raise MailSetupError(
                f"The mail setting ca_file {ca_file} cannot be read as a PEM certificate ({error}); "
                "point it at the CA (or self-signed) certificate of the mail servers."
            ) from None
    return context


def read_password(path: Path | None, what: str) -> str | None:
    """Return the password kept in a file (first line), None when no file is configured."""
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise MailSetupError(
            f"The {what} password file {path} cannot be read ({error.strerror}); "
            "create it (one line, mode 600) or fix the site file's mail settings."
        ) from None
    return text.splitlines()[0].strip() if text.strip() else ""
