"""The simulator against the real tools: ctapipe's camera frame, lstchain_create_dl3_file."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import numpy as np
import pytest
from astropy.io import fits

from lappana.constants import DL2_PARAMS_KEY
from lappana.io.dl2 import select_events
from lappana.io.hdf5 import read_table
from lappana.simulate import simulate_night
from lappana.simulate.camera import altaz_to_camera, camera_to_altaz

_CTAPIPE_SCRIPT = """
import json, sys
import numpy as np, astropy.units as u
from lstchain.reco.utils import camera_to_altaz, sky_to_camera
d = json.loads(sys.stdin.read())
c = camera_to_altaz(np.array(d["x"]) * u.m, np.array(d["y"]) * u.m, 29.30565 * u.m,
                    np.array(d["alt"]) * u.rad, np.array(d["az"]) * u.rad)
s = sky_to_camera(np.array(d["salt"]) * u.rad, np.array(d["saz"]) * u.rad, 29.30565 * u.m,
                  np.array(d["alt"]) * u.rad, np.array(d["az"]) * u.rad)
print(json.dumps({"alt": c.alt.rad.tolist(), "az": c.az.rad.tolist(),
                  "x": s.x.to_value(u.m).tolist(), "y": s.y.to_value(u.m).tolist()}))
"""


def test_camera_frame_matches_ctapipe(lstchain_env):
    rng = np.random.default_rng(11)
    n = 50
    d = {"x": rng.uniform(-1.1, 1.1, n), "y": rng.uniform(-1.1, 1.1, n),
         "alt": rng.uniform(0.4, 1.55, n), "az": rng.uniform(0, 2 * np.pi, n)}
    d["salt"] = d["alt"] + rng.uniform(-0.03, 0.03, n)
    d["saz"] = d["az"] + rng.uniform(-0.05, 0.05, n)
    out = subprocess.run(
        [str(lstchain_env / "bin" / "python"), "-c", _CTAPIPE_SCRIPT],
        input=json.dumps({k: v.tolist() for k, v in d.items()}), capture_output=True, text=True, check=True,
    )
    ref = json.loads(out.stdout.strip().splitlines()[-1])
    alt, az = camera_to_altaz(d["x"], d["y"], d["alt"], d["az"])
    assert np.max(np.abs(alt - ref["alt"])) < 1e-10
    assert np.max(np.abs(np.angle(np.exp(1j * (az - np.array(ref["az"])))))) < 1e-10
    x, y = altaz_to_camera(d["salt"], d["saz"], d["alt"], d["az"])
    assert np.max(np.abs(x - ref["x"])) < 1e-9 and np.max(np.abs(y - ref["y"])) < 1e-9


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return simulate_night(tmp_path_factory.mktemp("peer-night"), night=dt.date(2023, 12, 7), n_runs=1,
                          run_minutes=0.5, seed=4, levels=("dl2",), mc=False, progress=False)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("irf_set", ["global_gh0.70_theta0.20", "eff_gh0.70_th0.70"])
def test_lstchain_makes_dl3_from_simulated_dl2_and_irfs(night, irf_set, lstchain_env, tmp_path):
    dl2 = night.dl2_files[15864]
    subprocess.run(
        [str(lstchain_env / "bin" / "lstchain_create_dl3_file"), "-d", str(dl2), "-o", str(tmp_path),
         "-i", str(night.output / "IRF" / irf_set), "-p", "irf*.fits.gz", "--source-name", "Crab",
         "--source-ra", "83.633deg", "--source-dec", "22.014deg", "--overwrite"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    )
    with fits.open(tmp_path / "dl3_LST-1.Run15864.fits") as hdus:
        events = hdus["EVENTS"]
        names = [h.name for h in hdus]
        livetime = events.header["LIVETIME"]
        event_ids = np.sort(events.data["EVENT_ID"])
        zen_pnt = hdus["EFFECTIVE AREA"].header["ZEN_PNT"]
        gh = hdus["GH_CUTS"].data if "GH_CUTS" in names else None

    data = read_table(dl2, DL2_PARAMS_KEY)
    selected = select_events(data)
    if gh is None:
        selected &= data["gammaness"] > 0.7
    else:
        edges = np.append(gh["low"], gh["high"][-1])
        index = np.digitize(data["reco_energy"], edges) - 1
        ok = (index >= 0) & (index < len(gh))
        cut = np.full(index.shape, np.inf)
        cut[ok] = gh["cut"][index[ok]]
        selected &= data["gammaness"] >= cut
    assert np.array_equal(event_ids, np.sort(data["event_id"][selected]))
    assert zen_pnt == pytest.approx(10.0)  # the run is at ~6°: nearest node
    truth = night.truth[15864]
    print(f"lstchain LIVETIME {livetime:.4f} s, truth {truth.livetime_s:.4f} s, {event_ids.size} events")
    assert livetime == pytest.approx(truth.livetime_s, rel=0.005)


_GAMMAPY_SCRIPT = """
import sys, json
from gammapy.irf import EffectiveAreaTable2D, EnergyDispersion2D, RadMax2D
import astropy.units as u
path = sys.argv[1]
aeff = EffectiveAreaTable2D.read(path, hdu="EFFECTIVE AREA")
edisp = EnergyDispersion2D.read(path, hdu="ENERGY DISPERSION")
out = {"aeff_1tev": aeff.evaluate(energy_true=1 * u.TeV, offset=0.4 * u.deg).to_value("m2").item(),
       "edisp_sum": float(edisp.data[10, :, 0].sum() * 0.16)}
if "eff_" in path:
    rad = RadMax2D.read(path, hdu="RAD_MAX")
    out["rad_1tev"] = rad.evaluate(energy=1 * u.TeV, offset=0.4 * u.deg).to_value("deg").item()
else:
    rad = RadMax2D.from_irf(aeff)
    out["rad_1tev"] = rad.data.flat[0]
print(json.dumps(out))
"""


@pytest.mark.parametrize("irf_set", ["global_gh0.70_theta0.20", "eff_gh0.70_th0.70"])
def test_gammapy_reads_the_irfs(night, irf_set, gammapy_python):
    path = next((night.output / "IRF" / irf_set).glob("*zen20.0*"))
    out = subprocess.run([str(gammapy_python), "-c", _GAMMAPY_SCRIPT, str(path)],
                         capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(irf_set, got)
    assert 3e4 < got["aeff_1tev"] < 3e5  # m², after cuts
    assert got["edisp_sum"] == pytest.approx(1.0, abs=0.05)  # a probability density in migra
    assert 0.1 <= got["rad_1tev"] <= 0.32
