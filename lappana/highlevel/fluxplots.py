"""PNG figures of the flux: the SED with the Crab drawn for comparison, and light curves in UTC."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np

from lappana.highlevel.crab import CRAB_LABEL, crab_model
from lappana.highlevel.lightcurve import LightCurve
from lappana.highlevel.plots import _no_data, _save, plt
from lappana.highlevel.spectrum import SpectrumResult

SED_UNIT = u.Unit("TeV cm-2 s-1")


def plot_sed(result: SpectrumResult, path: str | Path, source_name: str = "source") -> Path:
    """E² dN/dE: flux points (upper limits as arrows), the best model with its 1σ band, and the Crab."""
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    lo, hi = result.energy_band
    hi = min(hi, 50 * u.TeV)
    bounds = [lo, hi]
    crab_model().plot(ax=ax, energy_bounds=[0.05, 30] * u.TeV, sed_type="e2dnde", color="0.5", ls="--",
                      label=CRAB_LABEL)
    if result.detected:
        model = result.model.spectral_model
        model.plot(ax=ax, energy_bounds=bounds, sed_type="e2dnde", color="C0",
                   label=f"{result.best.replace('_', '-')} fit (WStat)")
        model.plot_error(ax=ax, energy_bounds=bounds, sed_type="e2dnde", facecolor="C0", alpha=0.25)
        if result.flux_points is not None:
            result.flux_points.plot(ax=ax, sed_type="e2dnde", color="k", label="LST-1 flux points (UL: 95 %)")
        title = (f"{source_name}: {result.crab_units:.2f} ± {result.crab_units_error:.2f} Crab "
                 f"above {lo.to_value(u.TeV):.2g} TeV, {result.significance:.1f} σ")
    else:
        result.model.spectral_model.plot(ax=ax, energy_bounds=bounds, sed_type="e2dnde", color="C3",
                                         label="95 % upper limit, Crab shape")
        title = (f"{source_name}: not detected ({result.significance:.1f} σ); flux < {result.crab_units_ul:.2g} Crab "
                 f"above {lo.to_value(u.TeV):.2g} TeV (95 %)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Energy [TeV]")
    ax.set_ylabel("E² dN/dE [TeV cm⁻² s⁻¹]")
    ax.set_title(title, fontsize=10)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_lightcurve(curves: list[LightCurve], path: str | Path, source_name: str = "source") -> Path:
    """Integral flux in Crab units against UTC, one panel per binning; upper limits as arrows."""
    curves = [c for c in curves if c is not None]
    fig, axes = plt.subplots(max(1, len(curves)), 1, figsize=(8, 3.2 * max(1, len(curves))), squeeze=False)
    if not curves:
        _no_data(axes[0, 0], "No light curve could be made.")
        return _save(fig, path)
    for ax, lc in zip(axes[:, 0], curves):
        mid = lc.time_start + 0.5 * (lc.time_stop - lc.time_start)
        t = mid.to_datetime()
        half = [(m - s).to_datetime() for m, s in zip(mid, lc.time_start)]
        ok = ~lc.is_ul
        ax.errorbar(np.array(t)[ok], lc.crab_units[ok], yerr=lc.crab_units_error[ok],
                    xerr=np.array(half)[ok] if ok.any() else None, fmt="o", ms=4, color="k", label="flux")
        if (~ok).any():
            ax.errorbar(np.array(t)[~ok], lc.crab_units_ul[~ok], yerr=0.1 * np.nanmax(lc.crab_units_ul[~ok]),
                        uplims=True, fmt="v", color="C3", label="95 % upper limit")
        p = f"p = {lc.p_constant:.2g}" if np.isfinite(lc.p_constant) else "p: one bin"
        ax.set_title(f"{source_name}, bins: {lc.bin}; above {lc.energy_band[0].to_value(u.TeV):.2g} TeV; "
                     f"constant flux χ²/dof = {lc.chi2:.1f}/{lc.dof}, {p}", fontsize=9)
        ax.axhline(1.0, color="0.6", ls="--", lw=0.8)
        ax.set_ylabel("flux [Crab units]")
        ax.set_xlabel("time [UTC]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _save(fig, path)
