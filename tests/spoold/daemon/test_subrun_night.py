"""A night's DL2 made subrun by subrun gives the DL3 the runs' merged files give (issue 17, point 3).

A simulated night of two runs whose DL1 is also written in subrun files (three or four per run, as LSTOSA keeps
them, and ``n_subruns`` in the run catalogue) goes through the real daemon (local executor) and the real
lstchain 0.12.3 twice, in two spools on the same data: once with ``data.dl1_subrun_pattern`` in the site
file (one lstchain task per subrun; the dl3 task reads a run's subrun DL2 files in order, as one run), once
without (one task per run on the run's merged DL1 file, as before). The two DL3 files of each run must be the
same: the same events (EVENT_IDs and times), LIVETIME, ONTIME, DEADC, the same GTI rows and pointing, and the
reconstructed values to the last bits that lstchain's forests give a subrun's events in other batches than a
run's (docs/dl2.md, "Long runs: subruns").
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from tests.helpers.chain import lstchain_peer
from tests.helpers.spool import spool_cmd

pytestmark = [pytest.mark.peers, pytest.mark.slow]

NIGHT = dt.date(2023, 12, 7)
RUNS = (15864, 15865)
SUBRUN_EVENTS = 16_000  # 3 or 4 subruns of each run of ~57,000 events (showers above 0.25 TeV, calibration)
PATTERN = "{data_root}/DL1/{night}/v0.10/tailcut84/dl1_LST-1.Run{run:05d}.{subrun:04d}.h5"
REQUEST = ("source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl1\n"
           "cuts: {gh_efficiency: 0.7, theta_containment: 0.7}\nproducts: [dl3]\n")


def _through_the_daemon(tmp: Path, data: Path, *, subruns: bool) -> Path:
    env, models = lstchain_peer("0.12.3")
    way = tmp / ("subrun-wise" if subruns else "run-wise")
    way.mkdir()
    pattern = f", dl1_subrun_pattern: '{PATTERN}'" if subruns else ""
    site = way / "site.yaml"
    site.write_text(f"spool: {way / 'spool'}\ndata: {{root: {data}{pattern}}}\n"
                    f"lstchain: {{env: {env}, models: {models}}}\nlimits: {{data_settle_seconds: 0}}\n")
    spool_cmd("init", str(way / "spool"), "--config", str(site), cwd=way)
    (way / "night.yaml").write_text(REQUEST)
    rid = spool_cmd("submit", str(way / "night.yaml"), "--config", str(site), cwd=way).stdout.strip()
    ran = subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--config", str(site), "--once"], cwd=way,
                         capture_output=True, text=True, timeout=1200)
    done = way / "spool" / "done" / rid
    assert ran.returncode == 0 and done.is_dir(), ran.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> dict:
    from lappana.simulate.night import simulate_night

    tmp = tmp_path_factory.mktemp("subrun-night")
    night = simulate_night(tmp / "data", night=NIGHT, n_runs=len(RUNS), run_minutes=1.0, first_run=RUNS[0],
                           levels=("dl1",), mc=False, irfs=False, progress=False, seed=17,
                           hadron_min_energy_tev=0.25, subrun_events=SUBRUN_EVENTS)
    return {"night": night, "subrun-wise": _through_the_daemon(tmp, tmp / "data", subruns=True),
            "run-wise": _through_the_daemon(tmp, tmp / "data", subruns=False)}


def test_each_subrun_is_one_lstchain_task_and_each_run_one_dl3_task(both) -> None:
    state = json.loads((both["subrun-wise"] / "state.json").read_text())
    n = {run: len(both["night"].dl1_subrun_files[run]) for run in RUNS}
    assert all(count >= 3 for count in n.values()) and state["run_subruns"] == {str(r): n[r] for r in RUNS}
    labels = sorted(p.name.split(".attempt")[0] for p in (both["subrun-wise"] / "logs" / "dl2" / ".results").glob("*.json"))
    assert labels == [f"run{run}.{s:04d}" for run in RUNS for s in range(n[run])]
    dl3 = sorted(p.name.split(".attempt")[0] for p in (both["subrun-wise"] / "logs" / "dl3" / ".results").glob("*.json"))
    assert dl3 == [f"run{run}" for run in RUNS]
    for run in RUNS:  # lstchain wrote each subrun's DL2 (its provenance log names the subrun's DL1 file)
        logs = list((both["subrun-wise"].parents[1] / "cache" / "dl2").glob(f"*/dl2_LST-1.Run{run}.0002.provenance.log"))
        assert len(logs) == 1 and f"dl1_LST-1.Run{run}.0002.h5" in logs[0].read_text()


def test_the_dl3_of_the_subruns_equals_the_dl3_of_the_merged_runs(both) -> None:
    for run in RUNS:
        name = f"dl3_LST-1.Run{run:05d}.fits.gz"
        with fits.open(both["subrun-wise"] / "dl3" / name) as sub, fits.open(both["run-wise"] / "dl3" / name) as whole:
            a, b = sub["EVENTS"].data, whole["EVENTS"].data
            assert len(a) == len(b) > 100
            for column in ("EVENT_ID", "TIME", "MULTIP"):
                assert np.array_equal(a[column], b[column]), f"run {run}: EVENTS column {column} differs"
            for column in ("ENERGY", "GAMMANESS", "RA", "DEC", "ALT", "AZ", "GLON", "GLAT"):  # lstchain's forests
                # sum their trees over other batches of events in a subrun than in a run: the last bit may differ
                np.testing.assert_allclose(a[column], b[column], rtol=1e-12, atol=1e-11, err_msg=f"run {run}: {column}")
            for key in ("LIVETIME", "ONTIME", "DEADC", "TSTART", "TSTOP", "RA_PNT", "DEC_PNT"):
                assert sub["EVENTS"].header[key] == whole["EVENTS"].header[key], f"run {run}: {key} differs"
            assert len(sub["GTI"].data) == len(whole["GTI"].data)
            for column in ("START", "STOP"):
                assert np.array_equal(sub["GTI"].data[column], whole["GTI"].data[column])
            assert np.array_equal(sub["POINTING"].data.tolist(), whole["POINTING"].data.tolist())
