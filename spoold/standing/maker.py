"""The daemon's part of standing orders: for each order, night and source, the night's request, made once.

:class:`StandingOrders` is one of the daemon's small objects: its :meth:`~StandingOrders.loop` reads the
orders in ``spool/standing/`` (an order that is not valid is said once in the log and in
``spool standing list``, and the others go on), and for every night from each order's ``since`` to
tonight whose run catalogue lists runs of the order's source it makes one ordinary request (written into
``incoming/``, validated by the intake as any other, with ``standing_order`` naming the order) once the
night's data are complete (:mod:`spoold.standing.nights`), and records it in the ledger
(:mod:`spoold.standing.ledger`). Only the daemon that holds the spool's lock runs it, so two daemons on one
spool make nothing twice; a daemon killed between the request and its record finds the request by its id.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from spoold.request.model import DEFAULT_PRODUCTS
from spoold.request.nights import tonight
from spoold.standing import ledger
from spoold.standing.nights import night_data, runs_ready
from spoold.standing.order import OrderRejected, StandingOrder, parse_order

if TYPE_CHECKING:
    from spoold.site import Site
    from spoold.spool import Spool

log = logging.getLogger("spoold.standing")

__all__ = ["STANDING", "StandingOrders", "order_files", "read_order", "request_text"]

#: The folder of the standing orders, in the spool root.
STANDING = "standing"


def order_files(spool: "Spool") -> list[Path]:
    """The order files in ``spool/standing/`` (``*.yaml``; dotfiles are being written), by name."""
    folder = spool.root / STANDING
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".yaml" and not p.name.startswith(".")
                      and p.is_file())
    except FileNotFoundError:
        return []


def read_order(path: Path, site: "Site") -> StandingOrder:
    """Read and check one order file; the night it was put there is its default ``since``.

    Raises
    ------
    OrderRejected
    """
    try:
        raw = path.read_bytes()
        added = tonight(_dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc))
    except OSError as error:
        raise OrderRejected([f"{path.name} cannot be read ({error.strerror})."]) from None
    return parse_order(raw, name=path.stem, site=site, added=added)


def request_text(order: StandingOrder, night: _dt.date, source: Any, runs: list[int], why: str, *,
                 site: "Site | None" = None, live: bool = False) -> str:
    """The ordinary request an order makes for a night and source; with ``live``, a live order's for one run.

    A live run's request carries ``live: true``; when the site has a flare threshold for the source
    (``alerts.sources``) it also asks for the light curve in the alerts' bins, above the threshold's energy
    unless the order names its own band.
    """
    values: dict[str, Any] = {"source": source.name}
    if order.given_coordinates:
        values.update(ra=source.ra_deg, dec=source.dec_deg)
    values.update(night=night.isoformat(), runs=list(runs), standing_order=order.name, **order.request_values)
    threshold = site.alerts.threshold_for(source.name) if (live and site is not None) else None
    if live:
        values["live"] = True
    if threshold is not None:
        products = list(values.get("products") or DEFAULT_PRODUCTS)
        values["products"] = products + ([] if "lightcurve" in products else ["lightcurve"])
        values["lightcurve"] = {"bin": f"{site.alerts.bin_minutes:g} min"}
        values.setdefault("energy_range", {"min": threshold.above_tev})
    what = f"run {runs[0]} of the night {night.isoformat()}, as it came" if live else f"the night {night.isoformat()}"
    head = f"# Made by the standing order {order.name} (spool/standing/{order.name}.yaml) for {what}:\n# {why}.\n"
    return head + yaml.safe_dump(values, sort_keys=False, default_flow_style=None, allow_unicode=True)


class StandingOrders:
    """Makes each order's requests; :meth:`loop` is one pass, at most every ``limits.reconcile_seconds``.

    Parameters
    ----------
    site : Site
    spool : Spool
    """

    def __init__(self, site: "Site", spool: "Spool") -> None:
        self.site = site
        self.spool = spool
        self.folder = spool.root / STANDING
        self._last = float("-inf")
        self._said: dict[Path, tuple[float, tuple[str, ...]]] = {}
        self._parsed: dict[Path, tuple[tuple[int, int, int], StandingOrder]] = {}  # valid orders by file version

    def loop(self, now: _dt.datetime | None = None, *, force: bool = False) -> list[str]:
        """Make the requests of every night that became complete; return their ids."""
        if not force and time.monotonic() - self._last < float(self.site.limits.reconcile_seconds):
            return []
        self._last = time.monotonic()
        now = now or _dt.datetime.now(_dt.timezone.utc)
        made: list[str] = []
        for path in order_files(self.spool):
            order = self._order(path)
            if order is None:
                continue
            try:
                made += self._serve(order, now)
            except OSError:
                log.exception("standing order %s: a night could not be served; trying again later", order.name)
        return made

    def _order(self, path: Path) -> StandingOrder | None:
        try:
            st = path.stat()
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            key = None
        cached = self._parsed.get(path)
        if key is not None and cached is not None and cached[0] == key:
            return cached[1]  # the same file as last pass: parsed and checked once per version
        try:
            order = read_order(path, self.site)
        except OrderRejected as rejected:
            key = (path.stat().st_mtime if path.exists() else 0.0, tuple(rejected.errors))
            if self._said.get(path) != key:  # once per version of the file
                self._said[path] = key
                log.error("standing order %s is not valid and makes no requests: %s", path.name,
                          " ".join(rejected.errors))
            return None
        self._said.pop(path, None)
        if key is not None:
            self._parsed[path] = (key, order)
        return order

    def _serve(self, order: StandingOrder, now: _dt.datetime) -> list[str]:
        made = []
        night, last = order.since, tonight(now)
        level = str(order.request_values.get("start_from", "dl1"))
        while night <= last:
            for source in order.sources:
                made += self._serve_night(order, night, source, level, now)
            night += _dt.timedelta(days=1)
        return made

    def _serve_night(self, order: StandingOrder, night: _dt.date, source: Any, level: str,
                     now: _dt.datetime) -> list[str]:
        if ledger.made(self.folder, order.name, night, source.name) is not None:
            return []
        request_id = ledger.request_id_for(order.name, night, source.name)
        if self._exists(request_id):  # made before a crash that came before its record
            ledger.record(self.folder, order.name, night, source.name, request_id=request_id, runs=[],
                          why="the request was found in the spool (its record was written after a restart)")
            return []
        data = night_data(self.site, night, source, level=level, now=now)
        if data is None:
            return []
        if not data.complete:
            return self._serve_runs(order, night, source, data.runs, level, now) if order.live else []
        self._drop(order, night, source, request_id, list(data.runs), data.why)
        return [request_id]

    def _serve_runs(self, order: StandingOrder, night: _dt.date, source: Any, runs: tuple[int, ...], level: str,
                    now: _dt.datetime) -> list[str]:
        """A live order's requests for the runs of a night not yet complete whose files came and are quiet."""
        made = []
        for run in runs_ready(self.site, night, runs, level=level, now=now):
            if ledger.made(self.folder, order.name, night, source.name, run) is not None:
                continue
            request_id = ledger.request_id_for(order.name, night, source.name, run)
            why = (f"its {level.upper()} file is there and unchanged for "
                   f"{float(self.site.limits.live_quiet_seconds):g} s")
            if self._exists(request_id):
                why = "the request was found in the spool (its record was written after a restart)"
            else:
                self._drop(order, night, source, request_id, [run], why, live=True)
                made.append(request_id)
            ledger.record(self.folder, order.name, night, source.name, request_id=request_id, runs=[run], why=why,
                          run=run)
        return made

    def _drop(self, order: StandingOrder, night: _dt.date, source: Any, request_id: str, runs: list[int], why: str,
              *, live: bool = False) -> None:
        """Write the request into incoming/ (and record it, for a night's)."""
        text = request_text(order, night, source, runs, why, site=self.site, live=live)
        (self.spool.dir("tmp") / f"{request_id}.yaml.part").unlink(missing_ok=True)  # a crash's, under our lock
        self.spool.drop(text.encode("utf-8"), request_id)
        if not live:
            ledger.record(self.folder, order.name, night, source.name, request_id=request_id, runs=runs, why=why)
        log.info("standing order %s: request %s for %s on the night %s (run%s %s): %s", order.name, request_id,
                 source.name, night, "s" if len(runs) > 1 else "", ", ".join(map(str, runs)), why)

    def _exists(self, request_id: str) -> bool:
        if self.spool.find(request_id) is not None:
            return True
        return os.path.lexists(self.spool.dir("incoming") / f"{request_id}.yaml")
