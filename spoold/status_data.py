"""What the spool holds, as data: the rows of ``spool status`` and the status page (docs/spoold.md).

:func:`table` gives one row per request (``spool status``, ``spool status --json``); :func:`page_data`
gives everything ``spool/status.html`` shows (``spool status --page``): every request with, per step and
per task, its state, attempt, job id, when it ran and how it ended, links to its log and report; the
requests waiting for data with their deadline; the standing orders with the last night each made a
request for; the alerts sent. Everything is read from the spool's folders (``state.json``, the standing
orders' ledger), so the page says what ``ls`` and ``cat`` say.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spoold import state as st
from spoold.spool import Spool
from spoold.states import Folder, RequestState

if TYPE_CHECKING:
    from spoold.site import Site

__all__ = ["PAGE_VERSION", "page_data", "request_record", "row", "table"]

#: The shape of :func:`page_data` (raised when a key changes meaning).
PAGE_VERSION = 1


def row(where: str, folder: Path, aside: bool = False) -> dict[str, Any]:
    """One request's row of ``spool status``: id, state, step, progress, source, night(s), runs, submitter."""
    state = st.load(folder) or {}
    request = state.get("request") or {}
    shown = state.get("state") or where
    if aside or where == Folder.CORRUPT:
        shown = "put aside"
    elif where == Folder.HOLD:
        shown = RequestState.HELD.value
    elif where == Folder.RUNNING and state.get("hold_requested"):
        shown = "running (hold asked)"
    return {
        "id": folder.name,
        "file": state.get("incoming_name"),
        "state": shown,
        "folder": where,
        "step": state.get("step"),
        "progress": (st.progress(state) or None) if where in (Folder.RUNNING, Folder.HOLD) else None,
        "source": request.get("source"),
        "night": request.get("night") or _nights_text(request.get("nights")),
        "nights": list(request.get("nights") or ([request["night"]] if request.get("night") else [])),
        "runs": len(state.get("runs") or request.get("runs") or []) or None,
        "submitter": state.get("submitter"),
        "updated": state.get("updated"),
    }


def _nights_text(nights: list[str] | None) -> str | None:
    """A several-night request's nights in a table cell: ``2023-12-05…2023-12-07 (3)``."""
    if not nights:
        return None
    return nights[0] if len(nights) == 1 else f"{nights[0]}…{nights[-1]} ({len(nights)})"


def _incoming_row(name: str) -> dict[str, Any]:
    """A file not claimed yet: it has no id until the daemon takes it."""
    return {"id": None, "file": name, "state": "incoming", "folder": "incoming", "step": None, "progress": None,
            "source": None, "night": None, "nights": [], "runs": None, "submitter": None, "updated": None}


def table(spool: Spool, states: list[str] | None) -> list[dict[str, Any]]:
    """Rows for every request (in incoming too, as 'incoming')."""
    rows = []
    if not states or "incoming" in states:
        rows += [_incoming_row(name) for name in spool.incoming_names()]
    for where, folder in spool.all_requests():
        if states and where not in states:
            continue
        rows.append(row(where, folder, spool.aside_reason(folder.name) is not None))
    return rows


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (_dt.datetime.fromisoformat(end) - _dt.datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def _link(spool: Spool, folder: Path, relative: str | None) -> str | None:
    """A path relative to the spool root (as the page links it), when the file is there."""
    if not relative:
        return None
    path = folder / relative
    return os.path.relpath(path, spool.root) if path.exists() else None


def request_record(spool: Spool, where: str, folder: Path, now: _dt.datetime) -> dict[str, Any]:
    """A request as the page shows it: its row, and its steps, tasks, waiting, error and links."""
    record = row(where, folder, spool.aside_reason(folder.name) is not None)
    state = st.load(folder) or {}
    claimed = state.get("claimed_at")
    record.update(
        origin=state.get("origin", "file"), standing_order=state.get("standing_order"),
        attempt=int(state.get("attempt") or 1), error=state.get("error"),
        age_seconds=round(now.timestamp() - float(claimed), 1) if claimed else None,
        report=_link(spool, folder, "report.html") or _link(spool, folder, "products/report.html"),
        events=_link(spool, folder, "events.jsonl"), waiting=None, steps=[],
    )
    waiting = state.get("waiting")
    if state.get("state") == RequestState.WAITING and waiting:
        record["waiting"] = {"missing": len(waiting.get("missing") or []), "since": waiting.get("since"),
                             "deadline": waiting.get("until")}
    attempt = record["attempt"]
    for name, rec in (state.get("steps") or {}).items():
        if rec.get("attempt", attempt) != attempt:
            continue
        handle = rec.get("handle") or {}
        tasks = []
        for index, task in sorted((rec.get("tasks") or {}).items(), key=lambda kv: int(kv[0])):
            tasks.append({
                "label": task.get("label", index), "state": task.get("state"), "job_id": task.get("job_id"),
                "exit_code": task.get("exit_code"), "detail": task.get("detail") or None,
                "started": task.get("started"), "finished": task.get("finished"),
                "seconds": _seconds(task.get("started"), task.get("finished")),
                "log": _link(spool, folder, task.get("log")),
            })
        record["steps"].append({
            "name": name, "status": rec.get("status"), "attempt": int(rec.get("attempt") or attempt),
            "retries": int(handle.get("retries") or 0), "job_id": handle.get("job_id"), "note": rec.get("note"),
            "started": rec.get("started"), "finished": rec.get("finished"),
            "seconds": _seconds(rec.get("started"), rec.get("finished")), "tasks": tasks,
        })
    return record


def _standing(spool: Spool, site: "Site | None") -> list[dict[str, Any]]:
    from spoold.standing import ledger
    from spoold.standing.maker import STANDING, order_files, read_order
    from spoold.standing.order import OrderRejected

    orders = []
    for path in order_files(spool):
        made = [r for r in ledger.records(spool.root / STANDING, path.stem) if r.get("request_id")]
        entry: dict[str, Any] = {"name": path.stem, "valid": True, "errors": [], "sources": [], "since": None,
                                 "requests_made": len(made), "last_night": made[-1]["night"] if made else None,
                                 "last_request": made[-1]["request_id"] if made else None}
        if site is not None:
            try:
                order = read_order(path, site)
                entry.update(sources=[s.name for s in order.sources], since=order.since.isoformat())
            except OrderRejected as rejected:
                entry.update(valid=False, errors=rejected.errors)
        orders.append(entry)
    return orders


def _alerts(spool: Spool) -> list[dict[str, Any]]:
    from spoold.alerts.ledger import all_alerts

    return [{k: a.get(k) for k in ("time", "source", "night", "run", "request_id", "flux_crab", "error_crab", "sigma",
                                   "detail")} for a in all_alerts(spool.root)]


def page_data(spool: Spool, site: "Site | None" = None, now: _dt.datetime | None = None) -> dict[str, Any]:
    """Everything the status page shows, as JSON-ready data (see the module's description)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    requests = [dict(_incoming_row(name), origin=None, standing_order=None, attempt=None, error=None,
                     age_seconds=None, report=None, events=None, waiting=None, steps=[])
                for name in spool.incoming_names()]
    requests += [request_record(spool, where, folder, now) for where, folder in spool.all_requests()]
    return {
        "version": PAGE_VERSION,
        "generated": now.isoformat(timespec="seconds"),
        "spool": str(spool.root),
        "requests": requests,
        "waiting": [{"id": r["id"], "source": r["source"], **r["waiting"]} for r in requests if r["waiting"]],
        "standing": _standing(spool, site),
        "alerts": _alerts(spool),
    }
