"""The daemon's part of flare alerts: each live run's request, once done, checked against its source's threshold.

:class:`FlareAlerts` is one of the daemon's small objects. Its :meth:`~FlareAlerts.loop` runs every turn
right after the requests were advanced and looks at ``done/`` only when it changed. For each live run's
request (``live: true``, made by a live standing order) not checked yet it reads the run's light curve
(``summary.json``), applies :func:`spoold.alerts.flare.crossing` with the site's threshold for the source
(``alerts.sources``) and the alerts already told that night (:mod:`spoold.alerts.ledger`), and when a bin
crosses it writes ``alert.json`` into the request's folder (the numbers, the night's light curve so far
from the order's earlier live requests, the runs) and journals an ``alert`` event on it, which the mail
notifier sends to the order's ``notify`` list and the site's ``alerts.to``. ``alert-check.json`` records
that the request was checked, and what was found.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from spoold import state as st
from spoold.alerts import ledger as alerts
from spoold.alerts.flare import Bin, bins_of, crossing
from spoold.events import Event
from spoold.files import read_json, write_json
from spoold.standing import ledger as standing
from spoold.states import Folder

if TYPE_CHECKING:
    from spoold.site import Site
    from spoold.spool import Spool

log = logging.getLogger("spoold.alerts")

__all__ = ["ALERT_FILE", "CHECKED_FILE", "FlareAlerts", "night_so_far"]

#: what an alert says, in the request's folder (the mail's body is made from it)
ALERT_FILE = "alert.json"
#: written once a live request was checked
CHECKED_FILE = "alert-check.json"


class Changes(Protocol):
    """What the alerts need of the daemon: journal an event on a request (:class:`spoold.daemon.journal.Journal`)."""

    def emit(self, folder: Path, state: dict, event: str, *, step: str | None = None, detail: str = "",
             durable: bool = True) -> None:
        """Journal an event (at most once per event, step and attempt)."""


def _products(folder: Path, state: dict[str, Any]) -> Path:
    return Path(state.get("products") or folder)


def _summary(folder: Path, state: dict[str, Any]) -> dict[str, Any]:
    try:
        data = read_json(_products(folder, state) / "summary.json")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def night_so_far(spool: "Spool", order: str, night: _dt.date, source: str) -> list[Bin]:
    """The light curve of a live order's night so far: the bins of each of its runs' requests that are done."""
    bins: list[Bin] = []
    for record in standing.records(spool.root / "standing", order):
        run = record.get("live_run")
        if run is None or record.get("night") != night.isoformat() or record.get("source") != source:
            continue
        found = spool.find(str(record.get("request_id")))
        if found is None or found[0] != Folder.DONE:
            continue
        bins += bins_of(_summary(found[1], st.load(found[1]) or {}), int(run))
    return sorted(bins, key=lambda b: b.start)


class FlareAlerts:
    """Checks each live request once it is done; :meth:`loop` is one pass (only when ``done/`` changed).

    Parameters
    ----------
    site : Site
    spool : Spool
    changes : Changes
        Journals the ``alert`` event (and so tells the mail notifier).
    """

    def __init__(self, site: "Site", spool: "Spool", changes: Changes) -> None:
        self.site = site
        self.spool = spool
        self.changes = changes
        self._seen: float | None = None
        self._not_live: set[str] = set()  # done requests whose id has "-run" but that are not live

    def loop(self, *, force: bool = False) -> list[str]:
        """Check the live requests done since the last pass; return the ids an alert was told for."""
        try:
            stamp = os.stat(self.spool.dir(Folder.DONE)).st_mtime_ns
        except OSError:
            return []
        if not force and stamp == self._seen:
            return []
        self._seen = stamp
        told = []
        for folder in self.spool.list(Folder.DONE):
            if "-run" not in folder.name or folder.name in self._not_live or (folder / CHECKED_FILE).exists():
                continue
            try:
                if self._check(folder):
                    told.append(folder.name)
            except (OSError, ValueError, KeyError, TypeError):
                log.exception("checking %s for a flare failed; it is checked again at the next change", folder.name)
                self._seen = None
        return told

    def _check(self, folder: Path) -> bool:
        state = st.load(folder) or {}
        if not state.get("live"):
            self._not_live.add(folder.name)
            return False
        request = state.get("request") or {}
        source, night = str(request["source"]), _dt.date.fromisoformat(str(request["night"]))
        threshold = self.site.alerts.threshold_for(source)
        if threshold is None:
            write_json(folder / CHECKED_FILE, {"alert": False, "why": f"the site has no flare threshold for {source}"})
            return False
        run = int((request.get("runs") or [0])[0])
        new = bins_of(_summary(folder, state), run)
        before = alerts.told(self.spool.root, night, source)
        hit = crossing(new, flux_crab=threshold.flux_crab, sigma=threshold.sigma, told=before)
        decision = {"alert": hit is not None, "bins": [b.to_dict() for b in new],
                    "threshold": {"flux_crab": threshold.flux_crab, "above_tev": threshold.above_tev,
                                  "sigma": threshold.sigma}}
        if hit is not None:
            self._tell(folder, state, source, night, hit, threshold, before)
        write_json(folder / CHECKED_FILE, decision)
        return hit is not None

    def _tell(self, folder: Path, state: dict[str, Any], source: str, night: _dt.date, hit: Bin, threshold: Any,
              before: list[dict[str, Any]]) -> None:
        order = str(state.get("standing_order") or "")
        so_far = night_so_far(self.spool, order, night, source) if order else []
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        sentence = (f"{source} at {hit.flux_crab:.2f} ± {hit.error_crab:.2f} Crab above {hit.above_tev:g} TeV "
                    f"({hit.sigma:.1f} σ) in run {hit.run}, {hit.start[11:16]}–{hit.stop[11:16]} UTC: above the "
                    f"threshold of {threshold.flux_crab:g} Crab at {threshold.sigma:g} σ"
                    + (f"; risen from {before[-1]['flux_crab']:.2f} Crab told at {before[-1]['time']}" if before else ""))
        alert = {"time": now, "request_id": folder.name, "order": order, "source": source,
                 "night": night.isoformat(), "run": hit.run, "bin": hit.to_dict(), "flux_crab": hit.flux_crab,
                 "error_crab": hit.error_crab, "sigma": hit.sigma,
                 "threshold": {"flux_crab": threshold.flux_crab, "above_tev": threshold.above_tev,
                               "sigma": threshold.sigma},
                 "runs": sorted({b.run for b in so_far if b.run is not None} | {hit.run}),
                 "light_curve": [b.to_dict() for b in so_far], "earlier": before, "detail": sentence}
        write_json(folder / ALERT_FILE, alert)
        self.changes.emit(folder, state, Event.ALERT, detail=sentence)  # once per request: mailed once
        alerts.add(self.spool.root, night, source, alert)
        log.warning("flare alert: %s (%s)", sentence, folder.name)
