"""lappana dl3 against the real lstchain_create_dl3_file, and its files read by gammapy 2.1.

Issue 2's acceptance: on the same simulated DL2 and IRF, for the global and the
energy-dependent cut, the same EVENT_IDs, TIME to 1 µs, RA/DEC to 1″, ENERGY
exactly, LIVETIME and DEADC to 0.1 %; gammapy's DataStore loads every run and
its livetime (ΣGTI × DEADC) is within 0.5 % of LIVETIME.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lappana.dl3 import make_dl3
from lappana.index import make_index
from lappana.simulate import simulate_night

IRF_SETS = ["global_gh0.70_theta0.20", "eff_gh0.70_th0.70"]
PEER_SCRIPT = Path(__file__).parents[2] / "peers" / "gammapy_datastore.py"


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return simulate_night(tmp_path_factory.mktemp("dl3-night"), night=dt.date(2023, 12, 7), n_runs=2,
                          run_minutes=0.5, seed=11, levels=("dl2",), mc=False, progress=False)


def _lappana_dl3(night, irf_set: str, out: Path) -> list[Path]:
    return [
        make_dl3(path, night.output / "IRF" / irf_set, out, source_name="Crab", source_ra_deg=83.633,
                 source_dec_deg=22.014, chunk_rows=7_000)  # several chunks per run
        for path in night.dl2_files.values()
    ]


def _lstchain_dl3(lstchain_env: Path, dl2: Path, irf_dir: Path, out: Path) -> Path:
    subprocess.run(
        [str(lstchain_env / "bin" / "lstchain_create_dl3_file"), "-d", str(dl2), "-o", str(out),
         "-i", str(irf_dir), "-p", "irf*.fits.gz", "--source-name", "Crab", "--source-ra", "83.633deg",
         "--source-dec", "22.014deg", "--use-nearest-irf-node", "--gzip", "--overwrite"],
        check=True, capture_output=True, text=True, cwd=out,
    )
    return out / dl2.name.replace("dl2", "dl3").replace(".h5", ".fits.gz")


def _events(path: Path):
    with fits.open(path) as hdus:
        return hdus["EVENTS"].header.copy(), np.array(hdus["EVENTS"].data), hdus["EFFECTIVE AREA"].header.copy()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("irf_set", IRF_SETS)
def test_same_events_as_lstchain(night, irf_set, lstchain_env, tmp_path):
    ours_dir, theirs_dir = tmp_path / "lappana", tmp_path / "lstchain"
    theirs_dir.mkdir()
    ours = _lappana_dl3(night, irf_set, ours_dir)
    for path, dl2 in zip(ours, night.dl2_files.values()):
        theirs = _lstchain_dl3(lstchain_env, dl2, night.output / "IRF" / irf_set, theirs_dir)
        our_header, our_events, our_aeff = _events(path)
        their_header, their_events, their_aeff = _events(theirs)
        assert our_aeff["ZEN_PNT"] == their_aeff["ZEN_PNT"]  # the same IRF node
        assert our_events.size > 100
        assert np.array_equal(our_events["EVENT_ID"], their_events["EVENT_ID"])
        dt_us = np.max(np.abs(our_events["TIME"] - their_events["TIME"])) * 1e6
        ra1, dec1, ra2, dec2 = (np.radians(x) for x in (our_events["RA"], our_events["DEC"],
                                                          their_events["RA"], their_events["DEC"]))
        sep = np.arccos(np.clip(np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(ra1 - ra2), -1, 1))
        sep_arcsec = np.degrees(np.max(sep)) * 3600
        print(f"{irf_set} {path.name}: {our_events.size} events, max |ΔTIME| {dt_us:.3f} µs, "
              f"max separation {sep_arcsec:.2e}″, LIVETIME {our_header['LIVETIME']:.4f} vs "
              f"{their_header['LIVETIME']:.4f} s, DEADC {our_header['DEADC']:.6f} vs {their_header['DEADC']:.6f}")
        assert dt_us < 1.0
        assert sep_arcsec < 1.0
        assert np.array_equal(our_events["ENERGY"], their_events["ENERGY"])
        assert np.array_equal(our_events["GAMMANESS"], their_events["GAMMANESS"])
        assert our_header["LIVETIME"] == pytest.approx(their_header["LIVETIME"], rel=1e-3)
        assert our_header["DEADC"] == pytest.approx(their_header["DEADC"], rel=1e-3)
        assert our_header["ONTIME"] == pytest.approx(their_header["ONTIME"], rel=1e-3)
        assert our_header["RA_PNT"] == pytest.approx(their_header["RA_PNT"], abs=1e-3)
        assert our_header["DEC_PNT"] == pytest.approx(their_header["DEC_PNT"], abs=1e-3)
        for key in ("OBS_ID", "MJDREFI", "MJDREFF", "TIMESYS", "TIMEREF", "OBS_MODE", "N_TELS"):
            assert our_header[key] == their_header[key], key
        for key in ("GEOLON", "GEOLAT"):
            assert our_header[key] == pytest.approx(their_header[key], abs=1e-9), key
        # lstchain rounds ctapipe's geocentric round trip of 2199.89 m down to 2199.88
        assert our_header["ALTITUDE"] == pytest.approx(their_header["ALTITUDE"], abs=0.011)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("irf_set", IRF_SETS)
def test_gammapy_reads_every_run(night, irf_set, gammapy_python, tmp_path):
    paths = _lappana_dl3(night, irf_set, tmp_path)
    make_index(tmp_path)
    out = subprocess.run([str(gammapy_python), str(PEER_SCRIPT), str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(result["loaded"]) == sorted(night.dl2_files)
    for obs_id, obs in result["observations"].items():
        with fits.open(tmp_path / f"dl3_LST-1.Run{int(obs_id):05d}.fits.gz") as hdus:
            assert obs["n_events"] == len(hdus["EVENTS"].data)
        ratio = obs["livetime_gammapy_s"] / obs["livetime_header_s"]
        print(f"{irf_set} run {obs_id}: gammapy livetime {obs['livetime_gammapy_s']:.4f} s, "
              f"LIVETIME {obs['livetime_header_s']:.4f} s, ratio {ratio:.6f}, RAD_MAX ≤ {obs['rad_max_deg']}")
        assert ratio == pytest.approx(1.0, abs=0.005)
        assert obs["aeff_max_m2"] > 0
        assert obs["rad_max_deg"] is not None
    assert len(paths) == len(result["loaded"])
