"""The spectrum of a source from point-like DL3 runs: WStat fits, flux points, integral flux.

lstchain's post-DL3 recipe, in process with gammapy: the runs' ON/OFF datasets
(:class:`lappana.highlevel.onoff1d.OnOffMaker`) are stacked; a power law gives
the decorrelation energy, which becomes the reference of a log-parabola; both are
fitted with WStat. Flux points come from ``FluxPointsEstimator`` with the best
model's shape, an upper limit (95 %, one-sided: ΔTS = 2.71) wherever TS < 4. The
integral flux above the band's lower edge (to 100 TeV) is given in cm⁻² s⁻¹ and in
Crab units (:mod:`lappana.highlevel.crab`). Below :data:`DETECTION_SIGMA` nothing
is fitted: the flux is an upper limit with the Crab's spectral shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np

from lappana.errors import LappanaError
from lappana.highlevel.crab import CRAB_MAGIC_2015, FLUX_UNIT, crab_integral_flux, crab_model
from lappana.highlevel.onoff1d import safe_band

#: Significance (Li & Ma / WStat, stacked, in the band) from which a spectrum is fitted.
DETECTION_SIGMA = 5.0
#: Upper limits: ΔTS = 2.71, one-sided 95 %.
UL_N_SIGMA = float(np.sqrt(2.705543))
#: Flux points with TS below this are upper limits (gammapy's sqrt_ts_threshold_ul = 2).
UL_TS = 4.0
#: Upper end of "the integral flux above the threshold".
INTEGRAL_MAX = 100 * u.TeV
SOURCE = "source"


@dataclass
class ModelFit:
    """One fitted spectral model: parameter values and errors, and the fit's WStat."""

    name: str
    parameters: dict[str, float]
    errors: dict[str, float]
    units: dict[str, str]
    stat: float
    success: bool

    def to_dict(self) -> dict:
        return {"name": self.name, "parameters": self.parameters, "errors": self.errors, "units": self.units,
                "wstat": self.stat, "success": self.success}


@dataclass
class SpectrumResult:
    """What :class:`SpectrumEstimator` found; ``to_dict()`` is summary.json's ``spectrum``.

    Attributes
    ----------
    energy_band : astropy.units.Quantity
        ``[min, max]`` reconstructed energy of the stacked safe bins: the band of every number.
    detected : bool
        Significance at least :data:`DETECTION_SIGMA`.
    significance, n_on, n_off, alpha, excess : float
        Stacked ON/OFF in the band.
    livetime : astropy.units.Quantity
    fits : dict of str to ModelFit
        ``power_law`` and ``log_parabola`` (empty when not detected).
    best : str or None
        The fit whose model is used for flux points and fluxes.
    integral_flux, integral_flux_error, integral_flux_ul : astropy.units.Quantity
        Above ``energy_band[0]`` (to :data:`INTEGRAL_MAX`), cm⁻² s⁻¹; the error is NaN when not detected.
    crab_units, crab_units_error, crab_units_ul : float
    model : gammapy SkyModel
        The best model (or the Crab shape scaled to the flux when not detected).
    flux_points : gammapy FluxPoints or None
    """

    energy_band: u.Quantity
    detected: bool
    significance: float
    n_on: float
    n_off: float
    alpha: float
    excess: float
    livetime: u.Quantity
    fits: dict[str, ModelFit]
    best: str | None
    integral_flux: u.Quantity
    integral_flux_error: u.Quantity
    integral_flux_ul: u.Quantity
    crab_units: float
    crab_units_error: float
    crab_units_ul: float
    model: object = field(repr=False)
    flux_points: object = field(default=None, repr=False)
    stacked: object = field(default=None, repr=False)

    def flux_points_table(self) -> list[dict]:
        """The flux points as rows: e_ref, e_min, e_max (TeV), dnde, errors, UL (TeV⁻¹ cm⁻² s⁻¹), ts, is_ul."""
        if self.flux_points is None:
            return []
        t = self.flux_points.to_table(sed_type="dnde")
        rows = []
        for i in range(len(t)):
            def val(col):
                v = float(np.ravel(t[col][i])[0]) if col in t.colnames else float("nan")
                return v if np.isfinite(v) else None
            rows.append({"e_ref_tev": val("e_ref"), "e_min_tev": val("e_min"), "e_max_tev": val("e_max"),
                         "dnde": val("dnde"), "dnde_errn": val("dnde_errn"), "dnde_errp": val("dnde_errp"),
                         "dnde_ul": val("dnde_ul"), "ts": val("ts"), "is_ul": bool(np.ravel(t["is_ul"][i])[0])})
        return rows

    def to_dict(self) -> dict:
        def f(x):
            x = float(x.to_value(FLUX_UNIT) if isinstance(x, u.Quantity) else x)
            return x if np.isfinite(x) else None
        return {
            "energy_band_tev": [float(e) for e in self.energy_band.to_value(u.TeV)],
            "integral_above_tev": float(self.energy_band[0].to_value(u.TeV)),
            "detected": self.detected, "significance": f(self.significance), "n_on": f(self.n_on),
            "n_off": f(self.n_off), "alpha": f(self.alpha), "excess": f(self.excess),
            "livetime_s": float(self.livetime.to_value(u.s)),
            "fits": {k: v.to_dict() for k, v in self.fits.items()}, "best": self.best,
            "integral_flux_cm2_s": f(self.integral_flux), "integral_flux_error_cm2_s": f(self.integral_flux_error),
            "integral_flux_ul_cm2_s": f(self.integral_flux_ul), "crab_units": f(self.crab_units),
            "crab_units_error": f(self.crab_units_error), "crab_units_ul": f(self.crab_units_ul),
            "crab_reference": dict(CRAB_MAGIC_2015), "ul_confidence": 0.95,
            "flux_points": self.flux_points_table(),
        }


def _fit_record(name: str, model, result) -> ModelFit:
    pars = model.parameters
    free = [p for p in pars if not p.frozen]
    return ModelFit(name=name, parameters={p.name: float(p.value) for p in pars},
                    errors={p.name: float(p.error) for p in free},
                    units={p.name: str(p.unit) for p in pars}, stat=float(result.total_stat),
                    success=bool(result.success))


def _norm_in_band(stacked, model, band: u.Quantity):
    """norm, its error and 95 % UL of ``model`` on ``stacked`` in one energy bin ``band``."""
    from gammapy.estimators import FluxPointsEstimator
    from gammapy.modeling.models import SkyModel

    stacked = stacked.copy(name="band")
    stacked.models = SkyModel(spectral_model=model.copy(), name=SOURCE)
    fpe = FluxPointsEstimator(energy_edges=band, source=SOURCE, selection_optional=["ul"], n_sigma_ul=UL_N_SIGMA,
                              reoptimize=False)
    fp = fpe.run(datasets=[stacked])
    return tuple(float(np.ravel(getattr(fp, c).data)[0]) for c in ("norm", "norm_err", "norm_ul"))


@dataclass
class SpectrumEstimator:
    """Fit and estimate the spectrum of the stacked runs.

    Parameters
    ----------
    detection_sigma : float
        Fit only from this significance.
    flux_points : bool
        Estimate flux points (the slowest part).
    """

    detection_sigma: float = DETECTION_SIGMA
    flux_points: bool = True

    def run(self, datasets) -> SpectrumResult:
        """Estimate from the per-run ``SpectrumDatasetOnOff`` of :class:`~lappana.highlevel.onoff1d.OnOffMaker`."""
        from gammapy.datasets import Datasets
        from gammapy.estimators import FluxPointsEstimator
        from gammapy.modeling import Fit
        from gammapy.modeling.models import LogParabolaSpectralModel, PowerLawSpectralModel, SkyModel

        datasets = Datasets(datasets)
        band = safe_band(datasets)
        stacked = datasets.stack_reduce(name="stacked")
        info = stacked.info_dict()
        sigma = float(np.nan_to_num(info["sqrt_ts"]))
        fits: dict[str, ModelFit] = {}
        best = None
        detected = sigma >= self.detection_sigma
        fp = None
        if detected:
            pl = PowerLawSpectralModel(index=2.5, amplitude=2e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=0.4 * u.TeV)
            stacked.models = SkyModel(spectral_model=pl, name=SOURCE)
            fits["power_law"] = _fit_record("power_law", pl, Fit().run(datasets=[stacked]))
            pivot = pl.pivot_energy
            if not np.isfinite(pivot.to_value(u.TeV)) or not band[0] <= pivot <= band[1]:
                pivot = np.sqrt(band[0] * band[1])
            lp = LogParabolaSpectralModel(amplitude=5e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=pivot.to(u.TeV),
                                          alpha=2.0, beta=0.1)
            lp.amplitude.min, lp.amplitude.max, lp.alpha.min, lp.beta.min = 1e-17, 1e-8, 0.0, 0.0
            stacked.models = SkyModel(spectral_model=lp, name=SOURCE)
            fits["log_parabola"] = _fit_record("log_parabola", lp, Fit().run(datasets=[stacked]))
            best = "log_parabola" if fits["log_parabola"].success else "power_law"
            model = stacked.models[SOURCE] if best == "log_parabola" else SkyModel(spectral_model=pl, name=SOURCE)
            stacked.models = model
            flux = model.spectral_model.integral_error(band[0], INTEGRAL_MAX)
            value, error = flux[0].to(FLUX_UNIT), flux[1].to(FLUX_UNIT)
            _, _, norm_ul = _norm_in_band(stacked, model.spectral_model, band)
            ul = norm_ul * value
            if self.flux_points:
                edges = stacked.counts.geom.axes["energy"].edges
                edges = edges[(edges >= band[0] * (1 - 1e-6)) & (edges <= band[1] * (1 + 1e-6))]
                fpe = FluxPointsEstimator(energy_edges=edges, source=SOURCE, selection_optional=["errn-errp", "ul"],
                                          n_sigma_ul=UL_N_SIGMA, reoptimize=False)
                fp = fpe.run(datasets=[stacked])
        else:
            shape = crab_model()
            norm, _, norm_ul = _norm_in_band(stacked, shape, band)
            crab_flux = shape.integral(band[0], INTEGRAL_MAX).to(FLUX_UNIT)
            value, error, ul = norm * crab_flux, np.nan * FLUX_UNIT, norm_ul * crab_flux
            scaled = crab_model(scale=max(norm_ul, 0.0))
            model = SkyModel(spectral_model=scaled, name=SOURCE)
        crab = crab_integral_flux(band[0], INTEGRAL_MAX)
        return SpectrumResult(
            energy_band=band, detected=detected, significance=sigma, n_on=float(info["counts"]),
            n_off=float(info["counts_off"]), alpha=float(info["alpha"]), excess=float(info["excess"]),
            livetime=u.Quantity(info["livetime"]).to(u.s), fits=fits, best=best, integral_flux=value,
            integral_flux_error=error, integral_flux_ul=u.Quantity(ul).to(FLUX_UNIT),
            crab_units=float(value / crab), crab_units_error=float(error / crab), crab_units_ul=float(ul / crab),
            model=model, flux_points=fp, stacked=stacked)


def spectrum(dl3_dir, target, *, n_off: int = 1, energy_range: u.Quantity | None = None,
             flux_points: bool = True):
    """Datasets and spectrum of a DL3 folder in one call; returns ``(datasets, SpectrumResult)``."""
    from lappana.highlevel.onoff1d import OnOffMaker

    if not hasattr(target, "ra"):
        raise LappanaError("The target must be a sky position (astropy SkyCoord).")
    datasets = OnOffMaker(target, n_off=n_off, energy_range=energy_range).run(dl3_dir)
    return datasets, SpectrumEstimator(flux_points=flux_points).run(datasets)
