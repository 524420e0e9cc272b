"""Light curves of simulated nights against the fluxes the simulator injected."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from lappana.errors import LappanaError
from lappana.highlevel.lightcurve import LightCurveMaker, constancy, parse_bin
from lappana.highlevel.onoff1d import OnOffMaker, read_observations
from lappana.highlevel.spectrum import SpectrumEstimator

CRAB = SkyCoord(83.633, 22.014, unit="deg")


@pytest.fixture(scope="module")
def nights(three_nights):
    dl3, truths = three_nights
    maker = OnOffMaker(CRAB, energy_range=[0.2, 100] * u.TeV)
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


@pytest.mark.slow
def test_night_wise_fluxes_recover_each_night_and_reject_constancy(nights):
    maker, observations, datasets, result, truths = nights
    lc = LightCurveMaker(result, maker, "night").run(observations, datasets)
    assert len(lc.crab_units) == 3
    runs = _truth_runs(truths)
    for i in range(3):
        expected = _expected(runs, lc.time_start[i].unix, lc.time_stop[i].unix)
        assert abs(lc.crab_units[i] - expected) < 3 * lc.crab_units_error[i], (i, lc.crab_units[i], expected)
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
