"""The whole chain: simulated DL1 → real lstchain_dl1_to_dl2 (models from lstchain_mc_trainpipe)
→ lappana dl3 → index → gammapy 2.1; and lappana's DL3 of lstchain's DL2 matches lstchain's own."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lappana.checks import check_dl2, check_dl3
from lappana.dl3 import make_dl3
from lappana.index import make_index

PEER_SCRIPT = Path(__file__).parents[2] / "peers" / "gammapy_datastore.py"


@pytest.mark.timeout(1800)
def test_chain_from_lstchain_dl2_to_gammapy(lstchain_dl2_run, gammapy_python, tmp_path):  # noqa: F811
    run = lstchain_dl2_run
    report = check_dl2(run.dl2_path)
    assert report.usable and "events" in report.facts, report.text()
    irf_dir = run.night.output / "IRF" / "eff_gh0.70_th0.70"
    ours_dir, theirs_dir = tmp_path / "lappana", tmp_path / "lstchain"
    theirs_dir.mkdir()
    dl3 = make_dl3(run.dl2_path, irf_dir, ours_dir, source_name="Crab", source_ra_deg=83.633,
                   source_dec_deg=22.014)
    assert check_dl3(dl3).ok, check_dl3(dl3).text()
    subprocess.run(
        [str(run.lstchain_env / "bin" / "lstchain_create_dl3_file"), "-d", str(run.dl2_path), "-o", str(theirs_dir),
         "-i", str(irf_dir), "-p", "irf*.fits.gz", "--source-name", "Crab", "--source-ra", "83.633deg",
         "--source-dec", "22.014deg", "--use-nearest-irf-node", "--gzip", "--overwrite"],
        check=True, capture_output=True, text=True, cwd=theirs_dir,
    )
    with fits.open(dl3) as ours, fits.open(next(theirs_dir.glob("dl3*.fits.gz"))) as theirs:
        a, b = ours["EVENTS"], theirs["EVENTS"]
        assert len(a.data) > 0
        assert np.array_equal(a.data["EVENT_ID"], b.data["EVENT_ID"])
        assert np.max(np.abs(a.data["TIME"] - b.data["TIME"])) < 1e-6
        assert np.array_equal(a.data["ENERGY"], b.data["ENERGY"])
        assert a.header["LIVETIME"] == pytest.approx(b.header["LIVETIME"], rel=1e-3)
        assert a.header["DEADC"] == pytest.approx(b.header["DEADC"], rel=1e-3)
        print(f"lstchain-made DL2 of run {run.run_id}: {len(a.data)} events in both DL3 files, "
              f"LIVETIME {a.header['LIVETIME']:.3f} s")
    make_index(ours_dir)
    out = subprocess.run([str(gammapy_python), str(PEER_SCRIPT), str(ours_dir)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [run.run_id]
    obs = result["observations"][str(run.run_id)]
    assert obs["livetime_gammapy_s"] == pytest.approx(obs["livetime_header_s"], rel=0.005)
