"""Session fixtures of the high-level tests: small simulated Crab nights made into DL3 by lappana.

Helpers live in :mod:`tests.helpers.highlevel`; tests import them from there, never from a conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import datetime as dt

from tests.helpers.highlevel import FLUX_BAND_TEV, make_flux_nights, make_night_dl3
from lappana.simulate.variability import Flare


@pytest.fixture(scope="session")
def crab_dl3(tmp_path_factory) -> Path:
    """Two 8-minute Crab runs, energy-dependent cuts (RAD_MAX_2D)."""
    return make_night_dl3(tmp_path_factory.mktemp("crab"), n_runs=2, run_minutes=8, seed=3, source_flux=1.0)


@pytest.fixture(scope="session")
def crab_global_dl3(tmp_path_factory) -> Path:
    """One 6-minute Crab run with global cuts (RAD_MAX keyword)."""
    return make_night_dl3(tmp_path_factory.mktemp("crabglobal"), n_runs=1, run_minutes=6, seed=4, source_flux=1.0,
                          irf_set="global_gh0.70_theta0.20")


@pytest.fixture(scope="session")
def real_rate_dl3(tmp_path_factory) -> Path:
    """One 4-minute Crab run at LST-1's trigger rates (lstchain's effective time needs kHz rates)."""
    return make_night_dl3(tmp_path_factory.mktemp("realrate"), n_runs=1, run_minutes=4, seed=8, source_flux=1.0,
                          shower_rate_hz=None)


@pytest.fixture(scope="session")
def null_field_dl3(tmp_path_factory) -> Path:
    """No source: 3 × 7 min of cosmic rays at LST-1's rate (~11 M events), for the OFF estimate's bias."""
    return make_night_dl3(tmp_path_factory.mktemp("nullfield"), n_runs=3, run_minutes=7, seed=40, source_flux=0.0,
                          shower_rate_hz=None)


@pytest.fixture(scope="session")
def crab_2h(tmp_path_factory):
    """A 2-hour Crab night (6 × 20 min) at 1 Crab and LST-1's cosmic-ray rate in :data:`FLUX_BAND_TEV`:
    ``(dl3_dir, [truth])``.

    The acceptance asks for LST-1's rates; the cosmic rays that cannot reach 0.2 TeV of
    reconstructed energy (gamma-equivalent energies below 0.124 TeV, ~77 % of LST-1's ~8.5 kHz)
    are not simulated (:func:`tests.helpers.highlevel.lst1_rates_above`, the default of
    :func:`tests.helpers.highlevel.make_flux_nights`): the whole rate would take ~30 min of CPU and
    18 GB for the same events in the band; this, with the DL2 uncompressed and deleted once its
    DL3 is made, ~2 min and 18 MB (measured 3 Dec 2026, docs/highlevel.md).
    """
    return make_flux_nights(tmp_path_factory.mktemp("crab2h"), [
        {"night": dt.date(2023, 12, 7), "n_runs": 6, "run_minutes": 20, "source_flux": 1.0}], seed=21)


@pytest.fixture(scope="session")
def flux_nights(tmp_path_factory):
    """Three steady nights at 0.5, 1 and 2 Crab (2 × 10 min each) and a fourth night (6 × 10 min) at 1 Crab
    with a 30-minute flare at 4 Crab covering its runs 3 to 5 (22 to 54 min after its start):
    ``(dl3_dir, [truth per night])``.

    The flare has a night of its own: one norm fitted jointly (WStat) to runs of different
    fluxes is not their mean (each run's profiled background absorbs part of the misfit, so
    the fainter runs weigh more: 2.21 ± 0.06 Crab for runs at 1 and 4 Crab in equal parts),
    so a night with a flare has no single injected flux to recover.
    At LST-1's cosmic-ray rate in the light curves' band, above 0.2 TeV, as :func:`crab_2h`
    (~1.5 min of CPU).
    """
    return make_flux_nights(tmp_path_factory.mktemp("nights"), [
        {"night": dt.date(2023, 12, 7), "n_runs": 2, "run_minutes": 10, "source_flux": 0.5},
        {"night": dt.date(2023, 12, 8), "n_runs": 2, "run_minutes": 10, "source_flux": 1.0},
        {"night": dt.date(2023, 12, 9), "n_runs": 2, "run_minutes": 10, "source_flux": 2.0},
        {"night": dt.date(2023, 12, 10), "n_runs": 6, "run_minutes": 10, "source_flux": 1.0,
         "flare": Flare(start_min=22.0, duration_min=32.0, flux_crab=4.0)}], seed=31)
