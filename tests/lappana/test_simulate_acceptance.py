"""Acceptance: one simulated hour of Crab with 70 % efficiency cuts, counted independently.

The count uses only what an analyst has: the DL2 files, the IRF files (GH_CUTS and
RAD_MAX of the node nearest to each run's zenith) and astropy. Events are put on
the sky (RA/Dec at their time at LST-1); ON is the source, OFF are three positions
at the same distance from the pointing (90°, 180°, 270° around it), α = 1/3. The
livetime is the time span minus one dead time (the smallest delta_t) per event.

To keep the test fast the cosmic-ray rate is 100 Hz instead of LST-1's ~1.5 kHz;
the background is scaled back by 15 before it is compared with LST-1's ≈2.4/min.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

import lappana.env  # noqa: F401
import astropy.units as u
from astropy.coordinates import AltAz, SkyCoord
from astropy.io import fits
from astropy.time import Time

from lappana.constants import LST1_LOCATION
from lappana.io.dl2 import iter_dl2_chunks, select_events
from lappana.simulate import simulate_night

SHOWER_RATE_HZ = 100.0
SCALE_TO_LST1 = 1500.0 / SHOWER_RATE_HZ
COLUMNS = ["event_type", "r", "wl", "leakage_intensity_width_2", "intensity", "length", "width",
           "reco_energy", "gammaness", "reco_alt", "reco_az", "alt_tel", "az_tel", "dragon_time", "delta_t"]


def _nearest_irf(folder, zenith_deg):
    def distance(path):
        with fits.open(path) as hdus:
            return abs(np.cos(np.radians(hdus[1].header["ZEN_PNT"])) - np.cos(np.radians(zenith_deg)))

    path = min(folder.glob("irf*.fits.gz"), key=distance)
    with fits.open(path) as hdus:
        gh = hdus["GH_CUTS"].data
        rad = hdus["RAD_MAX"].data
        edges = np.append(gh["low"], gh["high"][-1])
        return edges, np.asarray(gh["cut"]), np.asarray(rad["RAD_MAX"][0, 0])


def _per_bin(values, edges, energy):
    index = np.digitize(energy, edges) - 1
    ok = (index >= 0) & (index < len(values))
    out = np.full(energy.shape, np.nan)
    out[ok] = values[index[ok]]
    return out


def _count_run(path, irf_folder, source):
    picked = {name: [] for name in COLUMNS}
    first = last = None
    n_events = 0
    tau = np.inf
    zen_sum = 0.0
    for chunk in iter_dl2_chunks(path, COLUMNS, chunk_rows=200_000):
        n_events += chunk["dragon_time"].size
        first = chunk["dragon_time"][0] if first is None else first
        last = chunk["dragon_time"][-1]
        positive = chunk["delta_t"][chunk["delta_t"] > 0]
        tau = min(tau, positive.min()) if positive.size else tau
        zen_sum += np.sum(90.0 - np.degrees(chunk["alt_tel"]))
        keep = select_events(chunk) & (chunk["reco_energy"] > 0.2) & (chunk["gammaness"] > 0.3)
        for name in COLUMNS:
            picked[name].append(chunk[name][keep])
    ev = {k: np.concatenate(v) for k, v in picked.items()}
    edges, gh_cuts, rad_max = _nearest_irf(irf_folder, zen_sum / n_events)
    passed = ev["gammaness"] >= _per_bin(gh_cuts, edges, ev["reco_energy"])
    ev = {k: v[passed] for k, v in ev.items()}
    theta_cut = _per_bin(rad_max, edges, ev["reco_energy"]) * u.deg

    frame = AltAz(obstime=Time(ev["dragon_time"], format="unix"), location=LST1_LOCATION)
    events = SkyCoord(alt=ev["reco_alt"] * u.rad, az=ev["reco_az"] * u.rad, frame=frame).icrs
    pointing = SkyCoord(alt=ev["alt_tel"] * u.rad, az=ev["az_tel"] * u.rad, frame=frame).icrs
    n_on = int(np.count_nonzero(events.separation(source) < theta_cut))
    n_off = 0
    pa = pointing.position_angle(source)
    offset = pointing.separation(source)
    for k in (1, 2, 3):
        off = pointing.directional_offset_by(pa + k * 90 * u.deg, offset)
        n_off += int(np.count_nonzero(events.separation(off) < theta_cut))
    livetime = (last - first) - n_events * tau
    return n_on, n_off, livetime


@pytest.mark.timeout(600)
def test_one_hour_of_crab_gives_lst1_rates(tmp_path):
    night = simulate_night(
        tmp_path, night=dt.date(2023, 12, 7), n_runs=3, run_minutes=20.0, seed=7, levels=("dl2",),
        mc=False, irfs=True, shower_rate_hz=SHOWER_RATE_HZ, pedestal_rate_hz=10.0,
        flatfield_rate_hz=10.0, progress=False,
    )
    source = SkyCoord(83.633 * u.deg, 22.014 * u.deg, frame="icrs")
    n_on = n_off = 0
    livetime = 0.0
    for run_id, path in night.dl2_files.items():
        on, off, live = _count_run(path, night.output / "IRF/eff_gh0.70_th0.70", source)
        n_on += on
        n_off += off
        livetime += live
    alpha = 1.0 / 3.0
    excess_rate = 60.0 * (n_on - alpha * n_off) / livetime
    background_rate = 60.0 * alpha * n_off / livetime * SCALE_TO_LST1

    truth = json.loads(night.truth_file.read_text())["total"]
    injected = truth["gamma_rate_after_cuts_per_min"]
    runs = json.loads(night.truth_file.read_text())["runs"]
    expected = sum(r["expected_gamma_rate_after_cuts_per_min"] * r["livetime_s"] for r in runs) / truth["livetime_s"]
    print(
        f"\nlivetime {livetime:.1f} s (truth {truth['livetime_s']:.1f} s); N_on {n_on}, N_off {n_off}; "
        f"excess {excess_rate:.2f} γ/min, injected {injected:.2f} γ/min, model {expected:.2f} γ/min; "
        f"background in ON scaled to 1.5 kHz {background_rate:.2f}/min "
        f"(truth {truth['background_on_rate_after_cuts_per_min'] * SCALE_TO_LST1:.2f}/min)"
    )
    assert livetime == pytest.approx(truth["livetime_s"], rel=1e-3)
    assert excess_rate == pytest.approx(injected, rel=0.15)
    assert injected == pytest.approx(10.0, rel=0.20)
    assert injected == pytest.approx(expected, rel=0.12)  # ~650 gammas: Poisson ±4 %
    assert 2.4 / 3 < background_rate < 2.4 * 3
