"""Sending replies over SMTP submission (STARTTLS + AUTH), with errors sorted for retrying."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from spoold.mail.tls import read_password, ssl_context

#: seconds one SMTP connection attempt or command may take
SMTP_TIMEOUT = 10.0


class PermanentFailure(Exception):
    """The server refused a message for good (5xx): retrying the same message cannot help."""


class SmtpSender:
    """One SMTP session for a batch of replies (a context manager).

    Parameters
    ----------
    mail : MailSettings
        ``smtp_host``, ``smtp_port``, ``smtp_starttls``, ``smtp_user``,
        ``smtp_password_file``, ``ca_file``.
    timeout : float
        Seconds for connecting and for each command.

    Raises OSError, ssl.SSLError or smtplib.SMTPException when the server cannot
    be reached or refuses the login (transient: the replies stay queued).
    """

    def __init__(self, mail: Any, *, timeout: float = SMTP_TIMEOUT) -> None:
        self.mail = mail
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        mail = self.mail
        context = ssl_context(mail.ca_file)
        if not mail.smtp_starttls and int(mail.smtp_port) == 465:
            self.smtp = smtplib.SMTP_SSL(mail.smtp_host, mail.smtp_port, timeout=self.timeout, context=context)
        else:
            self.smtp = smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=self.timeout)
        try:
            self.smtp.ehlo()
            if mail.smtp_starttls:
                self.smtp.starttls(context=context)
                self.smtp.ehlo()
            if mail.smtp_user:
                self.smtp.login(mail.smtp_user, read_password(mail.smtp_password_file, "SMTP") or "")
        except BaseException:
            self._close()
            raise
        return self

    def send(self, message: EmailMessage) -> list[str]:
        """Send one message; return the recipients the server refused (others got it).

        Raises PermanentFailure when the server refuses the message or every
        recipient for good, smtplib/OS errors for transient trouble.
        """
        assert self.smtp is not None, "use SmtpSender as a context manager"
        try:
            refused = self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"every recipient was refused: {_refusals(error.recipients)}") from None
            raise
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"the server refused the message ({error.smtp_code} {_text(error.smtp_error)})") from None
            raise
        return sorted(refused)

    def _close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError, ssl.SSLError):
            self.smtp.close()
        self.smtp = None

    def __exit__(self, *exc: object) -> None:
        self._close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{addr} ({code} {_text(text)})" for addr, (code, text) in recipients.items())
