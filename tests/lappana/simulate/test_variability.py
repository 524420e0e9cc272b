"""The simulator's flare and the Crab reference the flux is measured against."""

from __future__ import annotations

from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pytest

from lappana.errors import LappanaError
from lappana.highlevel.crab import crab_dnde, crab_integral_flux, crab_model
from lappana.simulate import model
from lappana.simulate.variability import Flare, injected_spectrum, run_fluxes


def _plans(n: int, minutes: float = 10.0, gap_s: float = 60.0):
    return [SimpleNamespace(run_id=100 + i, start_unix=i * (60 * minutes + gap_s),
                            stop_unix=i * (60 * minutes + gap_s) + 60 * minutes, duration_s=60 * minutes)
            for i in range(n)]


def test_a_flare_gives_its_flux_to_the_runs_it_covers_and_a_share_to_the_ones_it_touches():
    plans = _plans(4)
    fluxes = run_fluxes(plans, 1.0, Flare(start_min=11.0, duration_min=15.0, flux_crab=3.0))
    assert fluxes[100] == 1.0 and fluxes[101] == 3.0 and fluxes[103] == 1.0
    assert fluxes[102] == pytest.approx(1.0 + 2.0 * 4.0 / 10.0)  # 4 of its 10 minutes in the flare
    assert run_fluxes(plans, 0.5) == {p.run_id: 0.5 for p in plans}


def test_a_flare_without_length_is_a_sentence():
    with pytest.raises(LappanaError, match="positive length in minutes"):
        Flare(start_min=0.0, duration_min=0.0, flux_crab=2.0)


def test_the_reference_crab_is_the_simulators_and_gammapys_magic_2015():
    e = np.geomspace(0.03, 30, 50)
    assert crab_dnde(e * u.TeV).to_value("TeV-1 cm-2 s-1") == pytest.approx(model.crab_flux(e), rel=1e-12)
    gp = crab_model().integral(0.2 * u.TeV, 100 * u.TeV).to_value("cm-2 s-1")
    assert crab_integral_flux(0.2 * u.TeV).to_value("cm-2 s-1") == pytest.approx(gp, rel=1e-4)
    assert injected_spectrum(0.5)["amplitude_per_tev_cm2_s"] == pytest.approx(0.5 * 3.23e-11)
