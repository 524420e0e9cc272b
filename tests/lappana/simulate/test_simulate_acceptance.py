"""Acceptance: one simulated hour of Crab with 70 % efficiency cuts, counted independently.

The count uses only what an analyst has: the DL2 files, the IRF files (GH_CUTS and
RAD_MAX of the node nearest to each run's zenith) and astropy. Events are put on
the sky (RA/Dec at their time at LST-1); ON is the source, OFF are three positions
at the same distance from the pointing (90°, 180°, 270° around it), α = 1/3. The
livetime is the time span minus one dead time (the smallest delta_t) per event.

What is expected comes from the night's truth (``simulation.json``) and from LST-1's own
performance as lstchain ships it (``LST1_*_irf_gheffi_0.70_theffi_0.70.csv``, folded with
the Crab by :mod:`lappana.simulate.lst1_tables`). To keep the test fast the cosmic rays are
simulated at 1 kHz instead of LST-1's ≈8.5 kHz; the background is scaled back by the ratio
the truth records.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

import astropy.units as u
from astropy.coordinates import AltAz, SkyCoord
from astropy.io import fits
from astropy.time import Time

from lappana.constants import LST1_LOCATION
from lappana.io.dl2 import iter_dl2_chunks, select_events
from lappana.simulate import simulate_night
from lappana.simulate.lst1_tables import read_lst1_performance

SHOWER_RATE_HZ = 1000.0
#: Reconstructed energy (TeV) above which the truth counts; the tables' bin edge 10^-0.7.
THRESHOLD_TEV = 0.2
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
        keep = select_events(chunk) & (chunk["reco_energy"] > THRESHOLD_TEV) & (chunk["gammaness"] > 0.1)
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


def _lst1_band(lstchain_env, zenith_deg):
    """LST-1's γ and background rates in ON (per min) with reco energy above THRESHOLD_TEV."""
    data = next(lstchain_env.glob("lib/python3*/site-packages/lstchain/data"))
    table = read_lst1_performance(data, zenith_deg)
    band = table.energy_lo_tev >= 0.99 * THRESHOLD_TEV
    return 60.0 * table.gamma_rate_hz[band].sum(), 60.0 * table.background_rate_hz[band].sum(), table.zenith_deg


@pytest.mark.timeout(900)
def test_one_hour_of_crab_gives_lst1_rates(tmp_path, lstchain_env):
    night = simulate_night(
        tmp_path, night=dt.date(2023, 12, 7), n_runs=3, run_minutes=20.0, seed=7, levels=("dl2",),
        mc=False, irfs=True, shower_rate_hz=SHOWER_RATE_HZ, pedestal_rate_hz=10.0,
        flatfield_rate_hz=10.0, progress=False, dl2_compressed=False,  # same rows, a quarter of the CPU
    )
    source = SkyCoord(83.633 * u.deg, 22.014 * u.deg, frame="icrs")
    n_on = n_off = 0
    livetime = 0.0
    for run_id, path in night.dl2_files.items():
        on, off, live = _count_run(path, night.output / "IRF/eff_gh0.70_th0.70", source)
        n_on += on
        n_off += off
        livetime += live
    doc = json.loads(night.truth_file.read_text())
    truth, runs = doc["total"], doc["runs"]
    to_lst1 = 1.0 / doc["injected"]["cosmic_rays"]["fraction_of_lst1"]
    alpha = 1.0 / 3.0
    excess_rate = 60.0 * (n_on - alpha * n_off) / livetime
    background_rate = 60.0 * alpha * n_off / livetime * to_lst1
    injected = truth["gamma_rate_after_cuts_per_min"]
    injected_background = truth["background_on_rate_after_cuts_per_min"] * to_lst1
    expected = sum(r["expected_gamma_rate_after_cuts_per_min"] * r["livetime_s"] for r in runs) / truth["livetime_s"]
    zenith = sum(r["mean_zenith_deg"] * r["livetime_s"] for r in runs) / truth["livetime_s"]
    lst1_gamma, lst1_background, table_zenith = _lst1_band(lstchain_env, zenith)
    print(
        f"\nlivetime {livetime:.1f} s (truth {truth['livetime_s']:.1f} s); N_on {n_on}, N_off {n_off}; "
        f"excess {excess_rate:.2f} γ/min, injected {injected:.2f} γ/min, model {expected:.2f} γ/min, "
        f"LST-1 {lst1_gamma:.2f} γ/min (table at {table_zenith:g}°, runs at {zenith:.1f}°); background in ON "
        f"at LST-1's rate {background_rate:.2f}/min (truth {injected_background:.2f}/min, LST-1 {lst1_background:.2f}/min)"
    )
    assert livetime == pytest.approx(truth["livetime_s"], rel=1e-3)
    assert excess_rate == pytest.approx(injected, rel=0.15)
    assert injected == pytest.approx(expected, rel=0.12)  # ~900 gammas: Poisson ±3 %
    assert injected == pytest.approx(lst1_gamma, rel=0.25)
    # ≈150 OFF events: the OFF estimate agrees with the injected background to its Poisson error
    sigma = np.sqrt(n_off) / n_off
    assert background_rate == pytest.approx(injected_background, rel=3 * sigma + 0.05)
    # the simulator's own gammaness emulates the forests (lappana.simulate.separation.forest_gammaness):
    # LST-1's background to the Poisson error of its calibration runs plus the forests' spread
    # between trainings (±15 %, scripts/check-realism), so 30 %
    assert injected_background == pytest.approx(lst1_background, rel=0.30)
