"""Session fixtures of the high-level tests: small simulated Crab nights made into DL3 by lappana.

Helpers live in ``highlevel_helpers.py`` (a unique module name: several conftest.py files
exist in the suite, so tests never import from ``conftest``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from highlevel_helpers import make_night_dl3


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
