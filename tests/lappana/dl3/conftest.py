"""Fixtures shared by the DL3 tests."""

from __future__ import annotations

import datetime as dt

import pytest

from lappana.simulate import simulate_night


@pytest.fixture(scope="module")
def irf_dir(tmp_path_factory):
    """The energy-dependent IRF set (70 % efficiency cuts) of a tiny simulated night."""
    night = simulate_night(tmp_path_factory.mktemp("irf"), night=dt.date(2023, 12, 7), n_runs=1, run_minutes=0.05,
                           seed=2, levels=("dl2",), mc=False, progress=False)
    return night.output / "IRF" / "eff_gh0.70_th0.70"
