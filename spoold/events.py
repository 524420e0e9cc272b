"""``events.jsonl`` and the request's ``log``: what happened to a request, append-only.

One JSON line per event: ``{"time", "event", "step", "detail", "attempt"}`` with
``event`` one of :class:`Event`. Lines are appended with O_APPEND and fsynced.
The first line is the claim (``claimed``, its detail the name the file had in
``incoming``), written before the file is moved into the request's folder: the
record a restarted daemon validates a claimed request from.
``step-done`` events are the journal of completed steps: :func:`append_once`
never writes the same (event, step, attempt) twice, so a daemon that crashed
after writing one and restarts does not write it again.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spoold.states import Text



class Event(Text):
    """What a journal line says happened (its ``event``)."""

    CLAIMED = "claimed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WAITING = "waiting"
    RESUMED = "resumed"
    STEP_DONE = "step-done"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RETRIED = "retried"
    HELD = "held"
    RELEASED = "released"
    PUT_ASIDE = "put-aside"
    ALERT = "alert"


#: what a journal line's ``event`` may say
EVENTS: tuple[str, ...] = tuple(event.value for event in Event)
EVENTS_FILE = "events.jsonl"
LOG_FILE = "log"


def _append(path: Path, line: str, *, sync: bool = True) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def read(folder: Path) -> list[dict[str, Any]]:
    """Return the events of a request (a torn last line is skipped)."""
    try:
        text = (Path(folder) / EVENTS_FILE).read_text(encoding="utf-8")
    except OSError:
        return []
    return _parse(text)


def _parse(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def make(event: str, *, step: str | None = None, detail: str = "", attempt: int = 1,
         at: float | None = None) -> dict[str, Any]:
    """Return an event record (of now, or of the Unix time ``at``)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    when = datetime.now(timezone.utc) if at is None else datetime.fromtimestamp(at, timezone.utc)
    return {
        "time": when.isoformat(timespec="milliseconds"),
        "event": event,
        "step": step,
        "detail": detail,
        "attempt": attempt,
    }


def append(folder: Path, record: dict[str, Any], *, durable: bool = True) -> None:
    """Append one event to ``events.jsonl`` (fsynced unless ``durable=False``)."""
    _append(Path(folder) / EVENTS_FILE, json.dumps(record) + "\n", sync=durable)


def append_once(folder: Path, record: dict[str, Any], *, durable: bool = True) -> bool:
    """Append an event unless one with the same (event, step, attempt) is there; True if written.

    One open for the read and the append (the daemon is the journal's only writer).
    """
    fd = os.open(Path(folder) / EVENTS_FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        for old in _parse(b"".join(chunks).decode("utf-8", "replace")):
            if (
                old.get("event") == record["event"]
                and old.get("step") == record["step"]
                and old.get("attempt", 1) == record["attempt"]
            ):
                return False
        data = (json.dumps(record) + "\n").encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return True


def claim_of(folder: Path) -> tuple[str, float] | None:
    """Return (the name in incoming, claim time as a Unix time) from a request's ``claimed`` event, or None."""
    for record in read(folder):
        if record.get("event") == Event.CLAIMED:
            try:
                return str(record["detail"]), datetime.fromisoformat(record["time"]).timestamp()
            except (KeyError, TypeError, ValueError):
                return None
    return None


def log(folder: Path, message: str) -> None:
    """Append a timestamped line to the request's ``log``."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _append(Path(folder) / LOG_FILE, f"{stamp} {message}\n", sync=False)  # for people: no fsync
