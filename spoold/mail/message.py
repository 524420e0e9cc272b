"""Reading one email: is it a request, from whom, and what is the request's YAML.

Pure functions over :class:`email.message.EmailMessage`; no network, no files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

#: subject prefixes that mark a reply or a forward (English, German, French, Nordic, ...)
REPLY_PREFIX_RE = re.compile(
    r"^\s*(re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r|enc|odp|res)\s*(\[\d+\])?\s*:", re.IGNORECASE
)
#: a body line carrying the shared token; the bridge removes it before writing the request
TOKEN_LINE_RE = re.compile(r"^[ \t]*token[ \t]*:[ \t]*(\S+)[ \t]*$", re.IGNORECASE | re.MULTILINE)
#: file names of request attachments
YAML_NAME_RE = re.compile(r"\.ya?ml$", re.IGNORECASE)
#: the largest request (YAML) the bridge takes from one message, in bytes
MAX_REQUEST_BYTES = 256 * 1024


@dataclass(frozen=True)
class IncomingMail:
    """The facts the bridge needs about one message."""

    message_id: str  # the Message-ID header, or "<sha256:...>" of the bytes when it has none
    sender: str  # the From address, lower case ("" when unreadable)
    subject: str
    date: str | None  # ISO 8601, from the Date header
    is_reply: bool
    auto_submitted: bool  # an auto-reply or bounce (RFC 3834 Auto-Submitted, Precedence)
    message: EmailMessage


def parse(raw: bytes) -> IncomingMail:
    """Parse an RFC 5322 message into :class:`IncomingMail`."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    message_id = _header(message, "Message-ID").strip()
    if not message_id:
        message_id = f"<sha256:{hashlib.sha256(raw).hexdigest()}>"
    addresses = getaddresses([_header(message, "From")])
    sender = addresses[0][1].strip().lower() if addresses else ""
    subject = " ".join(_header(message, "Subject").split())
    date = None
    if _header(message, "Date"):
        try:
            date = parsedate_to_datetime(_header(message, "Date")).isoformat()
        except (TypeError, ValueError, IndexError):
            date = None
    reply = bool(REPLY_PREFIX_RE.match(subject)) or bool(_header(message, "In-Reply-To").strip())
    auto = _header(message, "Auto-Submitted").strip().lower() not in ("", "no") or _header(
        message, "Precedence"
    ).strip().lower() in ("bulk", "junk", "list", "auto_reply")
    return IncomingMail(message_id, sender, subject, date, reply, auto, message)


def _header(message: EmailMessage, name: str) -> str:
    """Return a header as text: decoded, else its raw text when it does not parse, else ''."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - the email package raises many kinds on malformed headers
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                return " ".join(str(raw).split())
        return ""


def has_keyword(subject: str, keyword: str) -> bool:
    """True when ``keyword`` is a whole word of ``subject`` (case-insensitive).

    ``ASTRAN-LAUNCH`` matches ``"ASTRAN-LAUNCH Crab tonight"`` and ``"[ASTRAN-LAUNCH]"``
    but not ``"ASTRAN-LAUNCHED"`` or ``"XASTRAN-LAUNCH"``.
    """
    if not keyword:
        return False
    pattern = r"(?<![\w-])" + re.escape(keyword) + r"(?![\w-])"
    return re.search(pattern, subject, re.IGNORECASE) is not None


def sender_allowed(sender: str, allow: list[str] | tuple[str, ...]) -> bool:
    """True when ``sender`` is in the allow-list (exact addresses, or ``@domain`` entries).

    An empty allow-list allows nobody: the bridge must be told whom to trust.
    """
    sender = sender.strip().lower()
    if "@" not in sender:
        return False
    domain = sender.rsplit("@", 1)[1]
    for entry in allow:
        entry = entry.strip().lower()
        if entry.startswith("@"):
            if domain == entry[1:]:
                return True
        elif entry == sender:
            return True
    return False


def subject_token(subject: str) -> list[str]:
    """Return the words of a subject (tokens may be given as one of them)."""
    return subject.split()


def strip_token(text: str) -> tuple[str, str | None]:
    """Remove a ``token: VALUE`` line from a request text; return (text, token or None)."""
    match = TOKEN_LINE_RE.search(text)
    if match is None:
        return text, None
    return text[: match.start()] + text[match.end():].lstrip("\n"), match.group(1)


def token_ok(mail: IncomingMail, request_text: str, token: str | None) -> tuple[bool, str]:
    """Check the shared token: a subject word or a ``token:`` line.

    Returns (ok, request text without the token line).
    """
    text, given = strip_token(request_text)
    if not token:
        return True, text
    if given == token or token in subject_token(mail.subject):
        return True, text
    return False, text


class _TextFromHtml(HTMLParser):
    """Collect the text of an HTML body, with line breaks where blocks end."""

    BREAKS = {"br", "p", "div", "li", "tr", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "pre":
            self.pre += 1
            self.parts.append("\n")
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.parts.append("\n")
        elif tag in self.BREAKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = re.sub(r"[ \t\r\n]*\n[ \t\r\n]*", " ", data) if "\n" in data else data
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the text of an HTML body, one line per block, keeping indentation."""
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def clean_text(text: str) -> str:
    """Make an email body parseable as YAML.

    Non-breaking and other odd spaces become spaces, CRLF becomes LF, tabs at a
    line's start become two spaces, a signature (after a ``-- `` line) and
    trailing blank lines are dropped.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u2007", " ").replace("\u202f", " ").replace("\ufeff", "")
    text = re.sub(r"^\t+", lambda m: "  " * len(m.group(0)), text, flags=re.MULTILINE)
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line in ("-- ", "--"):
            lines = lines[:number]
            break
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    return text + "\n" if text else ""


def extract_request(message: EmailMessage) -> tuple[str, str]:
    """Return (request text, where it came from) of a request email (see :func:`_extract`).

    A message whose MIME structure cannot be walked gives ("", "unreadable message"): the
    daemon rejects the empty request and the sender is told.
    """
    try:
        return _extract(message)
    except Exception:  # noqa: BLE001 - malformed MIME raises many kinds
        return "", "unreadable message"


def _extract(message: EmailMessage) -> tuple[str, str]:
    """Return (request text, where it came from) of a request email.

    The first ``.yml``/``.yaml`` attachment wins; otherwise the plain-text body;
    otherwise the HTML body converted to text. The text may be empty (the daemon
    then rejects it and says why).
    """
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        if YAML_NAME_RE.search(name):
            payload = part.get_payload(decode=True) or b""
            return clean_text(_decode(payload[:MAX_REQUEST_BYTES + 1], part)), f"attachment {name}"
    try:
        body = message.get_body(preferencelist=("plain",))
    except (KeyError, ValueError):
        body = None
    if body is not None:
        return clean_text(_content(body)), "plain-text body"
    try:
        body = message.get_body(preferencelist=("html",))
    except (KeyError, ValueError):
        body = None
    if body is not None:
        return clean_text(html_to_text(_content(body))), "HTML body"
    return "", "empty message"


def _content(part: EmailMessage) -> str:
    try:
        text = part.get_content()
    except (LookupError, ValueError, AssertionError):
        text = _decode(part.get_payload(decode=True) or b"", part)
    if isinstance(text, bytes):
        text = _decode(text, part)
    return text[:MAX_REQUEST_BYTES + 1]


def _decode(payload: bytes, part: EmailMessage) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")
