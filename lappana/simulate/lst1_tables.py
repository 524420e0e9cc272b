"""LST-1's measured performance as lstchain ships it, folded with the Crab spectrum.

lstchain carries LST-1's point-like performance in ``lstchain/data``:
``LST1_gamma_irf_gheffi_<g>_theffi_<t>.csv`` (effective area and energy migration per
true-energy bin) and ``LST1_backg_irf_gheffi_<g>_theffi_<t>.csv`` (background rate in the
ON region, θ cut and gammaness cut per reconstructed-energy bin), at ten zenith angles.
:func:`read_lst1_performance` reads one efficiency pair at the table zenith nearest to
the one asked for and returns, per reconstructed-energy bin, what the simulator is
calibrated against: the Crab's gamma rate after the cuts (effective area × the Crab
log-parabola, migrated to reconstructed energy with the table's moyal or skew-normal law),
the background rate, the gammaness cut and the θ cut.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lappana.errors import LappanaError
from lappana.simulate.model import crab_flux


@dataclass
class Performance:
    """Per reconstructed-energy bin rates (Hz, in the ON region) and cuts of one table."""

    zenith_deg: float
    energy_lo_tev: np.ndarray
    energy_hi_tev: np.ndarray
    gamma_rate_hz: np.ndarray
    background_rate_hz: np.ndarray
    gh_cut: np.ndarray
    theta_cut_deg: np.ndarray


def table_paths(data_dir: Path, gh_efficiency: float, theta_containment: float) -> tuple[Path, Path]:
    """The gamma and background tables of one efficiency pair in lstchain's ``data`` folder."""
    tag = f"gheffi_{gh_efficiency:.2f}_theffi_{theta_containment:.2f}"
    paths = (Path(data_dir) / f"LST1_gamma_irf_{tag}.csv", Path(data_dir) / f"LST1_backg_irf_{tag}.csv")
    for path in paths:
        if not path.is_file():
            raise LappanaError(f"lstchain's LST-1 table {path} is missing: lstchain ships "
                               "efficiencies 0.40, 0.70 and 0.90; point to its lstchain/data folder.")
    return paths


def _rows(path: Path, zenith_deg: float) -> tuple[float, list[dict[str, str]]]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    zeniths = sorted({float(r["ZD_deg"]) for r in rows})
    nearest = min(zeniths, key=lambda z: abs(np.cos(np.radians(z)) - np.cos(np.radians(zenith_deg))))
    return nearest, [r for r in rows if float(r["ZD_deg"]) == nearest]


_MU_GRID = np.linspace(0.0, 12.0, 12001)
_erf = np.frompyfunc(math.erf, 1, 1)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(np.asarray(z) / math.sqrt(2.0)).astype(float))


def _migration_cdf(row: dict[str, str], mu: np.ndarray) -> np.ndarray:
    """P(E_reco/E_true < mu) of one true-energy bin (the table's moyal or skew-normal law)."""
    kind = row["emig_model"].strip()
    if kind not in ("moyal", "skewnorm"):
        return (np.asarray(mu) >= 1.0).astype(float)  # no fit in the table: no migration
    loc, scale = float(row["emig_mu_loc"]), float(row["emig_mu_scale"])
    z = (_MU_GRID - loc) / scale
    if kind == "moyal":
        pdf = np.exp(-0.5 * (z + np.exp(-z))) / math.sqrt(2.0 * math.pi)
    else:
        pdf = 2.0 * np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi) * _normal_cdf(float(row["emig_mu_a"]) * z)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(z))])
    return np.interp(mu, _MU_GRID, cdf / cdf[-1])


def read_lst1_performance(data_dir: Path, zenith_deg: float, gh_efficiency: float = 0.7,
                          theta_containment: float = 0.7) -> Performance:
    """LST-1's Crab gamma rate, background rate and cuts per reco-energy bin.

    Parameters
    ----------
    data_dir : Path
        lstchain's ``lstchain/data`` folder.
    zenith_deg : float
        The table nearest in cos(zenith) is used.
    gh_efficiency, theta_containment : float
        Which tables (0.40, 0.70 or 0.90).
    """
    gamma_path, backg_path = table_paths(data_dir, gh_efficiency, theta_containment)
    zen, backg = _rows(backg_path, zenith_deg)
    _, gamma = _rows(gamma_path, zen)
    lo = np.array([float(r["Ereco_min_TeV"]) for r in backg])
    hi = np.array([float(r["Ereco_max_TeV"]) for r in backg])
    edges = np.append(lo, hi[-1])
    rate = np.zeros(lo.size)
    for row in gamma:
        e0, e1 = float(row["Etrue_min_TeV"]), float(row["Etrue_max_TeV"])
        grid = np.geomspace(e0, e1, 9)
        flux = np.trapezoid(crab_flux(grid), grid) * 1e4 * float(row["Aeff_m2"])  # Hz, cm² -> m²
        e_true = np.sqrt(e0 * e1)
        rate += flux * np.diff(_migration_cdf(row, edges / e_true))
    return Performance(
        zenith_deg=zen, energy_lo_tev=lo, energy_hi_tev=hi, gamma_rate_hz=rate,
        background_rate_hz=np.array([float(r["BckgRate_per_second"]) for r in backg]),
        gh_cut=np.array([float(r["Gammaness_cut"]) for r in backg]),
        theta_cut_deg=np.array([float(r["Theta_cut_deg"]) for r in backg]),
    )


def band_mask(energy_lo_tev: np.ndarray, threshold_tev: float) -> np.ndarray:
    """Bins of an integral band "> threshold": those whose lower edge lies above it.

    With the tables' bins (5 per decade from 12.6 GeV) "> 0.1 TeV" starts at 0.126 TeV,
    "> 0.2 TeV" at 0.316 TeV and "> 1 TeV" at 1.26 TeV, which is how the LST-1 figures of
    issue 12 and ``notes/lst-data.md`` (10.1 γ/min and 2.4 background/min above 0.2 TeV)
    were summed.
    """
    return np.asarray(energy_lo_tev) > threshold_tev
