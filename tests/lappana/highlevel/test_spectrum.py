"""The spectrum of a simulated 2-hour Crab night at LST-1's rates against what the simulator injected.

The night (``crab_2h``) has LST-1's full cosmic-ray rate in the band analysed, above 0.2 TeV;
the cosmic rays that cannot reach it are left out of the simulation, which
:func:`test_the_cosmic_rays_left_out_cannot_reach_the_band` checks on the simulator itself.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tests.helpers.highlevel import FLUX_BAND_TEV, lst1_rates_above
from lappana.highlevel.crab import crab_dnde, crab_integral_flux
from lappana.highlevel.spectrum import spectrum

CRAB = SkyCoord(83.633, 22.014, unit="deg")
#: the 2-hour night at LST-1's rate takes ~2 min of CPU to make (4 min at load 6-8); 1 h leaves room on a busier machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def injected_lp_at(truth: dict, reference: u.Quantity) -> dict:
    """The injected log-parabola (log10 β) as gammapy's (ln β) at another reference energy."""
    s = truth["parameters"]["source_spectrum"]
    beta = s["beta_log10"] / np.log(10)
    x = np.log(reference.to_value(u.TeV) / s["reference_tev"])
    dnde = s["amplitude_per_tev_cm2_s"] * np.exp(-s["alpha"] * x - beta * x**2)
    return {"amplitude": dnde, "alpha": s["alpha"] + 2 * beta * x, "beta": beta}


@pytest.fixture(scope="module")
def crab_spectrum(crab_2h):
    dl3, truths = crab_2h
    _, result = spectrum(dl3, CRAB, energy_range=list(FLUX_BAND_TEV) * u.TeV)
    return result, truths[0]


def test_the_cosmic_rays_left_out_cannot_reach_the_band(crab_2h):
    from lappana.simulate.showers import draw_reco_energy

    _, truths = crab_2h
    parameters = truths[0]["parameters"]
    cut = lst1_rates_above(FLUX_BAND_TEV[0])["hadron_min_energy_tev"]
    assert parameters["hadron_min_energy_tev"] == pytest.approx(cut) and cut < FLUX_BAND_TEV[0]
    # at LST-1's rate: the simulator's default, not a reduced one
    from lappana.simulate.model import LST1_SHOWER_RATE_HZ

    assert parameters["shower_rate_hz"] == LST1_SHOWER_RATE_HZ
    # a million cosmic rays just below the cut: none is reconstructed inside the band
    energy = np.full(1_000_000, cut)
    reco = draw_reco_energy(np.random.default_rng(0), energy, np.zeros(energy.size, dtype=bool))
    assert reco.max() < FLUX_BAND_TEV[0]


def test_log_parabola_matches_the_injected_spectrum_within_2_sigma(crab_spectrum):
    result, truth = crab_spectrum
    assert result.detected and result.best == "log_parabola"
    fit = result.fits["log_parabola"]
    expected = injected_lp_at(truth, fit.parameters["reference"] * u.TeV)
    for name in ("amplitude", "alpha", "beta"):
        pull = (fit.parameters[name] - expected[name]) / fit.errors[name]
        assert abs(pull) < 2, (name, fit.parameters[name], expected[name], fit.errors[name])


def test_integral_flux_above_200_gev_within_10_percent(crab_spectrum):
    result, truth = crab_spectrum
    flux = truth["parameters"]["source_flux_crab"]
    expected = flux * crab_integral_flux(FLUX_BAND_TEV[0] * u.TeV, 100 * u.TeV)
    assert result.energy_band[0].to_value(u.TeV) == pytest.approx(FLUX_BAND_TEV[0])
    assert result.integral_flux.to_value("cm-2 s-1") == pytest.approx(expected.to_value("cm-2 s-1"), rel=0.10)
    assert result.crab_units == pytest.approx(flux, rel=0.10)
    assert result.integral_flux_ul > result.integral_flux


def test_flux_point_pulls_are_standard_normal(crab_spectrum):
    result, truth = crab_spectrum
    rows = [r for r in result.flux_points_table() if not r["is_ul"]]
    assert len(rows) >= 8
    scale = truth["parameters"]["source_flux_crab"]
    pulls = []
    for r in rows:
        true = crab_dnde(r["e_ref_tev"] * u.TeV, scale).to_value("TeV-1 cm-2 s-1")
        err = r["dnde_errp"] if true > r["dnde"] else r["dnde_errn"]
        pulls.append((true - r["dnde"]) / err)
    pulls = np.array(pulls)
    n = len(pulls)
    assert abs(pulls.mean()) < 3 / np.sqrt(n), pulls
    assert abs(np.sqrt(np.mean(pulls**2)) - 1) < 3 / np.sqrt(2 * n), pulls
    # where TS < 4 a point is an upper limit
    for r in result.flux_points_table():
        if r["ts"] is not None and r["ts"] < 4:
            assert r["is_ul"]
