"""DL1 → DL2 → DL3 with each lstchain version the site offers, lappana dl3 against that version's own
``lstchain_create_dl3_file`` (issue 15, points 1–3).

For lstchain 0.12.3 and 0.10.18 (each in its own venv, with its own models and the IRF sets of those
models, as ``scripts/setup-lstchain`` makes them): one simulated Crab run (30 s, 2022-12-08 04:10 UTC,
≈34° zenith, ≈268° azimuth) taken to DL2 by that version's ``lstchain_dl1_to_dl2``; IRF nodes around
the run (zenith ±5°, azimuth ±15°) made by that version's ``lstchain_dl1_to_dl2`` and
``lstchain_create_irf_files`` from the simulator's MC (``lappana irfs``); then lappana dl3 and that
version's ``lstchain_create_dl3_file`` on the same DL2 and IRFs, interpolated and nearest node, and on
the models' own IRF sets (nodes at 10–40° zenith, azimuth 180°, which the run lies outside of).

The same EVENT_IDs, TIME to 1 µs, RA/Dec to 0.01″, ENERGY, LIVETIME and DEADC to 1e-6, the IRF HDUs
to 1e-4 relative. Two things of the peers' making are set as a morning-after analysis would have them:

- lstchain evaluates the geomagnetic field (the run's B_DELTA, an interpolation parameter) at the time
  it runs, lappana at the run's: lstchain runs here under ``faketime`` at the run's start;
- lstchain 0.10.18's astropy (5.3.4) knows the Earth's orientation only up to 2023-08-31 and the
  cluster's nodes cannot download more: the run is in 2022, where both astropys have measured values
  (on a 2023-12 run, 0.10.18's RA/Dec are 0.14″ off, the whole difference being UT1−UTC).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from lappana.constants import DL2_PARAMS_KEY
from lappana.dl3 import make_dl3
from lappana.dl3.make import _run_pointing
from lappana.io.blosc_chunks import open_blosc_table
from lappana.model_irfs import cut_set_options, make_model_irfs
from lappana.paths import run_file_name
from lappana.simulate.night import data_dir, simulate_night
from tests.helpers.chain import lstchain_peer
from tests.helpers.irf_compare import compare_irfs

pytestmark = pytest.mark.peers

EFF, GLOBAL = "eff_gh0.70_th0.70", "global_gh0.70_theta0.20"
START = "2022-12-08 04:10:00"
CRAB = {"source_name": "Crab", "source_ra_deg": 83.633, "source_dec_deg": 22.014}
#: (IRF folder, set, nearest node?, what lappana's IRF must be): around = the nodes made around the run,
#: models = the models' own sets, which the run lies outside of.
CASES = [("around", EFF, False, "interpolated"), ("around", EFF, True, "nearest"),
         ("models", GLOBAL, False, "outside"), ("models", EFF, True, "nearest")]


@pytest.fixture(scope="module", params=["0.12.3", "0.10.18"])
def chain(request, tmp_path_factory):
    """One version's DL2 of the run and its IRF folders."""
    version = request.param
    env, models = lstchain_peer(version)
    root = tmp_path_factory.mktemp(f"lstchain-{version}")
    night = simulate_night(root / "night", night=dt.date(2022, 12, 7), n_runs=1, run_minutes=0.5, seed=17,
                           levels=("dl1",), mc=False, irfs=False, progress=False, start=Time(START.replace(" ", "T")))
    (run_id, dl1), = night.dl1_files.items()
    out = data_dir(root / "night", "dl2", dt.date(2022, 12, 7))
    done = subprocess.run([sys.executable, "-m", "lappana", "dl2", str(dl1), "-o", str(out),
                           "--lstchain-env", str(env), "--models", str(models)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"lappana dl2 with lstchain {version} failed:\n{done.stdout}\n{done.stderr}"
    dl2 = out / run_file_name("dl2", run_id)
    _, zenith, azimuth, _ = _run_pointing(dl2)
    around = root / "IRF-around"
    for k, daz in enumerate((-15.0, 15.0)):
        make_model_irfs(models, around, lstchain_env=env, zenith_nodes_deg=[zenith - 5.0, zenith + 5.0],
                        azimuth_deg=azimuth + daz, seed=3, n_thrown=100_000,
                        cut_sets={EFF: cut_set_options(EFF)}, write_recipe=k == 0)
    return {"version": version, "env": env, "dl2": dl2, "zenith": zenith, "azimuth": azimuth,
            "folders": {"around": around, "models": models / "IRF"}}


def _lstchain_dl3(env: Path, dl2: Path, irf_dir: Path, out: Path, nearest: bool) -> tuple[Path, str]:
    """That version's lstchain_create_dl3_file, its clock at the run's start."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["faketime", START, str(env / "bin" / "lstchain_create_dl3_file"), "-d", str(dl2), "-o", str(out),
         "-i", str(irf_dir), "-p", "*irf*.fits*", "--source-name", "Crab", "--source-ra", "83.633deg",
         "--source-dec", "22.014deg", "--gzip", "--overwrite", *(["--use-nearest-irf-node"] if nearest else [])],
        capture_output=True, text=True, cwd=out, timeout=600, env={**os.environ, "TZ": "UTC"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / dl2.name.replace("dl2", "dl3").replace(".h5", ".fits.gz"), done.stdout + done.stderr


def _separation_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(x, dtype=float)) for x in (ra1, dec1, ra2, dec2))
    hav = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(hav))) * 3600.0


def test_the_direct_reader_reads_each_versions_dl2(chain):
    import tables

    reader = open_blosc_table(chain["dl2"], DL2_PARAMS_KEY)
    assert reader is not None, f"lstchain {chain['version']}'s DL2 should take the direct path"
    with tables.open_file(str(chain["dl2"])) as h5:
        reference = h5.get_node(DL2_PARAMS_KEY).read()
        assert str(h5.root._v_attrs["LSTCHAIN_VERSION"]).startswith(chain["version"])
    rows = reader.read(0, reader.nrows)
    reader.close()
    assert set(rows.dtype.names) == set(reference.dtype.names)
    for name in reference.dtype.names:
        np.testing.assert_array_equal(rows[name], reference[name])


@pytest.mark.timeout(900)
@pytest.mark.parametrize("folder,set_name,nearest,expect", CASES,
                         ids=[f"{f}-{s[:3]}-{'nearest' if n else 'interp'}" for f, s, n, _ in CASES])
def test_lappana_dl3_equals_each_versions_create_dl3_file(chain, folder, set_name, nearest, expect, tmp_path):
    label = f"lstchain {chain['version']} {folder} {set_name} {'nearest' if nearest else 'interpolated'}"
    irf_dir = chain["folders"][folder] / set_name
    ours_path = make_dl3(chain["dl2"], irf_dir, tmp_path / "lappana", irf_method="nearest" if nearest else "interpolate",
                         **CRAB)
    theirs_path, log = _lstchain_dl3(chain["env"], chain["dl2"], irf_dir, tmp_path / "lstchain", nearest)
    with fits.open(ours_path) as ours, fits.open(theirs_path) as theirs:
        header = ours["EVENTS"].header
        print(f"{label}: {header['IRF_WHY']}")
        assert header["IRF_METH"] == ("interpolated" if expect == "interpolated" else "nearest")
        assert header["IRF_NNOD"] == (3 if expect == "interpolated" else 1)
        assert ("outside the IRF grid" in header["IRF_WHY"]) == (expect == "outside")
        assert ("Using the nearest IRF" in log) == (expect != "interpolated")
        compare_irfs(ours, theirs, label)

        a, b = ours["EVENTS"], theirs["EVENTS"]
        assert a.data.size > 50, label
        assert np.array_equal(a.data["EVENT_ID"], b.data["EVENT_ID"]), label
        dt_max = np.max(np.abs(a.data["TIME"] - b.data["TIME"]))
        sep = _separation_arcsec(a.data["RA"], a.data["DEC"], b.data["RA"], b.data["DEC"]).max()
        energy = np.max(np.abs(a.data["ENERGY"] / b.data["ENERGY"] - 1.0))
        print(f"{label}: {a.data.size} events; TIME within {dt_max:.1e} s, RA/Dec within {sep:.1e}″, "
              f"ENERGY within {energy:.1e}; LIVETIME {a.header['LIVETIME']:.6f} s against {b.header['LIVETIME']:.6f} s, "
              f"DEADC {a.header['DEADC']:.8f} against {b.header['DEADC']:.8f}")
        assert dt_max < 1e-6, label
        assert sep < 0.01, label
        assert energy < 1e-6, label
        assert a.header["LIVETIME"] == pytest.approx(b.header["LIVETIME"], rel=1e-6), label
        assert a.header["DEADC"] == pytest.approx(b.header["DEADC"], rel=1e-6), label
