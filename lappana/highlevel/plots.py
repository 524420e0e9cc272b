"""PNG figures of the high-level results (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:  # annotations only: importing them costs a θ² process ~0.5 s (python -X importtime)
    from lappana.highlevel.diagnostics import RunDiagnostics
    from lappana.highlevel.skymap import SkyMaps
    from lappana.highlevel.theta2 import Theta2Result

DPI = 100


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)


def plot_theta2(result: Theta2Result, path: str | Path) -> Path:
    """θ² histogram of ON and α·OFF with the counts and significance written on it."""
    fig, ax = plt.subplots(figsize=(7, 4.8))
    edges = np.asarray(result.theta2_edges_deg2)
    on = np.asarray(result.theta2_on, dtype=float)
    off = np.asarray(result.theta2_off, dtype=float) * result.theta2_alpha
    centres = 0.5 * (edges[1:] + edges[:-1])
    if on.sum() + off.sum() > 0:
        ax.errorbar(centres, on, yerr=np.sqrt(on), xerr=np.diff(edges) / 2, fmt="o", ms=3, color="k", label="ON")
        same = np.isclose(result.theta2_alpha, result.alpha, rtol=1e-6)
        label = f"OFF × α (α = {result.alpha:.3f}, as N_off below)" if same else \
            f"OFF × α ({result.theta2_alpha:.3f} here: the OFF regions overlap at large θ²)"
        ax.stairs(off, edges, color="tab:red", label=label, fill=True, alpha=0.35)
    else:
        _no_data(ax, "no event in the ON or OFF regions")
    low, high = theta2_cut_span(result)
    if low is not None and np.isclose(low, high):
        ax.axvline(low, color="tab:blue", ls="--", label=f"θ² cut {low:.3f} deg²")
    elif low is not None:
        ax.axvspan(low, high, color="tab:blue", alpha=0.12, label=f"θ² cut RAD_MAX(E)²: {low:.3f}–{high:.3f} deg²")
        ax.axvline(low, color="tab:blue", ls="--", lw=0.8)
        ax.axvline(high, color="tab:blue", ls="--", lw=0.8)
    energy = (f"{result.energy_range_tev[0]:g}–{result.energy_range_tev[1]:g} TeV"
              if result.energy_range_tev else "all energies")
    ax.set_title(f"{result.source_name}: θ², {energy}")
    ax.set_xlabel("θ² [deg²]")
    ax.set_ylabel("events")
    text = (f"livetime {result.livetime_s / 3600:.2f} h\nN_on {result.n_on}, N_off {result.n_off}, α {result.alpha:.3f}\n"
            f"excess {result.excess:.1f} ± {result.excess_error:.1f}\nσ (Li & Ma) {result.significance:.1f}\n"
            f"γ rate {result.gamma_rate_per_min:.2f} ± {result.gamma_rate_error_per_min:.2f} /min\n"
            f"cut: {result.theta_cut}")
    ax.text(0.97, 0.97, text, transform=ax.transAxes, ha="right", va="top", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"})
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def theta2_cut_span(result: Theta2Result) -> tuple[float | None, float | None]:
    """The θ² cut (deg²) of the ON counts: (cut, cut) when global, (lowest, highest) of RAD_MAX(E)² in the band."""
    if result.theta2_cut_deg2 is not None:
        return result.theta2_cut_deg2, result.theta2_cut_deg2
    rad = result.rad_max
    if not rad:
        return None, None
    if rad["type"] == "global":
        return rad["rad_max_deg"] ** 2, rad["rad_max_deg"] ** 2
    values = np.asarray(rad["rad_max_deg"], dtype=float)
    if result.energy_range_tev:
        keep = (np.asarray(rad["energy_hi_tev"]) > result.energy_range_tev[0]) & \
            (np.asarray(rad["energy_lo_tev"]) < result.energy_range_tev[1])
        values = values[keep] if keep.any() else values
    return float(values.min() ** 2), float(values.max() ** 2)


def plot_significance_time(result: Theta2Result, path: str | Path) -> Path:
    """Cumulative Li & Ma significance against livetime, with the √t expectation from the end value."""
    fig, ax = plt.subplots(figsize=(7, 4))
    t = np.asarray(result.cumulative_livetime_min)
    s = np.asarray(result.cumulative_significance)
    if t.size:
        ax.plot(t, s, "o-", ms=3, label="measured")
        if t[-1] > 0:
            ax.plot(t, s[-1] * np.sqrt(t / t[-1]), ":", color="0.5", label="∝ √t")
        ax.legend(fontsize=8)
    else:
        _no_data(ax, "no run could be used")
    ax.set_xlabel("livetime [min]")
    ax.set_ylabel("significance [σ]")
    ax.set_title(f"{result.source_name}: significance against time")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_skymap(maps: SkyMaps, path: str | Path, on_radius_deg: float | None = None) -> Path:
    """Counts, excess and significance maps with the source, its ON region, OFF centres and pointings marked.

    Parameters
    ----------
    maps : SkyMaps
    path : str or Path
    on_radius_deg : float, optional
        Radius of the ON region of the key numbers (the largest θ cut in the band), drawn as a circle.
    """
    from astropy.visualization.wcsaxes import SphericalCircle
    import astropy.units as u

    fig = plt.figure(figsize=(11, 4.8))
    r = maps.correlation_radius_deg
    panels = [("counts (correlated)", maps.n_on_correlated, "viridis", f"ON counts within {r:g}°"),
              ("excess (correlated)", maps.excess_correlated, "magma", f"excess counts within {r:g}°"),
              (f"significance, r = {r:g}°", maps.significance, "RdBu_r", "Li & Ma significance [σ]")]
    for i, (title, data, cmap, unit) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, 3, i, projection=maps.wcs)
        shown = np.where(np.isfinite(data), data, np.nan)
        kwargs = {}
        if cmap == "RdBu_r":
            vmax = max(5.0, float(np.nanmax(np.abs(shown)))) if np.isfinite(shown).any() else 5.0
            kwargs = {"vmin": -vmax, "vmax": vmax}
        image = ax.imshow(shown, origin="lower", cmap=cmap, **kwargs)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label(unit, fontsize=8)
        transform = ax.get_transform("icrs")
        if on_radius_deg:
            ax.add_patch(SphericalCircle((maps.source_ra_deg * u.deg, maps.source_dec_deg * u.deg),
                                         on_radius_deg * u.deg, edgecolor="lime", facecolor="none", lw=1.2,
                                         transform=transform, label=f"ON region (θ < {on_radius_deg:.2f}°)"))
        ax.scatter([maps.source_ra_deg], [maps.source_dec_deg], transform=transform, marker="+", s=120,
                   color="lime", label="source")
        if maps.off_positions_deg:
            offs = np.asarray(maps.off_positions_deg)
            ax.scatter(offs[:, 0], offs[:, 1], transform=transform, marker="x", s=40, color="orange", label="OFF")
        if maps.pointings_deg:
            pnt = np.asarray(maps.pointings_deg)
            ax.scatter(pnt[:, 0], pnt[:, 1], transform=transform, marker="o", s=25, facecolor="none",
                       edgecolor="white", label="pointing")
        ax.set_title(title, fontsize=9)
        ax.coords[0].set_axislabel("RA")
        ax.coords[1].set_axislabel("Dec")
        if i == 1:
            ax.legend(fontsize=7, loc="lower left")
    band = (f"{maps.energy_range_tev[0]:g}–{maps.energy_range_tev[1]:g} TeV" if maps.energy_range_tev
            else "all energies")
    fig.suptitle(f"{maps.source_name}: sky maps, {band} (reflected-wobble background)")
    fig.tight_layout()
    return _save(fig, path)


def plot_significance_histogram(maps: SkyMaps, path: str | Path) -> Path:
    """Histogram of the sky map's significances away from the source, with the standard normal law expected."""
    values = maps.background_significances()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if values.size:
        edges = np.arange(np.floor(min(values.min(), -5.0)), np.ceil(max(values.max(), 5.0)) + 0.25, 0.25)
        ax.stairs(np.histogram(values, edges)[0], edges, fill=True, alpha=0.5, label="pixels away from the source")
        x = np.linspace(edges[0], edges[-1], 400)
        ax.plot(x, values.size * 0.25 * np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), color="k", lw=1.2,
                label="expected: normal, mean 0, σ 1")
        ax.set_yscale("log")
        ax.set_ylim(0.5, None)
        ax.text(0.03, 0.95, f"{values.size} pixels beyond {maps.exclusion_radius_deg:g}° of the source\n"
                f"mean {values.mean():.2f}, rms {values.std():.2f}", transform=ax.transAxes, va="top", fontsize=8)
        ax.legend(fontsize=8, loc="upper right")
    else:
        _no_data(ax, "no pixel with background away from the source")
    ax.set_xlabel("significance [σ]")
    ax.set_ylabel("pixels")
    ax.set_title(f"{maps.source_name}: sky-map significances (r = {maps.correlation_radius_deg:g}°)")
    fig.tight_layout()
    return _save(fig, path)


def _utc(start_unix: float, minutes) -> np.ndarray:
    """Times ``minutes`` after ``start_unix`` as UTC datetimes (numpy datetime64, what matplotlib draws)."""
    seconds = start_unix + 60.0 * np.asarray(minutes, dtype=float)
    return (seconds * 1e6).astype("int64").astype("datetime64[us]")


def _utc_axis(ax) -> None:
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_xlabel("time [UTC]")


def plot_run(diag: RunDiagnostics, path: str | Path) -> Path:
    """Four panels of one run: rates and zenith against UTC, gammaness before and after cuts, energy."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    ax = axes[0, 0]
    if diag.time_min:
        ax.plot(_utc(diag.start_unix, diag.time_min), diag.rate_after_cuts_per_min, "o-", ms=3,
                label="after cuts (DL3)")
    if diag.all_time_min:
        ax.plot(_utc(diag.all_start_unix, diag.all_time_min), np.asarray(diag.all_rate_per_min), "s-", ms=3,
                label="all showers (DL2)")
        ax.set_yscale("log")
    if not diag.time_min and not diag.all_time_min:
        _no_data(ax, "no event")
    else:
        ax.legend(fontsize=8)
    _utc_axis(ax)
    ax.set_ylabel("rate [1/min]")
    ax = axes[0, 1]
    if diag.zenith_deg:
        ax.plot(_utc(diag.start_unix, diag.zenith_time_min), diag.zenith_deg, "o-", ms=3)
    else:
        _no_data(ax, "no ALT column")
    _utc_axis(ax)
    ax.set_ylabel("zenith [deg]")
    ax = axes[1, 0]
    if diag.gammaness_before_cuts_counts:
        ax.stairs(diag.gammaness_before_cuts_counts, diag.gammaness_edges, color="0.4", lw=1.2,
                  label="all showers, before cuts (DL2)")
    ax.stairs(diag.gammaness_counts, diag.gammaness_edges, fill=True, alpha=0.6, label="after cuts (DL3)")
    ax.set_yscale("log")
    ax.legend(fontsize=8, title=None if diag.gammaness_before_cuts_counts else "no DL2: nothing before cuts",
              title_fontsize=7)
    ax.set_xlabel("gammaness")
    ax.set_ylabel("events")
    ax = axes[1, 1]
    ax.stairs(diag.energy_counts, diag.energy_edges_tev, fill=True, alpha=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("reconstructed energy [TeV]")
    ax.set_ylabel("events after cuts")
    status = "good" if diag.good else "FLAGGED: " + "; ".join(diag.flags)
    day = str(_utc(diag.start_unix, [0.0])[0])[:10]
    fig.suptitle(f"Run {diag.obs_id}, {day} UTC — {status}", fontsize=10, color="k" if diag.good else "tab:red")
    fig.tight_layout()
    return _save(fig, path)


def plot_cosmic_rate(diagnostics: list[RunDiagnostics], path: str | Path) -> Path:
    """dR/dI of every run with DL2, with LST-1's expectation at its zenith."""
    fig, ax = plt.subplots(figsize=(7, 4.8))
    shown = False
    for diag in diagnostics:
        if not diag.dr_di:
            continue
        edges = np.asarray(diag.intensity_edges_pe)
        centres = np.sqrt(edges[1:] * edges[:-1])
        rate = np.asarray(diag.dr_di)
        keep = rate > 0
        line, = ax.plot(centres[keep], rate[keep], "o", ms=3, label=f"run {diag.obs_id}")
        ax.plot(centres, diag.dr_di_expected, "--", color=line.get_color(), lw=1)
        shown = True
    if shown:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=7, title="dashed: LST-1 expectation", title_fontsize=7)
    else:
        _no_data(ax, "no DL2 file given: the cosmic-ray rate needs all showers before cuts")
    ax.set_xlabel("intensity [p.e.]")
    ax.set_ylabel("dR/dI [s⁻¹ p.e.⁻¹]")
    ax.set_title("cosmic-ray rate against intensity")
    fig.tight_layout()
    return _save(fig, path)
