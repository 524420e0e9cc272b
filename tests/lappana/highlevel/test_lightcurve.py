"""Light curves of simulated nights against the fluxes the simulator injected.

The nights (``flux_nights``: 0.5, 1 and 2 Crab, and a night at 1 Crab with a 30-minute flare
at 4 Crab) have LST-1's cosmic-ray rate in the band analysed, above 0.2 TeV.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tests.helpers.highlevel import FLUX_BAND_TEV
from lappana.errors import LappanaError
from lappana.highlevel.lightcurve import LightCurveMaker, constancy, parse_bin
from lappana.highlevel.onoff1d import OnOffMaker, read_observations
from lappana.highlevel.spectrum import SpectrumEstimator

CRAB = SkyCoord(83.633, 22.014, unit="deg")


@pytest.fixture(scope="module")
def nights(flux_nights):
    dl3, truths = flux_nights
    maker = OnOffMaker(CRAB, energy_range=list(FLUX_BAND_TEV) * u.TeV)
    observations = read_observations(dl3)
    datasets = maker.run(observations)
    result = SpectrumEstimator(flux_points=False).run(datasets)
    return maker, observations, datasets, result, truths


def _truth_runs(truths):
    return [run for truth in truths for run in truth["runs"]]


def _expected(runs, start_unix, stop_unix):
    """Livetime-weighted injected flux (Crab units) of the runs inside [start, stop]."""
    inside = [r for r in runs if r["tstart_unix"] < stop_unix and r["tstop_unix"] > start_unix]
    weights = [min(r["tstop_unix"], stop_unix) - max(r["tstart_unix"], start_unix) for r in inside]
    return float(np.average([r["source_flux_crab"] for r in inside], weights=weights))


def _realised_flux(truth: dict) -> float:
    """A steady night's flux (Crab units) as its gammas drew it: the injected flux times the gammas that
    passed the cuts above 0.2 TeV over the number the model expects for the same livetime (the truth file's).

    The night-wise test asks for this flux: the simulator's Poisson draw is no error of the analysis.
    (The 2-Crab night of seed 33 drew 577 gammas for 636 expected, −2.3 σ: 1.82 Crab.)
    """
    runs = truth["runs"]
    drawn = sum(r["n_gamma_after_cuts"] for r in runs)
    expected = sum(r["expected_gamma_rate_after_cuts_per_min"] * r["livetime_s"] / 60.0 for r in runs)
    return truth["parameters"]["source_flux_crab"] * drawn / expected


@pytest.mark.slow
def test_night_wise_fluxes_recover_each_night_and_reject_constancy(nights):
    maker, observations, datasets, result, truths = nights
    lc = LightCurveMaker(result, maker, "night").run(observations, datasets)
    print("night-wise (Crab):", [f"{f:.3f} ± {e:.3f}" for f, e in zip(lc.crab_units, lc.crab_units_error)],
          f"constancy p = {lc.p_constant:.1e}")
    assert len(lc.crab_units) == len(truths) == 4
    for i, truth in enumerate(truths[:3]):
        assert truth["parameters"]["flare"] is None
        nominal, realised = truth["parameters"]["source_flux_crab"], _realised_flux(truth)
        print(f"night {truth['night']}: {lc.crab_units[i]:.3f} ± {lc.crab_units_error[i]:.3f} Crab, injected "
              f"{nominal} (pull {(lc.crab_units[i] - nominal) / lc.crab_units_error[i]:+.2f}), its gammas' "
              f"{realised:.3f} (pull {(lc.crab_units[i] - realised) / lc.crab_units_error[i]:+.2f})")
        assert abs(lc.crab_units[i] - realised) < 3 * lc.crab_units_error[i], (i, lc.crab_units[i], realised)
    # the flare's night: one norm over runs at 1 and 4 Crab lies between them (see flux_nights)
    flare = truths[3]["parameters"]["flare"]
    quiet = truths[3]["parameters"]["source_flux_crab"]
    assert quiet + 3 * lc.crab_units_error[3] < lc.crab_units[3] < flare["flux_crab"] - 3 * lc.crab_units_error[3]
    assert lc.p_constant < 1e-3
    assert lc.to_dict()["time_start_utc"][0].startswith("2023-12-07T") or \
        lc.to_dict()["time_start_utc"][0].startswith("2023-12-08T")


@pytest.mark.slow
def test_run_wise_fluxes_follow_the_injected_ones(nights):
    maker, observations, datasets, result, truths = nights
    lc = LightCurveMaker(result, maker, "run").run(observations, datasets)
    runs = _truth_runs(truths)
    assert len(lc.crab_units) == len(runs)
    pulls = [(lc.crab_units[i] - _expected(runs, lc.time_start[i].unix + 1, lc.time_stop[i].unix - 1))
             / lc.crab_units_error[i] for i in range(len(runs))]
    print("run-wise pulls:", np.round(pulls, 2))
    assert max(abs(p) for p in pulls) < 3.5, pulls


@pytest.mark.slow
def test_a_30_minute_flare_stands_out_in_20_minute_bins(nights):
    maker, observations, datasets, result, truths = nights
    lc = LightCurveMaker(result, maker, "20 min").run(observations)
    runs = _truth_runs(truths)
    live = lc.livetime.to_value(u.min)
    assert np.all(live <= 20.0 + 1e-6)
    expected = np.array([_expected(runs, a, b) for a, b in zip(lc.time_start.unix, lc.time_stop.unix)])
    pulls = (lc.crab_units - expected) / lc.crab_units_error
    assert np.all(np.abs(pulls) < 3.5), (lc.crab_units, expected)
    flare = int(np.argmax(expected))
    quiet = [i for i in range(len(expected)) if expected[i] <= 1.0 and live[i] > 10]
    assert quiet and expected[flare] >= 3.0
    print(f"20-min bins: flare {lc.crab_units[flare]:.2f} ± {lc.crab_units_error[flare]:.2f} Crab "
          f"(injected {expected[flare]:.2f}), pulls {np.round(pulls, 2)}")
    for i in quiet:
        gap = (lc.crab_units[flare] - lc.crab_units[i]) / np.hypot(lc.crab_units_error[flare], lc.crab_units_error[i])
        assert gap > 5, (flare, i, lc.crab_units)


def test_constancy_of_equal_fluxes_and_of_different_ones():
    chi2, dof, p = constancy(np.array([1.0, 1.0, 1.0]), np.array([0.1, 0.1, 0.1]))
    assert (chi2, dof, p) == (0.0, 2, 1.0)
    chi2, dof, p = constancy(np.array([1.0, 2.0]), np.array([0.1, 0.1]))
    assert chi2 == pytest.approx(50.0) and dof == 1 and p < 1e-10
    assert constancy(np.array([1.0]), np.array([0.1]))[1] == 0


def test_bins_are_run_night_or_a_livetime():
    assert parse_bin("run") == "run" and parse_bin(" Night ") == "night"
    assert parse_bin("20 min") == 20 * u.min and parse_bin("1 h") == 60 * u.min
    for bad in ("weekly", "20 m2", "-5 min", "0 s"):
        with pytest.raises(LappanaError, match="run, night or a livetime"):
            parse_bin(bad)
