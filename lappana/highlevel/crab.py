"""The Crab Nebula as reference: MAGIC's 2015 log-parabola (JHEAp 5, 30), in one place.

dN/dE = 3.23e-11 (E/TeV)^(−2.47 − 0.24 log10 E/TeV) TeV⁻¹ cm⁻² s⁻¹. "Crab units"
everywhere in lappana are integral fluxes divided by this model's integral over
the same energy band. No gammapy here except in :func:`crab_model`.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

#: MAGIC 2015 log-parabola: amplitude (TeV⁻¹ cm⁻² s⁻¹) at the reference (TeV), α, β with log10.
CRAB_MAGIC_2015 = {"amplitude_per_tev_cm2_s": 3.23e-11, "reference_tev": 1.0, "alpha": 2.47, "beta_log10": 0.24}
#: Label of the reference in plots and reports.
CRAB_LABEL = "Crab, MAGIC 2015 log-parabola"
FLUX_UNIT = u.Unit("cm-2 s-1")
DNDE_UNIT = u.Unit("TeV-1 cm-2 s-1")


def crab_dnde(energy: u.Quantity, scale: float = 1.0) -> u.Quantity:
    """Differential flux of ``scale`` Crab at ``energy``.

    Parameters
    ----------
    energy : astropy.units.Quantity
        True energy.
    scale : float
        Flux in Crab units.

    Returns
    -------
    astropy.units.Quantity
        dN/dE in TeV⁻¹ cm⁻² s⁻¹.
    """
    p = CRAB_MAGIC_2015
    x = np.asarray(u.Quantity(energy).to_value(u.TeV)) / p["reference_tev"]
    return scale * p["amplitude_per_tev_cm2_s"] * x ** (-p["alpha"] - p["beta_log10"] * np.log10(x)) * DNDE_UNIT


def crab_integral_flux(energy_min: u.Quantity, energy_max: u.Quantity = 100 * u.TeV) -> u.Quantity:
    """Integral flux of the Crab between two energies (cm⁻² s⁻¹), by quadrature in log E."""
    lo, hi = (u.Quantity(e).to_value(u.TeV) for e in (energy_min, energy_max))
    if not 0 < lo < hi:
        raise ValueError(f"an energy band needs 0 < min < max, got {lo} and {hi} TeV")
    e = np.geomspace(lo, hi, 4001)
    f = e * crab_dnde(e * u.TeV).to_value(DNDE_UNIT)
    return np.trapezoid(f, np.log(e)) * FLUX_UNIT


def crab_model(scale: float = 1.0):
    """The reference as a gammapy ``LogParabolaSpectralModel`` (β converted from log10 to ln)."""
    from gammapy.modeling.models import LogParabolaSpectralModel

    p = CRAB_MAGIC_2015
    return LogParabolaSpectralModel.from_log10(
        amplitude=scale * p["amplitude_per_tev_cm2_s"] * DNDE_UNIT, reference=p["reference_tev"] * u.TeV,
        alpha=p["alpha"], beta=p["beta_log10"])
