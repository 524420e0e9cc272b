"""``spool standing add|list|show|remove``: the spool's standing orders (docs/standing.md).

An order is a file ``spool/standing/<name>.yaml``; the daemon makes one ordinary request from it per
night whose run catalogue lists runs of its source, once that night's data are complete, and records each
in ``spool/standing/.made/<name>/``. ``remove`` keeps the file, in ``spool/standing/.removed/``, and the
record: an order added again does not make its nights again.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
from pathlib import Path

from spoold.cli import SpoolCommandError, site_and_spool
from spoold.files import write_atomic
from spoold.request.nights import tonight
from spoold.standing import ledger
from spoold.standing.maker import STANDING, order_files, read_order
from spoold.standing.nights import night_data
from spoold.standing.order import OrderRejected, is_order_name, parse_order

__all__ = ["add_arguments", "run"]

#: Removed orders are kept here (with the time of removal in their name).
REMOVED = ".removed"
#: ``show`` looks this many nights back for nights still waiting.
SHOW_NIGHTS = 14


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The action (add, list, show, remove) and its argument."""
    from spoold.cli import add_common

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="check an order file and add it to the spool")
    add.add_argument("file", type=Path, help="the order (YAML; see docs/standing.md)")
    add.add_argument("--name", help="the order's name (default: the file's name without .yaml)")
    add.add_argument("--replace", action="store_true", help="replace an order of that name")
    listing = actions.add_parser("list", help="list the orders, with the nights each made a request for")
    show = actions.add_parser("show", help="an order, its requests and the nights it waits for")
    show.add_argument("name", help="the order's name")
    remove = actions.add_parser("remove", help="stop an order (its file and records are kept)")
    remove.add_argument("name", help="the order's name")
    for action in (add, listing, show, remove):
        add_common(action)


def run(args: argparse.Namespace) -> int:
    """Run the action; 0 done, 1 an order that is not valid, 2 a usage error."""
    site, spool = site_and_spool(args)
    folder = spool.root / STANDING
    if args.action == "add":
        return _add(site, folder, args)
    if args.action == "list":
        return _list(site, spool)
    name = _name(args.name)
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in order_files(spool)) or "none"
        raise SpoolCommandError(f"There is no standing order {name} in {folder}; the orders are: {known}.")
    if args.action == "remove":
        return _remove(folder, path)
    return _show(site, spool, path)


def _name(text: str) -> str:
    if not is_order_name(text):
        raise SpoolCommandError(f"'{text[:60]}' cannot name a standing order: use lower-case letters, digits and "
                                "dashes (at most 40, starting with a letter or digit), like crab-health.")
    return text


def _add(site, folder: Path, args: argparse.Namespace) -> int:
    name = _name(args.name or args.file.name.removesuffix(".yaml").removesuffix(".yml"))
    if not args.file.is_file():
        raise SpoolCommandError(f"{args.file} is not there; give the path of a YAML standing order.")
    raw = args.file.read_bytes()
    try:
        order = parse_order(raw, name=name, site=site, added=tonight(_dt.datetime.now(_dt.timezone.utc)))
    except OrderRejected as rejected:
        print(f"{args.file} is not a valid standing order:\n" + "\n".join(f"  {e}" for e in rejected.errors)
              + "\nNothing was added.")
        return 1
    target = folder / f"{name}.yaml"
    if target.exists() and not args.replace:
        raise SpoolCommandError(f"There is a standing order {name} already ({target}); give --replace to replace "
                                "it, or --name for another name.")
    folder.mkdir(exist_ok=True)
    write_atomic(target, raw)
    sources = ", ".join(s.name for s in order.sources)
    print(f"standing order {name} added: {sources}, every night from {order.since} with runs of "
          f"{'it' if len(order.sources) == 1 else 'one of them'}; the daemon makes each night's request once "
          "its data are complete ('spool standing show " + name + "').")
    return 0


def _list(site, spool) -> int:
    files = order_files(spool)
    if not files:
        print(f"no standing orders in {spool.root / STANDING} ('spool standing add FILE' adds one)")
        return 0
    for path in files:
        try:
            order = read_order(path, site)
        except OrderRejected as rejected:
            print(f"{path.stem}  NOT VALID, makes no requests: {' '.join(rejected.errors)}")
            continue
        made = [r for r in ledger.records(spool.root / STANDING, order.name) if r.get("request_id")]
        last = f", last for the night {made[-1]['night']}" if made else ""
        runs = sum(1 for r in made if r.get("live_run") is not None)
        live = f" (live: {runs} of them for one run each)" if order.live else ""
        print(f"{order.name}  {', '.join(s.name for s in order.sources)}  since {order.since}  "
              f"{len(made)} request{'' if len(made) == 1 else 's'} made{live}{last}")
    return 0


def _show(site, spool, path: Path) -> int:
    try:
        order = read_order(path, site)
    except OrderRejected as rejected:
        print(path.read_text(encoding="utf-8", errors="replace").rstrip())
        print(f"\nNOT VALID, makes no requests:\n" + "\n".join(f"  {e}" for e in rejected.errors))
        return 1
    print(path.read_text(encoding="utf-8", errors="replace").rstrip() + "\n")
    records = ledger.records(spool.root / STANDING, order.name)
    print(f"requests made ({len(records)}):" if records else "requests made: none yet")
    for record in records:
        found = spool.find(record["request_id"]) if record.get("request_id") else None
        where = f"{found[0]}/" if found else "in incoming/ or removed"
        print(f"  {record['night']}  {record['source']}  {record['request_id']}  {where}  runs "
              f"{', '.join(map(str, record.get('runs') or [])) or '(as found)'}")
    now = _dt.datetime.now(_dt.timezone.utc)
    level = str(order.request_values.get("start_from", "dl1"))
    night = max(order.since, tonight(now) - _dt.timedelta(days=SHOW_NIGHTS))
    waiting = []
    while night <= tonight(now):
        for source in order.sources:
            if ledger.made(spool.root / STANDING, order.name, night, source.name) is None:
                data = night_data(site, night, source, level=level, now=now)
                if data is not None:
                    waiting.append(f"  {night}  {source.name}  runs {', '.join(map(str, data.runs))}: "
                                   + ("complete, the daemon makes its request on its next pass" if data.complete
                                      else data.why))
        night += _dt.timedelta(days=1)
    print("nights waiting:" if waiting else f"nights waiting: none in the last {SHOW_NIGHTS} nights")
    for line in waiting:
        print(line)
    return 0


def _remove(folder: Path, path: Path) -> int:
    kept = folder / REMOVED
    kept.mkdir(exist_ok=True)
    target = kept / f"{path.stem}.{_dt.datetime.now(_dt.timezone.utc):%Y%m%d-%H%M%S}.yaml"
    os.rename(path, target)
    print(f"standing order {path.stem} removed: it makes no more requests (its file is kept as {target}; its "
          "records stay, so adding it again does not make its nights again).")
    return 0
