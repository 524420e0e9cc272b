"""lappana dl3's IRF against lstchain_create_dl3_file's: interpolated, at a node, outside the grid, nearest.

Issue 15 point 3: the IRF HDUs written into a run's DL3 (effective area, migration,
RAD_MAX, GH_CUTS) equal those of lstchain 0.12.3 and of 0.10.18 to 1e-4 relative, and so the same
events pass, for a run between IRF nodes, at a node and outside the grid, with
interpolation (lstchain's default) and with the nearest node (``--use-nearest-irf-node``).

One simulated run (30 s at 34° zenith, azimuth 268°, 2023-12-08 04:10 UTC) and IRF
nodes made by the simulator around it, at zeniths z−5°, z, z+5°, z+12° and azimuths
az−15°, az, az+15° (the simulator's IRFs depend on zenith only, so nodes of one
zenith have the same content). lstchain evaluates the geomagnetic field at the time
it runs, lappana at the run's date, which moves the run by ≈0.1° in B_DELTA; nodes
of one zenith at several azimuths make each triangle's interpolated IRF depend on
cos(zenith) alone, so both give the same IRF (their weights differ, see docs/dl3.md).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from lappana.dl3 import make_dl3
from lappana.dl3.irf import geomagnetic_delta_deg
from lappana.dl3.make import _run_pointing
from lappana.simulate import simulate_night
from lappana.simulate.irf import irf_file_name, write_irf
from lappana.simulate.night import make_irfs
from tests.helpers.chain import lstchain_peer
from tests.helpers.irf_compare import compare_irfs

pytestmark = pytest.mark.peers

EFF, GLOBAL = "eff_gh0.70_th0.70", "global_gh0.70_theta0.20"
#: Nodes of each IRF folder, as (zenith offset, azimuth offset) from the run's pointing (deg).
FOLDERS = {
    "between": [(-5, -15), (-5, 15), (5, -15), (5, 15)],
    "at_node": [(0, 0), (0, -15), (0, 15), (-5, 0), (5, 0)],
    "outside": [(5, -15), (5, 15), (12, -15), (12, 15)],
}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """The run's DL2, its pointing and the IRF folders (both cut sets)."""
    root = tmp_path_factory.mktemp("irf-grid")
    night = simulate_night(root / "night", night=dt.date(2023, 12, 7), n_runs=1, run_minutes=0.5, seed=11,
                           levels=("dl2",), mc=False, irfs=False, progress=False,
                           start=Time("2023-12-08T04:10:00"), shower_rate_hz=3000.0)
    (dl2,) = night.dl2_files.values()
    _, zenith, azimuth, first_time = _run_pointing(dl2)
    when = Time(first_time, format="unix")
    zeniths = [zenith + dz for dz in (-5, 0, 5, 12)]
    files = {}
    for da in (-15, 0, 15):
        for set_name, nodes in make_irfs(seed=5, time=when, zeniths_deg=zeniths, azimuth_deg=azimuth + da).items():
            for dz, node in zip((-5, 0, 5, 12), nodes):
                files[set_name, dz, da] = write_irf(root / "nodes" / irf_file_name(node), node, when)
    folders = {}
    for set_name in (EFF, GLOBAL):
        for name, offsets in FOLDERS.items():
            folder = root / set_name / name
            folder.mkdir(parents=True)
            for offset in offsets:
                (folder / files[set_name, *offset].name).symlink_to(files[set_name, *offset])
            folders[set_name, name] = folder
    return {"dl2": dl2, "zenith": zenith, "azimuth": azimuth, "b_delta": geomagnetic_delta_deg(zenith, azimuth, when),
            "folders": folders}


def _lstchain(lstchain_env: Path, dl2: Path, irf_dir: Path, out: Path, nearest: bool) -> tuple[Path, str]:
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(lstchain_env / "bin" / "lstchain_create_dl3_file"), "-d", str(dl2), "-o", str(out), "-i", str(irf_dir),
         "-p", "*irf*.fits*", "--source-name", "Crab", "--source-ra", "83.633deg", "--source-dec", "22.014deg",
         "--gzip", "--overwrite", *(["--use-nearest-irf-node"] if nearest else [])],
        capture_output=True, text=True, cwd=out, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / dl2.name.replace("dl2", "dl3").replace(".h5", ".fits.gz"), done.stdout + done.stderr


CASES = [(EFF, "between", False), (GLOBAL, "between", False), (EFF, "at_node", False),
         (EFF, "outside", False), (EFF, "between", True)]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("version", ["0.12.3", "0.10.18"])
@pytest.mark.parametrize("set_name,folder,nearest", CASES, ids=[f"{s[:3]}-{f}-{'nearest' if n else 'interp'}"
                                                                  for s, f, n in CASES])
def test_irf_equals_lstchains(grid, set_name, folder, nearest, version, tmp_path):
    lstchain_env, _ = lstchain_peer(version)
    irf_dir = grid["folders"][set_name, folder]
    ours_path = make_dl3(grid["dl2"], irf_dir, tmp_path / "lappana", source_name="Crab", source_ra_deg=83.633,
                         source_dec_deg=22.014, irf_method="nearest" if nearest else "interpolate")
    theirs_path, log = _lstchain(lstchain_env, grid["dl2"], irf_dir, tmp_path / "lstchain", nearest)
    with fits.open(ours_path) as ours, fits.open(theirs_path) as theirs:
        header = ours["EVENTS"].header
        label = f"lstchain {version} {set_name} {folder} {'nearest' if nearest else 'interpolated'}"
        print(f"{label}: {header['IRF_WHY']}")
        expect_interpolated = folder != "outside" and not nearest
        assert header["IRF_METH"] == ("interpolated" if expect_interpolated else "nearest")
        assert header["IRF_NNOD"] == (3 if expect_interpolated else 1)
        weights = [header[f"IRF_WGT{i}"] for i in range(1, header["IRF_NNOD"] + 1)]
        assert sum(weights) == pytest.approx(1.0, abs=1e-8)
        if folder == "at_node" and not nearest:
            assert max(weights) == pytest.approx(1.0, abs=1e-4)
        our_zen, their_zen = (x["EFFECTIVE AREA"].header["ZEN_PNT"] for x in (ours, theirs))
        if expect_interpolated:  # both IRFs carry the run's pointing, not a node's
            assert our_zen == pytest.approx(grid["zenith"], abs=1e-4)
            assert their_zen == pytest.approx(grid["zenith"], abs=1e-3)
            assert "Using the nearest IRF" not in log
        else:
            assert "Using the nearest IRF" in log
            assert ("outside the IRF grid" in header["IRF_WHY"]) == (not nearest)
            # the node travels unchanged: the same file's pointing as lstchain's
            assert ours["EFFECTIVE AREA"].header["ZEN_PNT"] == theirs["EFFECTIVE AREA"].header["ZEN_PNT"]
            assert ours["EFFECTIVE AREA"].header["AZ_PNT"] == theirs["EFFECTIVE AREA"].header["AZ_PNT"]
        compare_irfs(ours, theirs, label)
        our_ids, their_ids = ours["EVENTS"].data["EVENT_ID"], theirs["EVENTS"].data["EVENT_ID"]
        print(f"{label}: {our_ids.size} events (lstchain {their_ids.size})")
        assert our_ids.size > 50
        assert np.array_equal(our_ids, their_ids)
