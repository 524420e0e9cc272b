"""IRFs for any cuts through the real daemon (issue 15, point 4 and its acceptance): a request from DL1 for cuts
nobody made IRFs for gets them made (the real ``lstchain_dl1_to_dl2`` on MC gammas with the site's models, the
real ``lstchain_create_irf_files`` with those cuts, one task per pointing node) and used in its DL3; a second
request with the same cuts uses that set without making it again.

The models' IRF folder here is a copy of two nodes of the setup's (zenith 10° and 20°) with a recipe of 40 000
gammas thrown per node, so the set costs two small tasks; the night is one 20-second run.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.io import fits

from tests.helpers.spool import spool_cmd

pytestmark = [pytest.mark.peers, pytest.mark.slow]

RUN = 15864
NEW_SET = "eff_gh0.80_th0.70"
REQUEST = ("source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl1\n"
           "cuts: {gh_efficiency: 0.8, theta_containment: 0.7}\nproducts: [dl3]\n")


def _once(site: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--config", str(site), "--once"], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def site(lstchain_env, tmp_path_factory) -> Path:
    from lappana.simulate.night import simulate_night

    from spoold.site import default_site

    tmp = tmp_path_factory.mktemp("irfs-on-request")
    models = default_site().lstchain.models  # the setup's, trained with this lstchain
    irf_root = tmp / "IRF"
    (irf_root / "eff_gh0.70_th0.70").mkdir(parents=True)
    for zenith in (10, 20):
        name = f"irf_lstchain_eff_gh0.70_th0.70_zen{zenith:04.1f}_az180.0.fits.gz"
        shutil.copy(models / "IRF" / "eff_gh0.70_th0.70" / name, irf_root / "eff_gh0.70_th0.70" / name)
    (irf_root / "irf-recipe.json").write_text(json.dumps({"zenith": [10.0, 20.0], "azimuth": 180.0, "seed": 3,
                                                          "thrown": 40000}))
    simulate_night(tmp / "data", night=dt.date(2023, 12, 7), n_runs=1, first_run=RUN, run_minutes=1 / 3,
                   levels=("dl1",), mc=False, irfs=False, shower_rate_hz=1000.0, progress=False, seed=5)
    site_file = tmp / "site.yaml"
    site_file.write_text(f"spool: {tmp / 'spool'}\ndata: {{root: {tmp / 'data'}}}\n"
                         f"lstchain: {{env: {lstchain_env}, models: {models}, irf_root: {irf_root}}}\n"
                         "limits: {data_settle_seconds: 0}\n")
    spool_cmd("init", str(tmp / "spool"), "--config", str(site_file), cwd=tmp)
    return site_file


def _run(site: Path) -> Path:
    """Submit the request and run ``spoold --once``; its folder in done/."""
    tmp = site.parent
    request = tmp / "crab-0.8.yaml"
    request.write_text(REQUEST)
    rid = spool_cmd("submit", str(request), "--config", str(site), cwd=tmp).stdout.strip().split()[-1]
    ran = _once(site, tmp)
    assert ran.returncode == 0, ran.stderr[-3000:]
    done = tmp / "spool" / "done" / rid
    assert done.is_dir(), spool_cmd("status", rid, "--config", str(site), cwd=tmp, check=False).stdout
    return done


@pytest.fixture(scope="module")
def first(site) -> Path:
    return _run(site)


def test_a_request_for_cuts_nobody_made_gets_its_irfs_made_by_lstchain_and_used(site, first):
    state = json.loads((first / "state.json").read_text())
    irf = state["steps"]["irf"]
    assert irf["status"] == "done" and sorted(t["label"] for t in irf["tasks"].values()) == ["zen10.0", "zen20.0"]
    made = site.parent / "IRF" / NEW_SET
    assert not (made / ".incomplete").exists()
    for zenith in (10.0, 20.0):
        with fits.open(made / f"irf_lstchain_{NEW_SET}_zen{zenith:04.1f}_az180.0.fits.gz") as hdus:
            header = hdus["EFFECTIVE AREA"].header
            assert header["CREATOR"].startswith("pyirf") and (header["GH_EFF"], header["TH_CONT"]) == (0.8, 0.7)
            assert header["ZEN_PNT"] == zenith
        assert (made / "provenance" / f"zen{zenith:04.1f}_az180.0.log").is_file()  # lstchain's, one per node
    with fits.open(first / "dl3" / f"dl3_LST-1.Run{RUN:05d}.fits.gz") as hdus:
        assert hdus["EVENTS"].header["IRF_FILE"].startswith(f"irf_lstchain_{NEW_SET}_zen")
        assert hdus["EFFECTIVE AREA"].header["GH_EFF"] == 0.8
    recipe = json.loads((site.parent / "IRF" / "irf-recipe.json").read_text())
    assert recipe["zenith"] == [10.0, 20.0]  # adding a set left the folder's recipe as it was


def test_a_second_request_with_the_same_cuts_uses_the_set_made(site, first):
    made = site.parent / "IRF" / NEW_SET
    before = {p.name: p.stat().st_mtime_ns for p in made.glob("irf_*.fits.gz")}
    second = _run(site)
    state = json.loads((second / "state.json").read_text())
    assert state["steps"]["irf"]["status"] == "skipped" and "is there already" in state["steps"]["irf"]["note"]
    assert state["steps"]["dl2"]["status"] == "skipped"  # and the run's DL2 from the cache
    assert {p.name: p.stat().st_mtime_ns for p in made.glob("irf_*.fits.gz")} == before
    with fits.open(second / "dl3" / f"dl3_LST-1.Run{RUN:05d}.fits.gz") as hdus:
        assert hdus["EFFECTIVE AREA"].header["GH_EFF"] == 0.8
