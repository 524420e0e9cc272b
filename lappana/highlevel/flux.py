"""The flux part of ``make_highlevel``: spectrum, light curves and their figures, never raising.

gammapy is imported here only when a spectrum or a light curve is asked for, so
the θ², sky-map and diagnostics commands do not pay its import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from lappana.errors import LappanaError


@dataclass
class FluxProducts:
    """What :func:`make_flux` made: summary entries, figures (caption, path) and problems."""

    spectrum: dict | None = None
    lightcurve: dict | None = None
    figures: list[tuple[str, Path]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    gammapy_version: str | None = None


def make_flux(dl3_dir: str | Path, out_dir: Path, *, source_name: str, source_ra_deg: float, source_dec_deg: float,
              energy_range: tuple[float, float] | None = None, lightcurve_bin: str | None = "20 min",
              n_off: int = 1, spectrum: bool = True) -> FluxProducts:
    """Spectrum (and, when ``lightcurve_bin`` is set, a light curve) of a DL3 folder, with PNGs in ``out_dir``.

    Parameters
    ----------
    dl3_dir : str or Path
    out_dir : Path
    source_name : str
    source_ra_deg, source_dec_deg : float
    energy_range : (float, float), optional
        Reconstructed energy (TeV); default: from the safe threshold up.
    lightcurve_bin : str, optional
        ``run``, ``night`` or a livetime such as ``20 min``; None: no light curve.
    n_off : int
        OFF regions per run.
    spectrum : bool
        Fit and draw the spectrum (it is always estimated: the light curve needs its shape).
    """
    out = FluxProducts()
    try:
        import gammapy

        from lappana.highlevel import fluxplots
        from lappana.highlevel.lightcurve import LightCurveMaker, parse_bin
        from lappana.highlevel.onoff1d import OnOffMaker, read_observations
        from lappana.highlevel.spectrum import SpectrumEstimator
    except ImportError as exc:
        out.problems.append(f"No spectrum or light curve: gammapy cannot be imported ({exc}).")
        return out
    out.gammapy_version = gammapy.__version__
    target = SkyCoord(source_ra_deg, source_dec_deg, unit="deg", frame="icrs")
    band = None if energy_range is None else list(energy_range) * u.TeV
    try:
        kind = parse_bin(lightcurve_bin) if lightcurve_bin else None
        maker = OnOffMaker(target, n_off=n_off, energy_range=band)
        observations = read_observations(dl3_dir)
        datasets = maker.run(observations)
        result = SpectrumEstimator(flux_points=spectrum).run(datasets)
    except (LappanaError, ValueError, RuntimeError) as exc:
        out.problems.append(f"No spectrum: {exc}")
        return out
    if spectrum:
        out.spectrum = result.to_dict()
        try:
            path = fluxplots.plot_sed(result, out_dir / "sed.png", source_name)
            out.figures.append(("Spectral energy distribution: flux points, the fitted model with its 1σ band, "
                                "and the Crab (MAGIC 2015)", path))
        except (ValueError, RuntimeError) as exc:
            out.problems.append(f"The SED figure could not be drawn: {exc}")
    if kind is not None:
        try:
            lc = LightCurveMaker(result, maker, kind).run(observations, datasets)
            out.lightcurve = lc.to_dict()
            path = fluxplots.plot_lightcurve([lc], out_dir / "lightcurve.png", source_name)
            out.figures.append((f"Light curve ({lc.bin} bins): flux above {lc.energy_band[0].to_value(u.TeV):.2g} TeV "
                                "in Crab units against UTC", path))
        except (LappanaError, ValueError, RuntimeError) as exc:
            out.problems.append(f"No light curve: {exc}")
    return out
