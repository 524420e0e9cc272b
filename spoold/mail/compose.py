"""The replies: one email per event that matters to the person who asked.

:func:`compose` turns a queued event of a request folder into an
:class:`email.message.EmailMessage`: threaded under the request email
(``In-Reply-To``/``References``), marked ``Auto-Submitted: auto-replied`` (so
no robot answers it and the bridge never reads it as a request), addressed to
the email's sender and the request's ``notify`` list.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from spoold.events import Event
from spoold.mail.bodies import BODIES
from spoold.mail.folder import Folder, recipients, thread_root

#: events that produce a reply
REPLY_EVENTS = (Event.ACCEPTED, Event.REJECTED, Event.WAITING, Event.DONE, Event.FAILED, Event.CANCELLED,
                Event.RETRIED, Event.ALERT)
#: what a live run's request (``live: true``, made by a live standing order) tells: its failure and a flare
LIVE_EVENTS = (Event.FAILED, Event.ALERT)


def compose(folder: Folder, event: dict[str, Any], entry: str, *, from_address: str,
            keyword: str = "ASTRAN-LAUNCH", alert_to: tuple[str, ...] = ()) -> EmailMessage | None:
    """Build the reply to one event, or None when nobody is to be told.

    Parameters
    ----------
    folder : Folder
        The request folder as it is now.
    event : dict
        The events.jsonl record ({"time", "event", "step", "detail", "attempt"}).
    entry : str
        The queue entry's stem, unique within the request (makes the Message-ID).
    from_address : str
        The site's sender address.
    keyword : str
        The subject keyword (named in the rejected reply).
    alert_to : tuple of str
        The site's alert list (``alerts.to``), told of an ``alert`` event besides the request's people.
    """
    to = recipients(folder)
    if event.get("event") == Event.ALERT:
        to += [a for a in alert_to if a.lower() not in {t.lower() for t in to}]
    if not to:
        return None
    name = event.get("event")
    build = BODIES.get(name)
    if build is None:
        return None
    subject_tail, body, attachments = build(folder, event, keyword)
    domain = from_address.rsplit("@", 1)[-1]
    root = thread_root(folder, domain)
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to[0]
    if to[1:]:
        message["Cc"] = ", ".join(to[1:])
    original = (folder.origin or {}).get("subject")
    if original:
        stripped = re.sub(r"^\s*(re\s*:\s*)+", "", str(original), flags=re.IGNORECASE)
        message["Subject"] = f"Re: {stripped} [{subject_tail}]"
    else:
        message["Subject"] = f"[astran] {folder.request_id}: {subject_tail}"
    message["Date"] = formatdate(localtime=False, usegmt=True)
    own_root = folder.origin is None and name in (Event.ACCEPTED, Event.REJECTED)
    message["Message-ID"] = root if own_root else f"<astran.{folder.request_id}.{entry}@{domain}>"
    if not own_root:
        message["In-Reply-To"] = root
        message["References"] = root
    message["Auto-Submitted"] = "auto-replied"
    message["X-Astran-Request"] = folder.request_id
    message["X-Astran-Event"] = str(name)
    message.set_content(body)
    for filename, data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message
