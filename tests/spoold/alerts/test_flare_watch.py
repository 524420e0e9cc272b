"""FlareAlerts, the daemon's part of flare alerts, on done live requests made by hand (no lstchain here; the
real chain is tests/spoold/standing/test_live_night.py): one alert per crossing, told once across a crash,
again only when the flux rose, nothing for a source without a threshold."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from spoold import events
from spoold.alerts import ledger as alerts
from spoold.alerts.watch import ALERT_FILE, CHECKED_FILE, FlareAlerts
from spoold.daemon.journal import Journal
from spoold.site import load_site
from spoold.spool import Spool
from spoold.standing import ledger

NIGHT = dt.date(2023, 12, 7)


def _setup(tmp_path: Path):
    (tmp_path / "site.yaml").write_text(f"spool: {tmp_path / 'spool'}\n"
                                        "alerts: {sources: {Mrk 421: {flux_crab: 3.0, above_tev: 1.0}}}\n")
    site = load_site(tmp_path / "site.yaml")
    spool = Spool(site.spool_root)
    spool.init()
    return site, spool, Journal(spool)


def _done_live(spool: Spool, run: int, flux: float, error: float = 0.3, ts: float = 100.0,
               source: str = "Mrk 421") -> Path:
    """A live run's request in done/ with its summary's light curve, recorded in the order's ledger."""
    rid = ledger.request_id_for("blazar", NIGHT, source, run)
    folder = spool.dir("done") / rid
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(json.dumps({
        "id": rid, "state": "done", "live": True, "standing_order": "blazar", "attempt": 1,
        "request": {"source": source, "night": NIGHT.isoformat(), "runs": [run]}}))
    start = f"2023-12-08T0{run - 16000}:00:00"
    (folder / "summary.json").write_text(json.dumps({"lightcurve": {
        "integral_above_tev": 1.0, "time_start_utc": [start], "time_stop_utc": [start[:-5] + "20:00"],
        "crab_units": [flux], "crab_units_error": [error], "ts": [ts]}}))
    ledger.record(spool.root / "standing", "blazar", NIGHT, source, request_id=rid, runs=[run], why="test", run=run)
    return folder


def _alert_events(folder: Path) -> list[dict]:
    return [e for e in events.read(folder) if e["event"] == "alert"]


def test_one_alert_per_crossing_told_once_and_again_only_when_the_flux_rose(tmp_path):
    site, spool, journal = _setup(tmp_path)
    watch = FlareAlerts(site, spool, journal)
    quiet = _done_live(spool, 16000, 1.1)
    assert watch.loop() == [] and json.loads((quiet / CHECKED_FILE).read_text())["alert"] is False
    first = _done_live(spool, 16001, 5.0)
    assert watch.loop() == [first.name]
    told = json.loads((first / ALERT_FILE).read_text())
    assert told["runs"] == [16000, 16001] and [b["run"] for b in told["light_curve"]] == [16000, 16001]
    assert len(_alert_events(first)) == 1
    # a daemon killed after the event and before the record: checked again, the event is not written twice
    (first / CHECKED_FILE).unlink()
    alerts_file = spool.root / "alerts" / "20231207-mrk-421.json"
    alerts_file.unlink()
    assert FlareAlerts(site, spool, journal).loop() == [first.name]
    assert len(_alert_events(first)) == 1 and len(alerts.told(spool.root, NIGHT, "Mrk 421")) == 1
    _done_live(spool, 16002, 5.4)  # as bright (0.4 Crab up, 0.95 σ of the difference)
    assert watch.loop() == []
    risen = _done_live(spool, 16003, 9.0)  # 4 Crab up: 9.4 σ of the difference
    assert watch.loop() == [risen.name]
    assert [a["run"] for a in alerts.told(spool.root, NIGHT, "Mrk 421")] == [16001, 16003]
    assert "risen from 5.00 Crab" in json.loads((risen / ALERT_FILE).read_text())["detail"]


def test_a_source_without_a_threshold_is_checked_and_tells_nothing(tmp_path):
    site, spool, journal = _setup(tmp_path)
    folder = _done_live(spool, 16000, 50.0, source="Mrk 501")
    assert FlareAlerts(site, spool, journal).loop() == []
    assert "no flare threshold for Mrk 501" in json.loads((folder / CHECKED_FILE).read_text())["why"]
    assert not _alert_events(folder) and not (spool.root / "alerts").exists() or \
        not list((spool.root / "alerts").glob("*.json"))
