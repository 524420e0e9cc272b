"""Several nights through the real daemon and the real steps: a request waits for tonight, then stacks three nights.

Three simulated nights at 0.5, 1 and 2 Crab (the simulator's truth), the last one
tonight and not there yet when the request comes: ``spoold --once`` leaves the
request waiting for tonight's run catalogue; once the night is simulated, a second
``spoold --once`` resolves the runs night by night, makes DL3 with the local
executor, and the report stacks θ² and the spectrum over the three nights and gives
one light-curve point per night, each within 3 σ of the injected flux, with
constancy rejected.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.spool import spool_cmd
from spoold.request.nights import tonight

from lappana.simulate.nights import NightPlan, simulate_nights

#: LST-1-like shower rate at which lstchain's effective time is right (see the high-level tests)
SHOWER_RATE_HZ = 700.0
FLUXES = (0.5, 1.0, 2.0)


def _drain(spool: Path, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--spool", str(spool), "--once"],
                          cwd=cwd, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_a_request_over_three_nights_waits_for_tonight_then_stacks_them(tmp_path: Path) -> None:
    last = tonight(dt.datetime.now(dt.timezone.utc))
    nights = [last - dt.timedelta(days=2), last - dt.timedelta(days=1), last]
    plans = [NightPlan(night=n, n_runs=1, run_minutes=12, source_flux=f) for n, f in zip(nights, FLUXES)]
    # DL2 uncompressed: the same rows as lstchain's blosc:zstd files in a quarter of the simulator's CPU
    common = dict(seed=41, levels=("dl2",), mc=False, shower_rate_hz=SHOWER_RATE_HZ, progress=False,
                  dl2_compressed=False)
    data = tmp_path / "data"
    first = simulate_nights(data, plans[:2], **common)
    spool = tmp_path / "spool"
    spool_cmd("init", str(spool), cwd=tmp_path)
    request = tmp_path / "crab.yaml"
    request.write_text(f"source: Crab Nebula\nnights: [{', '.join(n.isoformat() for n in nights)}]\n"
                       "start_from: dl2\ncuts: {gh_efficiency: 0.7, theta_containment: 0.7}\n"
                       "products: [spectrum, lightcurve, report]\nenergy_range: {min: 0.2}\n"
                       "lightcurve: {bin: night}\n")
    rid = spool_cmd("submit", str(request), "--spool", str(spool), cwd=tmp_path).stdout.strip()

    _drain(spool, tmp_path)
    state = json.loads((spool / "running" / rid / "state.json").read_text())
    assert state["state"] == "waiting", state
    assert [Path(m).name for m in state["waiting"]["missing"]] == [f"RunCatalog_{last:%Y%m%d}.ecsv"]

    third = simulate_nights(data, plans[2:], first_run=16100, irfs=False, **common)
    _drain(spool, tmp_path)
    folder = spool / "done" / rid
    assert folder.is_dir(), spool_cmd("status", rid, "--spool", str(spool), cwd=tmp_path).stdout
    state = json.loads((folder / "state.json").read_text())
    truths = first.truths() + third.truths()
    runs = [r["run_id"] for t in truths for r in t["runs"]]
    assert state["runs"] == runs and state["nights"] == [f"{n:%Y%m%d}" for n in nights]
    assert state["run_nights"] == {str(r["run_id"]): t["night"].replace("-", "") for t in truths for r in t["runs"]}

    summary = json.loads((folder / "summary.json").read_text())
    assert [r["obs_id"] for r in summary["runs"]] == runs and all(r["used"] for r in summary["runs"])
    assert summary["provenance"]["nights"] == [n.isoformat() for n in nights]
    assert summary["spectrum"]["detected"] and summary["spectrum"]["energy_band_tev"][0] == pytest.approx(0.2)
    lc = summary["lightcurve"]
    print("night-wise flux [Crab]:", [f"{v:.3f} ± {e:.3f}" for v, e in zip(lc["crab_units"], lc["crab_units_error"])],
          "constancy", lc["constancy"], "stacked", summary["spectrum"]["crab_units"], "σ", summary["significance"])
    assert lc["bin"] == "night" and len(lc["crab_units"]) == 3
    for truth, value, error in zip(truths, lc["crab_units"], lc["crab_units_error"]):
        injected = truth["parameters"]["source_flux_crab"]
        assert abs(value - injected) < 3 * error, (truth["night"], value, error, injected)
    assert lc["constancy"]["p_value"] < 1e-3
    page = (folder / "report.html").read_text()
    assert all(n.isoformat() in page for n in nights)
