"""``spool status [ID]``: a table of requests, or one request in detail."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spoold import events, state as st
from spoold.cli import SpoolCommandError, site_and_spool
from spoold.commands import check_id
from spoold.lock import describe, holder_alive, read_holder
from spoold.status_data import page_data, row as _row, table
from spoold.spool import STATE_DIRS, Spool
from spoold.states import Folder, RequestState


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``[ID]``, ``--state``, ``--json``."""
    parser.add_argument("id", nargs="?", help="show this request in detail")
    parser.add_argument("--state", action="append", choices=STATE_DIRS + ("incoming",),
                        help="only requests in this state folder (repeatable)")
    parser.add_argument("--json", action="store_true", help="print state.json (with ID) or a JSON list")
    parser.add_argument("--page", action="store_true",
                        help="print, as JSON, everything the status page (spool/status.html) shows")


def _cell(row: dict[str, Any], column: str) -> str:
    """What the table shows: a file not yet claimed by its name, the time to the second, nothing for None."""
    value = row["file"] if column == "id" and row["id"] is None else row[column]
    if column == "updated" and value:
        value = value[:19].replace("T", " ")
    return "" if value is None else str(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    """Print rows as an aligned table."""
    columns = ["id", "state", "step", "progress", "source", "night", "runs", "submitter", "updated"]
    cells = [{c: _cell(r, c) for c in columns} for r in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in cells:
        print("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())


def detail(spool: Spool, request_id: str) -> str:
    """The text of ``spool status ID``."""
    found = spool.find(request_id)
    if found is None:
        if (spool.dir("incoming") / f"{request_id}.yaml").exists():
            return f"{request_id}: in incoming, not yet picked up by the daemon."
        raise SpoolCommandError(f"There is no request {request_id} in {spool.root}; see 'spool status'.")
    where, folder = found
    state = st.load(folder) or {}
    request = state.get("request") or {}
    aside = spool.aside_reason(request_id)
    lines = [f"request   {request_id}", f"state     {_row(where, folder, aside is not None)['state']}  (folder {folder})"]
    if aside:
        lines += [f"          {line}" for line in aside.splitlines()]
    if request:
        lines.append(f"source    {request.get('source')} (RA {request.get('ra_deg')}, Dec {request.get('dec_deg')})")
        nights = request.get("nights") or []
        when = request.get("night") or (", ".join(nights) if nights else "(the nights of the runs named)")
        lines.append(f"{'nights' if len(nights) > 1 else 'night '}    {when}   "
                     f"start from {request.get('start_from')}   "
                     f"IRF set {request.get('irf_set')}")
        lines.append(f"products  {', '.join(request.get('products') or [])}")
    if state.get("runs"):
        lines.append(f"runs      {', '.join(str(r) for r in state['runs'])}")
    origin = state.get("origin", "file")
    if state.get("standing_order"):
        origin += f" {state['standing_order']}"
    lines.append(f"submitter {state.get('submitter')} (by {origin}), "
                 f"attempt {state.get('attempt', 1)}")
    waiting = state.get("waiting")
    if state.get("state") == RequestState.WAITING and waiting:
        lines.append(f"waiting   for {len(waiting.get('missing') or [])} input file(s) since {waiting.get('since')}, "
                     f"until {waiting.get('until')}; then it fails:")
        reasons = waiting.get("reasons") or {}
        for path in (waiting.get("missing") or [])[:20]:
            lines.append(f"            {path}")
            if path in reasons:
                lines.append(f"              {reasons[path]}")
    if state.get("error"):
        lines.append(f"error     {state['error']}")
    attempt = state.get("attempt", 1)
    for name, rec in (state.get("steps") or {}).items():
        if rec.get("attempt") != attempt:
            continue
        job = (rec.get("handle") or {}).get("job_id")
        note = f" — {rec['note']}" if rec.get("note") else ""
        lines.append(f"step {name:<9} {rec.get('status')}{' (job ' + str(job) + ')' if job else ''}{note}")
        for index, task in sorted((rec.get("tasks") or {}).items(), key=lambda kv: int(kv[0])):
            lines.append(
                f"    {task.get('label', index):<10} {task.get('state', ''):<10} "
                f"{task.get('job_id') or '':<14} {task.get('detail') or ''}  {task.get('log') or ''}".rstrip()
            )
    for old in state.get("history") or []:
        lines.append(f"earlier   attempt {old.get('attempt')}: {old.get('state')} in step {old.get('step')}"
                     f"{': ' + old['error'] if old.get('error') else ''}")
    if (folder / "errors.txt").is_file():
        lines.append("errors:")
        lines += ["  " + e for e in (folder / "errors.txt").read_text(encoding="utf-8", errors="replace").splitlines()]
    if (folder / "error.txt").is_file():
        lines.append(f"see {folder / 'error.txt'} for the failing step's log")
    recent = events.read(folder)[-8:]
    if recent:
        lines.append("events:")
        lines += [f"  {e.get('time', '')[:19].replace('T', ' ')}  {e.get('event')}"
                  f"{' ' + e['step'] if e.get('step') else ''}  {e.get('detail', '')}" for e in recent]
    return "\n".join(lines)


def daemon_line(spool: Spool) -> str:
    """Who serves the spool."""
    info = read_holder(spool.root)
    if info and holder_alive(info):
        return f"served by {describe(info, now=datetime.now(timezone.utc).timestamp())}"
    return "no daemon is serving this spool: start 'spoold --spool " + str(spool.root) + "'"


def run(args: argparse.Namespace) -> int:
    """Print the table, the status page's data or one request."""
    site, spool = site_and_spool(args)
    problems = spool.check_layout()
    if problems:
        raise SpoolCommandError(" ".join(problems))
    if args.id:
        check_id(args.id)
        if args.json:
            found = spool.find(args.id)
            if found is None:
                raise SpoolCommandError(f"There is no request {args.id} in {spool.root}.")
            print(json.dumps(st.load(found[1]) or {}, indent=1))
        else:
            print(detail(spool, args.id))
        return 0
    if args.page:
        print(json.dumps(page_data(spool, site), indent=1))
        return 0
    rows = table(spool, args.state)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"spool {spool.root}: {daemon_line(spool)}")
    if not rows:
        print("no requests.")
        return 0
    print_table(rows)
    return 0
