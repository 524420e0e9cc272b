"""Everything at once: θ², sky map, diagnostics, spectrum, light curve, figures, summary.json and report.html.

:func:`make_highlevel` is what ``lappana report`` and spoold's ``report`` step run.
Input that cannot be used never stops it: each part that fails leaves a sentence in
``problems``, and summary.json and report.html are written in every case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from lappana.errors import LappanaError
from lappana.highlevel import plots
from lappana.highlevel.diagnostics import QualityCuts, RunDiagnostics, run_diagnostics
from lappana.highlevel.dl3files import read_dl3_folder
from lappana.highlevel.report import write_report
from lappana.highlevel.skymap import SkyMaps, make_skymap, write_skymap_fits
from lappana.highlevel.summary import build_summary, write_summary_doc
from lappana.highlevel.theta2 import Theta2Result, theta2
from lappana.highlevel.threshold import NO_MAX_TEV, EnergyBand, energy_band
from lappana.units import angle_deg, deg2, energy_range_tev, sky_position

#: The parts ``make_highlevel`` can make.
PARTS = ("theta2", "skymap", "diagnostics", "spectrum", "lightcurve")
#: The parts made when none are named (the flux parts need gammapy and take longer).
DEFAULT_PARTS = ("theta2", "skymap", "diagnostics")


@dataclass
class HighlevelOutcome:
    """Where the products went and how it went."""

    summary: Path
    report: Path
    status: str
    problems: list[str] = field(default_factory=list)
    products: dict[str, str] = field(default_factory=dict)


def make_highlevel(
    dl3_dir: str | Path,
    out_dir: str | Path,
    *,
    source_name: str,
    source_ra_deg: float | None = None,
    source_dec_deg: float | None = None,
    source=None,
    n_off: int = 3,
    energy_range: tuple[float | None, float | None] | None = None,
    theta2_cut: float | None = None,
    dl2_files: list[str | Path] | None = None,
    lstchain_version: str | None = None,
    correlation_radius_deg: float = 0.1,
    quality_cuts: QualityCuts | None = None,
    parts: tuple[str, ...] = DEFAULT_PARTS,
    lightcurve_bin: str = "20 min",
    provenance: dict | None = None,
) -> HighlevelOutcome:
    """Analyse a DL3 folder and write every product into ``out_dir``.

    Parameters
    ----------
    dl3_dir : str or Path
        An indexed DL3 folder.
    out_dir : str or Path
        Where ``summary.json``, ``report.html``, the PNGs and ``skymap.fits`` go.
    source_name : str
    source_ra_deg, source_dec_deg : float, optional
        The source (ICRS deg).
    source : astropy.coordinates.SkyCoord, optional
        The same position as a SkyCoord (any frame), instead of the two floats.
    n_off : int
        OFF regions per run.
    energy_range : (float or None, float or None) or Quantity, optional
        Reconstructed energy range ``(min, max)`` in TeV of θ², the sky map, the spectrum
        and the light curve. A missing ``min`` is the safe threshold of the IRFs, a
        missing ``max`` none (:func:`lappana.highlevel.threshold.energy_band`); the
        summary's ``energy_threshold`` says which.
    theta2_cut : float or Quantity, optional
        Global θ² cut (a float in deg²); default RAD_MAX of the files.
    dl2_files : list of path, optional
        DL2 files of the runs, for the diagnostics before cuts (dR/dI, all-shower rate).
    lstchain_version : str, optional
        The lstchain version that made the DL2 (its environment's), recorded in summary.json when the
        DL2 files do not record one themselves.
    correlation_radius_deg : float or Angle
        Sky-map correlation radius.
    quality_cuts : QualityCuts, optional
        Thresholds of the run-quality flags.
    parts : tuple of str
        Which of :data:`PARTS` to make (θ² is always made: summary.json's numbers
        come from it).
    lightcurve_bin : str
        Light-curve bins: ``run``, ``night`` or a livetime such as ``20 min``.
    provenance : dict, optional
        What the caller knows of where the DL3 comes from (request id, nights, IRF
        set, models ...), carried into summary.json as it is.

    Returns
    -------
    HighlevelOutcome
    """
    source_ra_deg, source_dec_deg = sky_position(source, source_ra_deg, source_dec_deg)
    energy_range = energy_range_tev(energy_range)
    theta2_cut = deg2(theta2_cut)
    correlation_radius_deg = angle_deg(correlation_radius_deg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = {"source_name": source_name, "source_ra_deg": source_ra_deg, "source_dec_deg": source_dec_deg}
    quality_cuts = quality_cuts or QualityCuts()
    problems: list[str] = []
    products: dict[str, str] = {}
    figures: list[tuple[str, Path]] = []
    result: Theta2Result | None = None
    maps: SkyMaps | None = None
    diags: list[RunDiagnostics] | None = None

    def product(role: str, path: Path) -> Path:
        products[role] = str(path.relative_to(out_dir)) if path.is_relative_to(out_dir) else str(path)
        return path

    band: EnergyBand | None = None
    try:
        runs = read_dl3_folder(dl3_dir)
    except LappanaError as exc:
        runs = None
        problems.append(str(exc))
    if runs is not None:
        try:
            band = energy_band(runs, source_ra_deg, source_dec_deg, energy_range)
        except LappanaError as exc:
            problems.append(str(exc))
    counting = band.range_tev if band is not None else _given_range(energy_range)
    if runs is not None:
        try:
            result = theta2(dl3_dir, n_off=n_off, energy_range=counting, theta2_cut=theta2_cut, runs=runs,
                            **source)
            figures.append(("θ² distribution: ON events and OFF events scaled by α",
                            product("theta2_png", plots.plot_theta2(result, out_dir / "theta2.png"))))
            figures.append(("Li & Ma significance against livetime",
                            product("significance_time_png",
                                    plots.plot_significance_time(result, out_dir / "significance_time.png"))))
        except LappanaError as exc:
            problems.append(str(exc))
        if "skymap" in parts:
            try:
                maps = make_skymap(dl3_dir, n_off=n_off, energy_range=counting,
                                   correlation_radius_deg=correlation_radius_deg, runs=runs, **source)
                product("skymap_fits", write_skymap_fits(maps, out_dir / "skymap.fits"))
                high = plots.theta2_cut_span(result)[1] if result is not None else None
                path = plots.plot_skymap(maps, out_dir / "skymap.png", on_radius_deg=high ** 0.5 if high else None)
                figures.append(("Sky maps: correlated counts, excess and significance; + source and its ON region, "
                                "× OFF centres, ○ pointings", product("skymap_png", path)))
                path = plots.plot_significance_histogram(maps, out_dir / "significance_histogram.png")
                figures.append(("Sky-map significances away from the source, with the standard normal law an empty "
                                "sky gives", product("significance_histogram_png", path)))
            except LappanaError as exc:
                problems.append(str(exc))
        if "diagnostics" in parts:
            try:
                diags = run_diagnostics(dl3_dir, dl2_files, cuts=quality_cuts, runs=runs)
                for diag in diags:
                    path = plots.plot_run(diag, out_dir / f"run_{diag.obs_id:05d}.png")
                    figures.append((f"Run {diag.obs_id}: rates, zenith, gammaness and energy",
                                    product(f"run_{diag.obs_id:05d}_png", path)))
                figures.append(("Cosmic-ray rate against intensity (dR/dI) and LST-1's expectation",
                                product("cosmic_rate_png", plots.plot_cosmic_rate(diags, out_dir / "cosmic_rate.png"))))
            except LappanaError as exc:
                problems.append(str(exc))
    flux = None
    if runs is not None and ({"spectrum", "lightcurve"} & set(parts)):
        from lappana.highlevel.flux import make_flux

        flux = make_flux(dl3_dir, out_dir, energy_range=counting, spectrum="spectrum" in parts,
                         lightcurve_bin=lightcurve_bin if "lightcurve" in parts else None, **source)
        problems += flux.problems
        for title, path in flux.figures:
            figures.append((title, product(path.stem + "_png", path)))
    from lappana.highlevel.provenance import lstchain_version as find_lstchain_version

    lstchain_version, version_from = find_lstchain_version(dl2_files, lstchain_version)
    products["summary"] = "summary.json"
    products["report"] = "report.html"
    kwargs = dict(source_name=source_name, source_ra_deg=source_ra_deg, source_dec_deg=source_dec_deg,
                  dl3_dir=_as_seen_from(out_dir, dl3_dir), theta2_result=result, skymaps=maps, diagnostics=diags, products=products,
                  problems=problems, lstchain_version=lstchain_version, n_off=n_off, energy_range=counting,
                  quality_cuts=asdict(quality_cuts), flux=flux, provenance=provenance, dl3_runs=runs,
                  lstchain_version_from=version_from, energy_threshold=band.to_dict() if band else None)
    doc = build_summary(**kwargs)
    summary_path = write_summary_doc(out_dir, doc)
    report_path = write_report(out_dir, summary=doc, figures=figures)
    return HighlevelOutcome(summary=summary_path, report=report_path, status=doc["status"],
                            problems=doc["problems"], products=products)


def _given_range(energy_range) -> tuple[float, float] | None:
    """The asked-for range with its open ends filled (0 and no maximum), or None (all energies)."""
    if energy_range is None or all(e is None for e in energy_range):
        return None
    lo, hi = energy_range
    return (0.0 if lo is None else float(lo), NO_MAX_TEV if hi is None else float(hi))


def _as_seen_from(out_dir: str | Path, path: str | Path) -> str:
    """``path`` relative to ``out_dir`` when it lies inside it, else absolute.

    The products of a request move with its folder (running/ to done/): a path
    inside the folder stays true only when written relative to it.
    """
    out_dir, path = Path(out_dir).resolve(), Path(path).resolve()
    try:
        return str(path.relative_to(out_dir)) or "."
    except ValueError:
        return str(path)
