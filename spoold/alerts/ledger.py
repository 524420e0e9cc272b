"""The alerts sent, one file per night and source: ``spool/alerts/<YYYYMMDD>-<source>.json``.

Each holds the list of alerts told for that source that night (time, request, run, bin, flux, threshold),
in order. :mod:`spoold.alerts.watch` appends to it after the alert is journalled on its request (which
the mail notifier sends once: an event is journalled at most once per request), so a daemon killed in
between tells nothing twice.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

from spoold.files import read_json, write_json

__all__ = ["ALERTS", "add", "all_alerts", "told"]

#: the folder of the alert records, in the spool root
ALERTS = "alerts"
_SLUG = re.compile(r"[^a-z0-9]+")


def _path(spool_root: Path, night: _dt.date, source: str) -> Path:
    slug = _SLUG.sub("-", source.lower()).strip("-")[:40]
    return Path(spool_root) / ALERTS / f"{night:%Y%m%d}-{slug}.json"


def told(spool_root: Path, night: _dt.date, source: str) -> list[dict[str, Any]]:
    """The alerts told for ``source`` on ``night``, in order."""
    try:
        return list(read_json(_path(spool_root, night, source)).get("alerts") or [])
    except (FileNotFoundError, ValueError, AttributeError):
        return []


def add(spool_root: Path, night: _dt.date, source: str, alert: dict[str, Any]) -> None:
    """Append an alert (temp + fsync + rename); the same request's alert is never added twice."""
    path = _path(spool_root, night, source)
    alerts = [a for a in told(spool_root, night, source) if a.get("request_id") != alert.get("request_id")]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"night": night.isoformat(), "source": source, "alerts": alerts + [alert]})


def all_alerts(spool_root: Path) -> list[dict[str, Any]]:
    """Every alert told on the spool, newest first (for the status page)."""
    found = []
    for path in sorted((Path(spool_root) / ALERTS).glob("*.json")):
        try:
            data = read_json(path)
        except (OSError, ValueError):
            continue
        found += [dict(a, source=data.get("source"), night=data.get("night")) for a in data.get("alerts") or []]
    return sorted(found, key=lambda a: str(a.get("time")), reverse=True)
