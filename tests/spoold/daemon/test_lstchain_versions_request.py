"""A request names its lstchain (issue 15, point 1), through the real daemon and the real lstchain.

A site offering 0.12.3 (its default) and 0.10.18 (``lstchain.versions``), each with the models it trained
and their IRFs (``scripts/setup-lstchain``); one 20-second run. A request with ``lstchain: "0.10"`` gets its
DL2 from 0.10.18's ``lstchain_dl1_to_dl2`` with 0.10.18's models, its DL3 from the IRFs of those models, and
a summary.json that says so; the same request without the key gets 0.12.3's, into a cache entry of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import tables
from astropy.io import fits

from tests.helpers.chain import lstchain_peer
from tests.helpers.spool import spool_cmd

pytestmark = [pytest.mark.peers, pytest.mark.slow]

RUN = 15864
REQUEST = "source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl1\nproducts: [dl3, theta2]\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from lappana.simulate.night import simulate_night

    tmp = tmp_path_factory.mktemp("lstchain-versions")
    (env12, models12), (env10, models10) = lstchain_peer("0.12.3"), lstchain_peer("0.10.18")
    simulate_night(tmp / "data", night=dt.date(2023, 12, 7), n_runs=1, first_run=RUN, run_minutes=1 / 3,
                   levels=("dl1",), mc=False, irfs=False, shower_rate_hz=1000.0, progress=False, seed=5)
    site_file = tmp / "site.yaml"
    site_file.write_text(f"spool: {tmp / 'spool'}\ndata: {{root: {tmp / 'data'}}}\n"
                         f"lstchain:\n  env: {env12}\n  models: {models12}\n"
                         f"  versions:\n    '0.10': {{env: {env10}, models: {models10}}}\n"
                         "limits: {data_settle_seconds: 0}\n")
    spool_cmd("init", str(tmp / "spool"), "--config", str(site_file), cwd=tmp)
    return site_file


def _run(site: Path, text: str) -> Path:
    """Submit a request, run ``spoold --once``; its folder in done/."""
    tmp = site.parent
    request = tmp / "request.yaml"
    request.write_text(text)
    rid = spool_cmd("submit", str(request), "--config", str(site), cwd=tmp).stdout.strip().split()[-1]
    ran = subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--config", str(site), "--once"], cwd=tmp,
                         capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stderr[-3000:]
    done = tmp / "spool" / "done" / rid
    assert done.is_dir(), spool_cmd("status", rid, "--config", str(site), cwd=tmp, check=False).stdout
    return done


def _made_by(done: Path, version: str) -> Path:
    """Check that the request's DL2, DL3 and summary come from lstchain ``version``; return its DL2 file."""
    env, models = lstchain_peer(version)
    summary = json.loads((done / "summary.json").read_text())
    provenance = summary["provenance"]
    assert summary["tools"]["lstchain"] == version
    assert Path(provenance["lstchain_env"]) == env and Path(provenance["models"]) == models
    assert Path(provenance["irf_dir"]) == models / "IRF" / "eff_gh0.70_th0.70"
    dl2 = Path(provenance["dl2_cache"][str(RUN)])
    with tables.open_file(str(dl2)) as h5:
        assert str(h5.root._v_attrs["LSTCHAIN_VERSION"]) == version
    (activity,) = json.loads(dl2.with_suffix(".provenance.log").read_text())  # lstchain's own record
    assert Path(activity["system"]["executable"]).parent == env / "bin"
    with fits.open(done / "dl3" / f"dl3_LST-1.Run{RUN:05d}.fits.gz") as hdus:
        irf_files = {p.name for p in (models / "IRF" / "eff_gh0.70_th0.70").glob("irf_*.fits.gz")}
        assert hdus["EVENTS"].header["IRF_FIL1"] in irf_files
    return dl2


def test_a_request_for_lstchain_0_10_is_made_by_0_10_and_the_default_by_0_12(site):
    ten = _made_by(_run(site, REQUEST + 'lstchain: "0.10"\n'), "0.10.18")
    twelve = _made_by(_run(site, REQUEST), "0.12.3")
    assert ten != twelve and ten.parent.parent == twelve.parent.parent  # one cache, two entries for the run
