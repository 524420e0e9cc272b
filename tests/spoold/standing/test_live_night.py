"""A live standing order through the real daemon, the real lstchain and the real Postfix (issue 16, points 2-3).

Mrk 421 is observed for four 20-minute runs at LST-1's cosmic-ray rate, leaving out the showers below
0.25 TeV (:data:`RATES`), in the alerts' band above 1 TeV:
1 Crab, then 5 Crab for 40 minutes (the second run and most of the third: runs are minutes apart),
then 1 Crab again. The runs' DL1 files
land one at a time, as the onsite pipeline writes them, while the daemon runs. The site's threshold for
Mrk 421 is 3 Crab above 1 TeV at 3 σ (FACT's rule, 20-minute bins).

- Each run is taken through DL2 (lstchain), DL3 and its θ² and light curve in a request of its own, done
  before the next run's DL1 lands.
- Exactly one alert is mailed (to the order's notify list and the site's alert list, through Postfix and
  Dovecot), for the second run, within one run's processing time of that run's request being done;
  the third run, as bright, tells nothing new.
- At the end of the night (the onsite pipeline's marker) the night's request stacks the runs' DL3 (the
  same files, not made again) and its products equal those of an ordinary request for the same runs.
- A second night at a constant 1 Crab (one run) tells nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from tests.helpers.chain import lstchain_peer
from tests.helpers.spool import spool_cmd
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.peers, pytest.mark.slow]

FLARE_NIGHT, QUIET_NIGHT = dt.date(2023, 12, 7), dt.date(2023, 12, 8)
MRK421 = (166.114, 38.209)
ORDER = ("source: Mrk 421\nsince: 2023-12-07\nlive: true\nstart_from: dl1\nproducts: [dl3, theta2]\n"
         "notify: [{notify}]\n")
#: LST-1's rate of the cosmic rays above 0.25 TeV (gamma-equivalent), 750 Hz of showers: those below cannot
#: reach 1 TeV reconstructed (lst1_rates_above(1.0) would leave out all below 0.62 TeV), and at this rate
#: lstchain's effective time holds (its 10-ms break rule drops 0.4 % of the run; at the 225 Hz of
#: lst1_rates_above(1.0) it drops 30 %, and every flux comes out 1.4 times too high)
RATES = {"hadron_min_energy_tev": 0.25}
#: LST-1's runs are 20 minutes apart: the request of each must be done long before the next lands
RUN_TIMEOUT_S = 600.0


def _simulate(staging: Path) -> dict:
    from lappana.simulate.night import simulate_night
    from lappana.simulate.variability import Flare

    rates = RATES
    flare = simulate_night(staging / "flare", night=FLARE_NIGHT, n_runs=4, run_minutes=20, first_run=16000,
                           levels=("dl1",), mc=False, irfs=False, progress=False, seed=41, source_name="Mrk 421",
                           source_ra=MRK421[0], source_dec=MRK421[1], source_flux=1.0,
                           flare=Flare(start_min=20.0, duration_min=40.0, flux_crab=5.0), **rates)
    quiet = simulate_night(staging / "quiet", night=QUIET_NIGHT, n_runs=1, run_minutes=20, first_run=16010,
                           levels=("dl1",), mc=False, irfs=False, progress=False, seed=42, source_name="Mrk 421",
                           source_ra=MRK421[0], source_dec=MRK421[1], source_flux=1.0, **rates)
    return {"flare": flare, "quiet": quiet}


@pytest.fixture(scope="module")
def live(tmp_path_factory, mail_servers):
    tmp = tmp_path_factory.mktemp("live-night")
    nights = _simulate(tmp / "staging")
    env, models = lstchain_peer("0.12.3")
    site = mail_servers.site_file(tmp, tmp / "spool", extra={
        "data": {"root": str(tmp / "data"), "night_finished_pattern": "{data_root}/NightFinished/{night}.txt"},
        "lstchain": {"env": str(env), "models": str(models)},
        "limits": {"data_settle_seconds": 0, "live_quiet_seconds": 2, "reconcile_seconds": 1},
        "alerts": {"to": [mail_servers.address("analyst2")],
                   "sources": {"Mrk 421": {"flux_crab": 3.0, "above_tev": 1.0, "sigma": 3.0}}},
    })
    spool_cmd("init", str(tmp / "spool"), "--config", str(site), cwd=tmp)
    order = tmp / "mrk421-live.yaml"
    order.write_text(ORDER.format(notify=mail_servers.address("analyst")))
    spool_cmd("standing", "add", str(order), "--config", str(site), cwd=tmp)
    return {"tmp": tmp, "site": site, "nights": nights}


def _land(source: Path, target: Path) -> float:
    """Copy a file in under a dot-name and rename it, as a copy to /fefs would; return when it landed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target.with_name("." + target.name))
    target.with_name("." + target.name).rename(target)
    return time.time()


def _land_catalog(live: dict, made, night: dt.date) -> None:
    from spoold.site import load_site

    catalog = load_site(live["site"]).data.run_catalog_path(night)
    _land(made.run_catalog, catalog)
    assert len(Table.read(catalog, format="ascii.ecsv")) == len(made.run_ids)


def _done(live: dict, prefix: str, run: int | None = None) -> Path | None:
    """The folder in done/ of the order's request (for one run when ``run``), or None; fails on failed/."""
    spool = live["tmp"] / "spool"
    tail = f"-run{run}-" if run is not None else None
    for state in ("done", "failed", "rejected"):
        for folder in (spool / state).glob(f"{prefix}-000000-mrk421-live-*"):
            if (tail is None and "-run" not in folder.name) or (tail is not None and tail in folder.name):
                assert state == "done", (folder / "log").read_text()
                return folder
    return None


def _alerts(mail_servers, user: str) -> list:
    return [m for m in mail_servers.messages(user) if m["X-Astran-Event"] == "alert"]


def _events(path: Path) -> Table:
    with fits.open(path) as hdus:
        return Table(hdus["EVENTS"].data)


def test_a_live_night_with_a_flare_tells_once_and_its_night_request_stacks_the_runs(live, mailboxes):
    tmp, site = live["tmp"], live["site"]
    flare, quiet = live["nights"]["flare"], live["nights"]["quiet"]
    from spoold.site import load_site

    data = load_site(site).data
    print("injected (Crab):", {r: round(f, 3) for r, f in flare.run_flux_crab.items()})
    fluxes = [round(flare.run_flux_crab[r], 2) for r in flare.run_ids]  # the runs are minutes apart: the
    assert fluxes[0] == fluxes[3] == 1.0 and fluxes[1] == 5.0 and fluxes[2] > 4.0  # third is mostly in the flare
    log = open(tmp / "daemon.log", "ab")
    daemon = subprocess.Popen([sys.executable, "-m", "spoold.daemon.cli", "--config", str(site)], cwd=tmp,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _land_catalog(live, flare, FLARE_NIGHT)
        landed, done_at, alert_at = {}, {}, None
        for k, run in enumerate(flare.run_ids):
            landed[run] = _land(flare.dl1_files[run], data.dl1_path(FLARE_NIGHT, run))
            folder = wait_for(lambda: _done(live, "20231207", run), timeout=RUN_TIMEOUT_S, interval=0.5,
                              what=f"the live request of run {run}")
            done_at[run] = time.time()
            dl3 = folder / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz"
            assert dl3.is_file() and (folder / "summary.json").is_file()
            print(f"run {run}: DL1 landed → DL3 {dl3.stat().st_mtime - landed[run]:.1f} s, → request done "
                  f"{done_at[run] - landed[run]:.1f} s")
            if k == 1:  # the first run of the flare: one alert, to the order's and the site's people
                alerts = mailboxes.wait_messages("analyst", 1, timeout=120,
                                                 match=lambda m: m["X-Astran-Event"] == "alert")
                alert_at = time.time()
                (extra,) = mailboxes.wait_messages("analyst2", 1, timeout=60,
                                                   match=lambda m: m["X-Astran-Event"] == "alert")
                assert len(alerts) == 1 and "FLARE ALERT: Mrk 421" in alerts[0]["Subject"]
                body = alerts[0].get_body(("plain",)).get_content()
                assert f"in run {run}" in body and str(flare.run_ids[0]) in body, body
                print(f"alert: {alert_at - landed[run]:.1f} s after run {run}'s DL1 landed, "
                      f"{alert_at - done_at[run]:.1f} s after its request was done; subject: {alerts[0]['Subject']}")
                assert alert_at - done_at[run] <= done_at[run] - landed[run]  # within one run's processing time
                told = json.loads((folder / "alert.json").read_text())
                pull = (told["flux_crab"] - flare.run_flux_crab[run]) / told["error_crab"]
                print(f"the alert's flux {told['flux_crab']:.2f} ± {told['error_crab']:.2f} Crab, injected "
                      f"{flare.run_flux_crab[run]:.2f} (pull {pull:+.2f})")
                assert abs(pull) < 3
            if k == 0:
                assert not _alerts(mailboxes, "analyst"), "an alert for a run at 1 Crab"
        check = json.loads((_done(live, "20231207", flare.run_ids[2]) / "alert-check.json").read_text())
        assert check["alert"] is False and check["bins"][0]["flux_crab"] > 3.0  # as bright: nothing new to tell
        assert _done(live, "20231207") is None, "the night's request before the night was over"

        _land(flare.run_catalog, data.night_finished_path(FLARE_NIGHT))  # the onsite pipeline's marker
        night = wait_for(lambda: _done(live, "20231207"), timeout=RUN_TIMEOUT_S, interval=0.5,
                         what="the night's request")
        state = json.loads((night / "state.json").read_text())
        assert "made by the live requests" in state["steps"]["dl3"]["note"], state["steps"]["dl3"]
        for run in flare.run_ids:
            mine = night / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz"
            theirs = _done(live, "20231207", run) / "dl3" / mine.name
            assert mine.stat().st_ino == theirs.stat().st_ino  # stacked, not made again

        ordinary = tmp / "ordinary.yaml"
        ordinary.write_text("source: Mrk 421\nnight: 2023-12-07\nstart_from: dl1\nproducts: [dl3, theta2]\n"
                            f"runs: {list(flare.run_ids)}\n")
        rid = spool_cmd("submit", str(ordinary), "--config", str(site), cwd=tmp).stdout.strip().split()[-1]
        plain = wait_for(lambda: (tmp / "spool" / "done" / rid) if (tmp / "spool" / "done" / rid).is_dir() else None,
                         timeout=RUN_TIMEOUT_S, interval=0.5, what="the ordinary request")
        for run in flare.run_ids:
            name = f"dl3_LST-1.Run{run:05d}.fits.gz"
            a, b = _events(night / "dl3" / name), _events(plain / "dl3" / name)
            assert (night / "dl3" / name).stat().st_ino != (plain / "dl3" / name).stat().st_ino
            assert a.colnames == b.colnames and len(a) == len(b) > 0
            for column in a.colnames:
                assert np.array_equal(np.asarray(a[column]), np.asarray(b[column])), column
        ours, theirs = (json.loads((f / "summary.json").read_text()) for f in (night, plain))
        for key in ("livetime_s", "n_on", "n_off", "alpha", "excess", "significance"):
            assert ours[key] == theirs[key], (key, ours[key], theirs[key])
        print("the night's θ²:", {k: ours[k] for k in ("n_on", "n_off", "excess", "significance")})

        _land_catalog(live, quiet, QUIET_NIGHT)  # a night at a constant 1 Crab
        for run in quiet.run_ids:
            _land(quiet.dl1_files[run], data.dl1_path(QUIET_NIGHT, run))
            folder = wait_for(lambda: _done(live, "20231208", run), timeout=RUN_TIMEOUT_S, interval=0.5,
                              what=f"the live request of run {run}")
            check = json.loads(wait_for(lambda: (folder / "alert-check.json").is_file() and
                                        (folder / "alert-check.json").read_text(), timeout=60))
            assert check["alert"] is False and check["bins"] and check["bins"][0]["flux_crab"] < 3.0
            print(f"run {run} at 1 Crab: {check['bins'][0]['flux_crab']:.2f} ± {check['bins'][0]['error_crab']:.2f}")
        time.sleep(3)
        assert len(_alerts(mailboxes, "analyst")) == 1 and len(_alerts(mailboxes, "analyst2")) == 1
        told = json.loads((tmp / "spool" / "alerts" / "20231207-mrk-421.json").read_text())["alerts"]
        assert [a["run"] for a in told] == [flare.run_ids[1]]
        assert not (tmp / "spool" / "alerts" / "20231208-mrk-421.json").exists()
        page = json.loads(spool_cmd("status", "--page", "--config", str(site), cwd=tmp).stdout)
        assert [a["run"] for a in page["alerts"]] == [flare.run_ids[1]]
        listed = spool_cmd("standing", "list", "--config", str(site), cwd=tmp).stdout
        assert "6 requests made (live: 5 of them for one run each)" in listed, listed
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        log.close()
        print((tmp / "daemon.log").read_text()[-3000:])
