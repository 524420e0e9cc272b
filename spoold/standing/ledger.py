"""What each standing order made: one record per order, night and source, written once.

``spool/standing/.made/<order>/<YYYYMMDD>-<source>.json`` holds the id of the request made for that night
and source, its runs and when. A record is written after the request is in ``incoming/`` (by rename), and
the request's id is a function of the order, the night and the source (:func:`request_id_for`): a daemon
that died between the two finds the request by its id and writes the record; nothing is made twice.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from pathlib import Path
from typing import Any

from spoold.files import read_json, write_json

__all__ = ["LEDGER", "made", "record", "records", "request_id_for"]

#: The ledger's folder, inside ``spool/standing/``.
LEDGER = ".made"
_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def _path(standing: Path, order: str, night: _dt.date, source: str, run: int | None = None) -> Path:
    tail = f"-run{run:05d}" if run is not None else ""
    return standing / LEDGER / order / f"{night:%Y%m%d}-{_slug(source)[:40]}{tail}.json"


def request_id_for(order: str, night: _dt.date, source: str, run: int | None = None) -> str:
    """The id of the request an order makes for a night and source: ``<night>-000000-<order>-<hash>``;
    a live order's request for one run of it: ``<night>-000000-<order>-run<run>-<hash>``.

    It sorts by night in ``ls spool/done``; the four hex digits tell apart orders and sources that share
    a name's first characters.
    """
    key = f"{order}\0{night:%Y%m%d}\0{source}" + (f"\0{run}" if run is not None else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:4]
    if run is None:
        return f"{night:%Y%m%d}-000000-{order[:36].strip('-')}-{digest}"
    return f"{night:%Y%m%d}-000000-{order[:28].strip('-')}-run{run}-{digest}"


def made(standing: Path, order: str, night: _dt.date, source: str, run: int | None = None) -> dict[str, Any] | None:
    """The record of what ``order`` made for ``night`` and ``source`` (for one ``run`` of a live order), or None."""
    try:
        return read_json(_path(standing, order, night, source, run))
    except (FileNotFoundError, ValueError):
        return None


def record(standing: Path, order: str, night: _dt.date, source: str, *, request_id: str, runs: list[int],
           why: str, run: int | None = None) -> None:
    """Write the record (temp + fsync + rename); ``run`` for a live order's request for one run."""
    path = _path(standing, order, night, source, run)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"order": order, "night": night.isoformat(), "source": source, "request_id": request_id,
                      "runs": runs, "made_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                      "why": why, **({"live_run": run} if run is not None else {})})


def records(standing: Path, order: str) -> list[dict[str, Any]]:
    """Every record of an order, by night."""
    out = []
    for path in sorted((standing / LEDGER / order).glob("*.json")):
        try:
            out.append(read_json(path))
        except (OSError, ValueError):
            continue
    return out
