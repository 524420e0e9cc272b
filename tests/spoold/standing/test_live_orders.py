"""Live standing orders (issue 16, point 2), the maker's side: one request per run as its file comes, while
the night goes on, each once; then the night's request as for any order. Driven with a given ``now``; the
real daemon, lstchain and mail through a live night with a flare is ``test_live_night.py``."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml

from tests.helpers.spool import make_tree, spool_cmd
from spoold.request import parse_request
from spoold.site import load_site
from spoold.spool import Spool
from spoold.standing import ledger
from spoold.standing.maker import StandingOrders

NIGHT = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=2)
RUNS = (15864, 15865, 15866)
LIVE = f"source: Crab Nebula\nsince: {NIGHT}\nlive: true\nstart_from: dl2\nproducts: [dl3, theta2]\n"


def _site(tmp_path: Path, alerts: str = ""):
    make_tree(tmp_path / "data", night=f"{NIGHT:%Y%m%d}", runs=RUNS, dl2=True)
    (tmp_path / "site.yaml").write_text(
        f"data: {{root: {tmp_path / 'data'}, night_finished_pattern: '{{data_root}}/NightFinished_{{night}}.txt'}}\n"
        f"limits: {{live_quiet_seconds: 60}}\n{alerts}")
    spool_cmd("init", str(tmp_path / "spool"), "--config", str(tmp_path / "site.yaml"), cwd=tmp_path)
    site = load_site(tmp_path / "site.yaml", spool_root=tmp_path / "spool")
    return site, dt.datetime.now(dt.timezone.utc)


def _order(tmp_path: Path, text: str = LIVE, name: str = "crab-live") -> None:
    (tmp_path / "spool" / "standing" / f"{name}.yaml").write_text(text)


def _incoming(tmp_path: Path, rid: str) -> dict:
    return yaml.safe_load((tmp_path / "spool" / "incoming" / f"{rid}.yaml").read_text())


def test_a_live_order_makes_one_request_per_run_once_its_file_is_quiet_then_the_nights(tmp_path):
    site, now = _site(tmp_path)
    _order(tmp_path)
    maker = StandingOrders(site, Spool(site.spool_root))
    assert maker.loop(now + dt.timedelta(seconds=30), force=True) == []  # the files changed 30 s ago
    made = maker.loop(now + dt.timedelta(seconds=61), force=True)
    assert made == [ledger.request_id_for("crab-live", NIGHT, "Crab Nebula", run) for run in RUNS]
    assert made[0].startswith(f"{NIGHT:%Y%m%d}-000000-crab-live-run15864-")
    for run, rid in zip(RUNS, made):
        values = _incoming(tmp_path, rid)
        assert values["runs"] == [run] and values["live"] is True and values["standing_order"] == "crab-live"
        request = parse_request((tmp_path / "spool" / "incoming" / f"{rid}.yaml").read_bytes(), site=site)
        assert request.live and request.runs == (run,)
        assert "lightcurve" not in request.products  # no flare threshold for the Crab: only the order's products
    assert maker.loop(now + dt.timedelta(hours=1), force=True) == []  # each once
    (tmp_path / "data" / f"NightFinished_{NIGHT:%Y%m%d}.txt").write_text("")
    (night,) = maker.loop(now + dt.timedelta(hours=1), force=True)
    assert night == ledger.request_id_for("crab-live", NIGHT, "Crab Nebula")
    assert "live" not in _incoming(tmp_path, night) and _incoming(tmp_path, night)["runs"] == list(RUNS)


def test_an_order_that_is_not_live_makes_nothing_before_the_night_is_complete(tmp_path):
    site, now = _site(tmp_path)
    _order(tmp_path, LIVE.replace("live: true\n", ""), name="crab")
    assert StandingOrders(site, Spool(site.spool_root)).loop(now + dt.timedelta(hours=1), force=True) == []
    assert os.listdir(tmp_path / "spool" / "incoming") == []


def test_a_live_run_of_a_source_with_a_threshold_asks_for_its_light_curve_in_the_alerts_band(tmp_path):
    site, now = _site(tmp_path, "alerts: {sources: {Crab: {flux_crab: 2.5, above_tev: 0.5}}, bin_minutes: 20}\n")
    _order(tmp_path)
    rid = StandingOrders(site, Spool(site.spool_root)).loop(now + dt.timedelta(seconds=61), force=True)[0]
    request = parse_request((tmp_path / "spool" / "incoming" / f"{rid}.yaml").read_bytes(), site=site)
    assert "lightcurve" in request.products and request.lightcurve_bin == "20 min"
    assert request.energy_range == (0.5, None)


def test_a_live_run_found_in_the_spool_after_a_crash_is_not_made_again(tmp_path):
    site, now = _site(tmp_path)
    _order(tmp_path)
    spool = Spool(site.spool_root)
    rid = ledger.request_id_for("crab-live", NIGHT, "Crab Nebula", RUNS[0])
    spool.drop(f"source: Crab Nebula\nnight: {NIGHT}\n".encode(), rid)  # dropped, then the daemon died
    made = StandingOrders(site, spool).loop(now + dt.timedelta(seconds=61), force=True)
    assert rid not in made and len(made) == 2
    assert ledger.made(spool.root / "standing", "crab-live", NIGHT, "Crab Nebula", RUNS[0])["request_id"] == rid


def test_the_nights_dl3_step_waits_for_a_live_run_at_work_then_links_its_dl3(tmp_path):
    import json

    from spoold.daemon.intake import _summary
    from spoold.pipeline.base import Context
    from spoold.pipeline.steps import Dl3Step

    site, now = _site(tmp_path)
    _order(tmp_path)
    maker = StandingOrders(site, Spool(site.spool_root))
    live = maker.loop(now + dt.timedelta(seconds=61), force=True)
    (tmp_path / "data" / f"NightFinished_{NIGHT:%Y%m%d}.txt").write_text("")
    (night,) = maker.loop(now + dt.timedelta(seconds=61), force=True)
    spool = tmp_path / "spool"
    request = parse_request((spool / "incoming" / f"{night}.yaml").read_bytes(), site=site)
    folder = spool / "running" / night
    folder.mkdir()
    state = {"runs": list(RUNS), "night": f"{NIGHT:%Y%m%d}", "request": _summary(request)}
    ctx = Context(site, request, folder, state, folder)
    step = Dl3Step()
    assert "waiting for request " + live[0] in step.waits_on(ctx)  # the live runs are still in incoming/
    for run, rid in zip(RUNS, live):  # each live run done, with its DL3; the last one asked with other cuts
        (spool / "incoming" / f"{rid}.yaml").unlink()
        done = spool / "done" / rid
        (done / "dl3").mkdir(parents=True)
        (done / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz").write_bytes(b"made by the live request")
        theirs = dict(_summary(request), cuts={"gh_efficiency": 0.9} if run == RUNS[-1] else request.cuts.as_dict())
        (done / "state.json").write_text(json.dumps({"request": theirs}))
    assert step.waits_on(ctx) is None
    plans = step.tasks(ctx)
    assert [p.label for p in plans] == [f"run{RUNS[-1]:05d}"]  # other cuts: made again
    for run, rid in zip(RUNS[:2], live):
        linked = folder / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz"
        assert linked.stat().st_ino == (spool / "done" / rid / "dl3" / linked.name).stat().st_ino
