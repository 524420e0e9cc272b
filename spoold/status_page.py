"""``spool/status.html``: the spool on one self-contained page, readable offline and on a phone.

:func:`render` turns :func:`spoold.status_data.page_data` into HTML (inline CSS, no script, no file
from elsewhere; links relative to the spool root, where the page is). :class:`StatusPage` is the
daemon's part: told of every change of state (:meth:`~StatusPage.changed`), its :meth:`~StatusPage.loop`
rewrites the page atomically at most every :data:`MIN_INTERVAL_SECONDS`.
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spoold.files import write_atomic
from spoold.states import Folder
from spoold.status_data import page_data

if TYPE_CHECKING:
    from spoold.site import Site
    from spoold.spool import Spool

log = logging.getLogger("spoold.status")

__all__ = ["MIN_INTERVAL_SECONDS", "PAGE", "StatusPage", "render", "write_page"]

#: The page, in the spool root.
PAGE = "status.html"
#: The page is rewritten at most this often while requests change.
MIN_INTERVAL_SECONDS = 2.0

_CSS = """
body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:0 12px 24px;color:#1b1b1b;background:#fafafa}
h1{font-size:1.3em;margin:12px 0 2px}h2{font-size:1.1em;margin:20px 0 6px;border-bottom:1px solid #ccc}
.meta{color:#555;font-size:.9em}.req{background:#fff;border:1px solid #ddd;border-radius:6px;margin:8px 0;padding:8px}
.req>summary{cursor:pointer;list-style:none}.req>summary::-webkit-details-marker{display:none}
.state{display:inline-block;border-radius:4px;padding:0 6px;font-weight:600;font-size:.85em;color:#fff;background:#777}
.s-done{background:#2e7d32}.s-failed,.s-lost{background:#c62828}.s-running,.s-submitted{background:#1565c0}
.s-waiting{background:#ef6c00}.s-held{background:#6a1b9a}.s-rejected,.s-cancelled,.s-put-aside{background:#5d4037}
.s-pending,.s-incoming,.s-queued{background:#616161}.s-succeeded{background:#2e7d32}.s-skipped{background:#9e9e9e}
.id{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:4px 0}th,td{text-align:left;padding:3px 6px;
border-bottom:1px solid #eee;vertical-align:top}th{color:#555;font-weight:600}.err{color:#b71c1c}
@media (max-width:640px){table,thead,tbody,tr,th,td{display:block}thead{display:none}
tr{border-bottom:1px solid #ddd;padding:4px 0}td{border:0;padding:1px 4px}td:empty{display:none}
td[data-label]::before{content:attr(data-label) ": ";color:#666}}
"""


def _e(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _state(text: Any) -> str:
    name = str(text or "").replace(" ", "-").split("(")[0].strip("-")
    return f'<span class="state s-{_e(name)}">{_e(text)}</span>'


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _link(href: str | None, text: str) -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>' if href else ""


def _cells(values: list[tuple[str, str]]) -> str:
    return "<tr>" + "".join(f'<td data-label="{_e(label)}">{value}</td>' for label, value in values) + "</tr>"


def _request(record: dict[str, Any]) -> str:
    rid = record["id"] or record.get("file")
    nights = ", ".join(record.get("nights") or []) or _e(record.get("night"))
    origin = _e(record.get("origin") or "")
    if record.get("standing_order"):
        origin += f" {_e(record['standing_order'])}"
    head = (f'<summary>{_state(record["state"])} <b>{_e(record.get("source") or "")}</b> '
            f'{_e(nights)} <span class="meta">{_e(record.get("step") or "")} {_e(record.get("progress") or "")}'
            f'</span><br><span class="id">{_e(rid)}</span></summary>')
    parts = [f'<p class="meta">submitter {_e(record.get("submitter"))} (by {origin or "file"}), attempt '
             f'{_e(record.get("attempt"))}, age {_duration(record.get("age_seconds"))}, folder '
             f'{_e(record.get("folder"))}/ {_link(record.get("report"), "report")} '
             f'{_link(record.get("events"), "events")}</p>']
    if record.get("waiting"):
        w = record["waiting"]
        parts.append(f'<p>waiting for {_e(w["missing"])} input file(s) since {_e(w["since"])}, '
                     f'<b>deadline {_e(w["deadline"])}</b></p>')
    if record.get("error"):
        parts.append(f'<p class="err">{_e(record["error"])}</p>')
    rows = []
    for step in record.get("steps") or []:
        rows.append(_cells([("step", f"<b>{_e(step['name'])}</b>"), ("task", ""), ("state", _state(step["status"])),
                            ("attempt", _e(step["attempt"]) + (f" (+{step['retries']} retries)" if step["retries"]
                                                                 else "")),
                            ("job", _e(step.get("job_id"))), ("duration", _duration(step.get("seconds"))),
                            ("exit", ""), ("log", _e(step.get("note") or ""))]))
        for task in step["tasks"]:
            rows.append(_cells([("step", ""), ("task", _e(task["label"])), ("state", _state(task["state"])),
                                ("attempt", ""), ("job", _e(task.get("job_id"))),
                                ("duration", _duration(task.get("seconds"))), ("exit", _e(task.get("exit_code"))),
                                ("log", _link(task.get("log"), "log"))]))
    if rows:
        header = "".join(f"<th>{h}</th>" for h in ("step", "task", "state", "attempt", "job", "duration", "exit",
                                                   "log"))
        parts.append(f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    open_ = " open" if record.get("folder") in (Folder.RUNNING, Folder.HOLD) else ""
    # newest first (ids begin with the time of submission; a file not yet taken has none and comes first)
    return f'<details class="req" id="r-{_e(rid)}" data-state="{_e(record["state"])}"{open_}>{head}{"".join(parts)}</details>'


def render(data: dict[str, Any]) -> str:
    """The page of :func:`spoold.status_data.page_data`'s data."""
    requests = data["requests"]
    counts: dict[str, int] = {}
    for record in requests:
        counts[record["state"]] = counts.get(record["state"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no requests"
    waiting = "".join(_cells([("request", f'<a href="#r-{_e(w["id"])}" class="id">{_e(w["id"])}</a>'),
                              ("source", _e(w["source"])), ("missing", _e(w["missing"])),
                              ("deadline", _e(w["deadline"]))]) for w in data["waiting"])
    standing = "".join(_cells([
        ("order", f"<b>{_e(o['name'])}</b>"), ("sources", _e(", ".join(o["sources"])) if o["valid"]
                                              else f'<span class="err">not valid: {_e(" ".join(o["errors"]))}</span>'),
        ("since", _e(o["since"])), ("requests", _e(o["requests_made"])),
        ("last night", _e(o["last_night"]) + (f' <a href="#r-{_e(o["last_request"])}">→</a>'
                                              if o["last_request"] else ""))]) for o in data["standing"])
    alerts = "".join(_cells([(k, _e(a.get(k))) for k in ("time", "source", "night", "detail")]) for a in data["alerts"])

    def section(title: str, anchor: str, headers: tuple[str, ...], body: str, empty: str) -> str:
        if not body:
            return f'<h2 id="{anchor}">{title}</h2><p class="meta">{empty}</p>'
        head = "".join(f"<th>{h}</th>" for h in headers)
        return f'<h2 id="{anchor}">{title}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>astran spool {_e(data['spool'])}</title><style>{_CSS}</style></head><body>"
        f"<h1>astran spool</h1><p class=\"meta\">{_e(data['spool'])} — written {_e(data['generated'])} UTC "
        f"by spoold — {_e(summary)}</p>"
        + section("Waiting for data", "waiting-for-data", ("request", "source", "missing", "deadline"), waiting,
                  "No request is waiting for data.")
        + f'<h2 id="requests">Requests ({len(requests)})</h2>'
        + "".join(_request(r) for r in sorted(requests, key=lambda r: r["id"] or "~", reverse=True))
        + section("Standing orders", "standing", ("order", "sources", "since", "requests", "last night"), standing,
                  "No standing orders.")
        + section("Alerts sent", "alerts", ("time", "source", "night", "detail"), alerts, "No alerts sent.")
        + "</body></html>\n"
    )


def write_page(spool: "Spool", site: "Site | None") -> Path:
    """Write ``spool/status.html`` now (temp + fsync + rename)."""
    path = spool.root / PAGE
    write_atomic(path, render(page_data(spool, site)), sync_dir=False)
    return path


class StatusPage:
    """The daemon's part: rewrites the page after changes, at most every :data:`MIN_INTERVAL_SECONDS`."""

    def __init__(self, site: "Site", spool: "Spool") -> None:
        self.site = site
        self.spool = spool
        self._dirty = True
        self._written = float("-inf")

    def changed(self) -> None:
        """A request changed: the page is rewritten on the next :meth:`loop` that may."""
        self._dirty = True

    def loop(self, *, force: bool = False) -> bool:
        """Rewrite the page if something changed and it is time; True when written."""
        if not self._dirty or (not force and time.monotonic() - self._written < MIN_INTERVAL_SECONDS):
            return False
        try:
            write_page(self.spool, self.site)
        except Exception:  # noqa: BLE001 - the page is a view: it never stops the daemon
            log.exception("the status page could not be written")
            return False
        self._dirty, self._written = False, time.monotonic()
        return True
