"""FACT's rule on a light curve's bins (spoold.alerts.flare): which bin is told, and when again."""

from __future__ import annotations

import math

from spoold.alerts.flare import Bin, bins_of, crossing


def _bin(flux: float, error: float = 0.3, sigma: float = 10.0, run: int = 1) -> Bin:
    return Bin("2023-12-08T01:00:00", "2023-12-08T01:20:00", flux, error, sigma, 1.0, run)


def test_a_bin_above_the_flux_and_the_significance_is_told():
    assert crossing([_bin(3.5)], flux_crab=3.0, sigma=3.0) == _bin(3.5)


def test_a_bright_bin_below_the_significance_or_a_faint_significant_one_is_not():
    assert crossing([_bin(3.5, sigma=2.9)], flux_crab=3.0, sigma=3.0) is None
    assert crossing([_bin(2.9, sigma=30.0)], flux_crab=3.0, sigma=3.0) is None
    assert crossing([_bin(math.nan)], flux_crab=3.0, sigma=3.0) is None
    assert crossing([], flux_crab=3.0, sigma=3.0) is None


def test_the_brightest_passing_bin_is_told():
    told = crossing([_bin(3.2, run=1), _bin(4.8, run=2), _bin(2.0, run=3)], flux_crab=3.0, sigma=3.0)
    assert told.run == 2


def test_after_an_alert_only_a_flux_risen_by_sigma_of_the_difference_is_told_again():
    before = [{"flux_crab": 5.0, "error_crab": 0.4}]
    spread = math.hypot(0.4, 0.3)
    assert crossing([_bin(5.3)], flux_crab=3.0, sigma=3.0, told=before) is None  # as bright
    assert crossing([_bin(5.0 + 2.9 * spread)], flux_crab=3.0, sigma=3.0, told=before) is None
    again = crossing([_bin(5.0 + 3.1 * spread)], flux_crab=3.0, sigma=3.0, told=before)
    assert again is not None and again.flux_crab > 5.0
    assert crossing([_bin(4.0)], flux_crab=3.0, sigma=3.0, told=before) is None  # fainter


def test_bins_are_read_from_a_summary_with_sqrt_ts_as_their_significance():
    summary = {"lightcurve": {"integral_above_tev": 1.0, "time_start_utc": ["a", "b"], "time_stop_utc": ["c", "d"],
                              "crab_units": [1.2, None], "crab_units_error": [0.2, None], "ts": [49.0, -1.0]}}
    first, second = bins_of(summary, run=7)
    assert (first.flux_crab, first.error_crab, first.sigma, first.above_tev, first.run) == (1.2, 0.2, 7.0, 1.0, 7)
    assert math.isnan(second.flux_crab) and second.sigma == 0.0
    assert bins_of({}) == [] and bins_of({"lightcurve": None}) == []
