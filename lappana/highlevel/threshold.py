"""The safe energy threshold of DL3 runs, and the default energy band of every number of a report.

The threshold is gammapy's ``SafeMaskMaker("aeff-max")`` as lstchain's post-DL3 recipe
uses it, computed without gammapy (θ² and the sky map do not import it): the effective
area of the run at the source's offset, on the spectrum's true-energy axis
(``TRUE_ENERGY_TEV`` of :mod:`lappana.highlevel.onoff1d`, interpolated as gammapy does:
linear in log E between the IRF's bin centres, zero outside them), reaches
``aeff_percent`` % of its maximum at a true energy found by log-log interpolation; the
reconstructed-energy bins of the spectrum's axis that lie wholly above it are safe.

The default band of θ², the sky map, the spectrum and the light curve starts at the
lower edge of the first safe bin of the run whose threshold is the highest: every run is
safe over the whole band, so one band holds for every number (runs of lower zenith lose
the bins between their own threshold and the highest). It has no upper end
(:data:`NO_MAX_TEV`; the spectrum's axis stops at 100 TeV).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lappana.errors import LappanaError

#: Upper end of a band that has none (TeV): "above E_min".
NO_MAX_TEV = 1e4
#: The safe threshold: effective area at least this percentage of its maximum (lstchain's recipe).
SAFE_AEFF_PERCENT = 10.0


@dataclass
class EffectiveArea:
    """A run's point-like effective area (the ``EFFECTIVE AREA`` HDU).

    Attributes
    ----------
    energy_lo, energy_hi : numpy.ndarray
        True-energy bin edges (TeV).
    offset_lo, offset_hi : numpy.ndarray
        Field-of-view offset bin edges (deg).
    values_m2 : numpy.ndarray
        (n_offset, n_energy) effective area (m²).
    """

    energy_lo: np.ndarray
    energy_hi: np.ndarray
    offset_lo: np.ndarray
    offset_hi: np.ndarray
    values_m2: np.ndarray

    def evaluate(self, offset_deg: float, energy_tev: np.ndarray) -> np.ndarray:
        """The effective area (m²) at ``offset_deg`` and true energies ``energy_tev``, as gammapy interpolates it.

        Linear in offset and in log energy between bin centres, extrapolated linearly
        within the outermost bins, zero outside the bins' edges (an axis of one bin is
        constant within it).
        """
        energy_tev = np.asarray(energy_tev, dtype=float)
        if not self.offset_lo[0] <= offset_deg <= self.offset_hi[-1]:
            return np.zeros(energy_tev.shape)
        row = _linear(offset_deg, 0.5 * (self.offset_lo + self.offset_hi), self.values_m2)
        area = _linear(np.log(energy_tev), np.log(np.sqrt(self.energy_lo * self.energy_hi)), row)
        inside = (energy_tev >= self.energy_lo[0]) & (energy_tev <= self.energy_hi[-1])
        return np.where(inside, area, 0.0)


def _linear(x, nodes: np.ndarray, values: np.ndarray):
    """``values`` (one per node along the first axis) at ``x``: linear between nodes, extrapolated beyond the end ones.

    ``x`` is a scalar for a 2-D ``values`` (a row comes back) or an array for a 1-D one.
    """
    if nodes.size == 1:
        return values[0] if values.ndim > 1 else np.full(np.shape(x), float(values[0]))
    k = np.clip(np.searchsorted(nodes, x) - 1, 0, nodes.size - 2)
    w = (np.asarray(x, dtype=float) - nodes[k]) / (nodes[k + 1] - nodes[k])
    return values[k] + (values[k + 1] - values[k]) * w


def read_effective_area(hdus) -> EffectiveArea | None:
    """The ``EFFECTIVE AREA`` HDU of an open DL3 file (astropy ``HDUList``; None when it has none or not a GADF one)."""
    import astropy.units as u

    if "EFFECTIVE AREA" not in hdus:
        return None
    hdu = hdus["EFFECTIVE AREA"]
    data = hdu.data

    def column(name: str, unit: str) -> np.ndarray:
        scale = u.Unit(hdu.columns[name].unit or unit).to(unit)
        return np.ravel(data[name][0]).astype(float) * scale

    try:
        energy_lo, energy_hi = column("ENERG_LO", "TeV"), column("ENERG_HI", "TeV")
        offset_lo, offset_hi = column("THETA_LO", "deg"), column("THETA_HI", "deg")
        values = np.asarray(data["EFFAREA"][0], dtype=float).reshape(offset_lo.size, energy_lo.size)
    except (KeyError, ValueError, IndexError, TypeError):
        return None
    return EffectiveArea(energy_lo=energy_lo, energy_hi=energy_hi, offset_lo=offset_lo, offset_hi=offset_hi,
                         values_m2=values)


def safe_true_threshold_tev(aeff: EffectiveArea, offset_deg: float,
                            aeff_percent: float = SAFE_AEFF_PERCENT) -> float | None:
    """The true energy (TeV) where the effective area at ``offset_deg`` first reaches ``aeff_percent`` % of its maximum.

    None when the effective area is zero everywhere.
    """
    from lappana.highlevel.onoff1d import TRUE_ENERGY_TEV, TRUE_PER_DECADE

    lo, hi = TRUE_ENERGY_TEV
    n = int(np.ceil(np.log10(hi / lo) * TRUE_PER_DECADE))
    edges = np.geomspace(lo, hi, n + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    area = aeff.evaluate(offset_deg, centres)
    positive = np.flatnonzero(area > 0)
    if positive.size == 0:
        return None
    first = positive[0]
    level = aeff_percent / 100.0 * area.max()
    if area[first] >= level:
        return float(centres[first])
    k = first + int(np.flatnonzero(area[first:] >= level)[0])
    a0, a1 = np.log(max(area[k - 1], 1e-300)), np.log(area[k])
    x0, x1 = np.log(centres[k - 1]), np.log(centres[k])
    return float(np.exp(x0 + (np.log(level) - a0) / (a1 - a0) * (x1 - x0)))


def safe_reco_min_tev(true_threshold_tev: float) -> float:
    """The lower edge (TeV) of the first bin of the spectrum's reconstructed-energy axis wholly above the threshold."""
    import astropy.units as u

    from lappana.highlevel.onoff1d import reco_energy_edges

    edges = reco_energy_edges().to_value(u.TeV)
    above = edges[:-1][edges[:-1] >= true_threshold_tev]
    if above.size == 0:
        raise LappanaError(f"The safe threshold {true_threshold_tev:.3g} TeV lies above the spectrum's energy axis.")
    return float(above[0])


@dataclass
class EnergyBand:
    """The band of every number of a report and where it comes from.

    Attributes
    ----------
    range_tev : (float, float)
        Reconstructed energies counted, ``[min, max)``.
    thresholds_tev : dict of int to float
        Each run's safe true-energy threshold (runs with an effective area).
    from_threshold : bool
        True when ``min`` comes from the runs' safe threshold (none was asked for).
    aeff_percent : float
    """

    range_tev: tuple[float, float]
    thresholds_tev: dict[int, float]
    from_threshold: bool
    aeff_percent: float = SAFE_AEFF_PERCENT

    def describe(self) -> str:
        """Say in a sentence where the band's lower end comes from."""
        lo = self.range_tev[0]
        if not self.from_threshold:
            return f"The energy band starts at {lo:.3g} TeV, as asked for."
        run = max(self.thresholds_tev, key=self.thresholds_tev.get)
        return (f"The energy band starts at {lo:.3g} TeV, the safe threshold of the IRFs: the effective area at the "
                f"source's offset reaches {self.aeff_percent:g} % of its maximum at {self.thresholds_tev[run]:.3g} TeV "
                f"of true energy in run {run} (the highest of the {len(self.thresholds_tev)} run(s)), and "
                f"{lo:.3g} TeV is the first edge of the spectrum's energy bins above it.")

    def to_dict(self) -> dict:
        """summary.json's ``energy_threshold``."""
        return {"from_threshold": self.from_threshold, "aeff_percent": self.aeff_percent,
                "true_energy_tev": {str(k): v for k, v in sorted(self.thresholds_tev.items())},
                "description": self.describe()}


def energy_band(runs, source_ra_deg: float, source_dec_deg: float,
                energy_range: tuple[float | None, float | None] | None = None,
                aeff_percent: float = SAFE_AEFF_PERCENT) -> EnergyBand:
    """The band of a report: ``energy_range`` where given, the missing ends from the runs' safe threshold and none.

    Parameters
    ----------
    runs : list of lappana.highlevel.dl3files.Dl3Run
    source_ra_deg, source_dec_deg : float
        The source (ICRS deg): the effective area is taken at its offset from each pointing.
    energy_range : (float or None, float or None), optional
        Asked-for ``(min, max)`` in TeV; a None end (or no range) is filled in.
    aeff_percent : float

    Raises
    ------
    LappanaError
        When no end is given and no run has an effective area to take a threshold from.
    """
    from astropy.coordinates import SkyCoord

    lo, hi = energy_range if energy_range is not None else (None, None)
    source = SkyCoord(source_ra_deg, source_dec_deg, unit="deg")
    thresholds = {}
    for run in runs:
        if run.aeff is None:
            continue
        offset = source.separation(SkyCoord(run.pointing_ra_deg, run.pointing_dec_deg, unit="deg")).deg
        value = safe_true_threshold_tev(run.aeff, offset, aeff_percent)
        if value is not None:
            thresholds[run.obs_id] = value
    from_threshold = lo is None
    if from_threshold:
        if not thresholds:
            raise LappanaError("No DL3 run has an effective area above zero at the source, so there is no safe "
                               "energy threshold to start the band at: give an energy range (--emin).")
        lo = safe_reco_min_tev(max(thresholds.values()))
    hi = NO_MAX_TEV if hi is None else float(hi)
    if not 0 <= float(lo) < hi:
        raise LappanaError(f"The energy band {lo:.3g}–{hi:.3g} TeV is empty: its maximum must lie above the "
                           f"minimum{' (the safe threshold)' if from_threshold else ''}.")
    return EnergyBand(range_tev=(float(lo), hi), thresholds_tev=thresholds, from_threshold=from_threshold,
                      aeff_percent=aeff_percent)
