"""Interpolated IRF HDUs, computed as lstchain 0.12.3 computes them with pyirf 0.12.

``lstchain.high_level.interpolate.interpolate_irf`` combines the nodes of
:class:`lappana.dl3.irf_choice.IrfChoice` with pyirf's estimators, whose linear
``griddata`` is the weighted sum with the choice's weights:

- effective area (``EffectiveAreaEstimator``): values below 1 m² raised to 1 m²,
  the logarithm interpolated, the exponential taken, values below 1 m² set to 0
  (so a bin empty at every node comes out as exactly 1 m², as in lstchain);
- energy dispersion (``EnergyDispersionEstimator``, ``QuantileInterpolator``): for
  each true energy and offset, the migration PDF's quantile function (1,000
  quantiles, from a CDF with an empty bin put in front) is interpolated, turned back
  into a binned PDF and normalised to unit area;
- ``RAD_MAX`` table (``RadMaxEstimator``): linear, negative values set to 0;
- ``GH_CUTS`` table (``interpolate_cuts``): linear in each energy bin.

Global cuts (``GH_CUT``, ``RAD_MAX`` keywords) are the first node's, equal in all
nodes (lstchain's ``compare_irfs`` refuses other sets and so does lappana). The
interpolated HDUs carry the run's ``ZEN_PNT``, ``AZ_PNT`` and ``B_DELTA``.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from lappana.dl3.irf_choice import IrfChoice
from lappana.errors import LappanaError

__all__ = ["irf_hdus", "quantile_interpolate", "QUANTILES"]

#: pyirf's QuantileInterpolator quantiles (``quantile_resolution=1e-3``).
QUANTILES = np.linspace(0, 1, 1000)
#: Minimum effective area of pyirf's EffectiveAreaEstimator (m²).
MIN_EFFECTIVE_AREA_M2 = 1.0
#: Columns with the binning every node must share, per HDU.
_AXES = {"EFFECTIVE AREA": ("ENERG_LO", "ENERG_HI", "THETA_LO", "THETA_HI"),
         "ENERGY DISPERSION": ("ENERG_LO", "ENERG_HI", "MIGRA_LO", "MIGRA_HI", "THETA_LO", "THETA_HI"),
         "RAD_MAX": ("ENERG_LO", "ENERG_HI", "THETA_LO", "THETA_HI"), "GH_CUTS": ("low", "high")}
#: Keywords every node must share (lstchain's compare_irfs).
_SAME_KEYS = ("HDUCLAS3", "INSTRUME", "GH_EFF", "GH_CUT", "TH_CONT", "RAD_MAX")


def irf_hdus(choice: IrfChoice) -> list[fits.hdu.base.ExtensionHDU]:
    """The IRF HDUs of a run's DL3: the node's unchanged, or the nodes' interpolated.

    Raises
    ------
    LappanaError
        When the nodes to interpolate differ in binning or cuts, or are full-enclosure IRFs.
    """
    opened = [fits.open(node.path) for node in choice.nodes]
    try:
        if not choice.interpolated:  # read in, not copied (a copy re-parses each table: 0.05 s a run)
            hdus = list(opened[0][1:])
            for hdu in hdus:
                hdu.data  # noqa: B018 - loads the data before the file is closed
            return hdus
        _check_alike(choice, opened)
        weights = np.asarray(choice.weights)
        out = []
        for hdu in opened[0][1:]:
            hdu = hdu.copy()
            stack = lambda column: _stack(opened, hdu.name, column)  # noqa: E731
            if hdu.name == "EFFECTIVE AREA":
                hdu.data["EFFAREA"][0] = interpolate_effective_area(stack("EFFAREA"), weights)
            elif hdu.name == "ENERGY DISPERSION":
                edges = np.append(hdu.data["MIGRA_LO"][0], hdu.data["MIGRA_HI"][0][-1]).astype(float)
                hdu.data["MATRIX"][0] = quantile_interpolate(stack("MATRIX"), edges, weights, axis=-2)
            elif hdu.name == "RAD_MAX":
                hdu.data["RAD_MAX"][0] = np.clip(np.tensordot(weights, stack("RAD_MAX"), axes=1), 0, None)
            elif hdu.name == "GH_CUTS":
                hdu.data["cut"][:] = np.tensordot(weights, stack("cut"), axes=1)
            else:
                continue  # lstchain writes only the HDUs it interpolates
            hdu.header["ZEN_PNT"] = (choice.zenith_deg, "deg")
            hdu.header["AZ_PNT"] = (choice.azimuth_deg, "deg")
            hdu.header["B_DELTA"] = (choice.b_delta_deg, "deg")
            out.append(hdu)
        return out
    finally:
        for hdus in opened:
            hdus.close()


def _stack(opened: list[fits.HDUList], extname: str, column: str) -> np.ndarray:
    """One column of every node, stacked: the cell of a one-row GADF table, or a cuts table's column."""
    rows = slice(None) if column == "cut" else 0
    return np.stack([np.asarray(hdus[extname].data[column][rows], dtype=float) for hdus in opened])


def _check_alike(choice: IrfChoice, opened: list[fits.HDUList]) -> None:
    first, name = opened[0], choice.nodes[0].path.name
    if "EFFECTIVE AREA" not in first or "ENERGY DISPERSION" not in first:
        raise LappanaError(f"The IRF file {name} lacks an EFFECTIVE AREA or ENERGY DISPERSION HDU.")
    if first["EFFECTIVE AREA"].header.get("HDUCLAS3") != "POINT-LIKE":
        raise LappanaError(f"The IRF file {name} is full-enclosure; lappana interpolates point-like IRFs only, "
                           "so take the nearest node (irf: nearest, --irf-nearest).")
    for node, hdus in zip(choice.nodes[1:], opened[1:]):
        for extname, columns in _AXES.items():
            if (extname in first) != (extname in hdus):
                raise LappanaError(f"The IRF files {name} and {node.path.name} do not have the same HDUs "
                                   f"({extname}), so they cannot be interpolated.")
            if extname in first and any(not np.array_equal(first[extname].data[c], hdus[extname].data[c])
                                        for c in columns):
                raise LappanaError(f"The IRF files {name} and {node.path.name} are binned differently in "
                                   f"{extname}, so they cannot be interpolated.")
        a, b = first["EFFECTIVE AREA"].header, hdus["EFFECTIVE AREA"].header
        for key in _SAME_KEYS:
            if a.get(key) != b.get(key):
                raise LappanaError(f"The IRF files {name} and {node.path.name} differ in {key} ({a.get(key)} and "
                                   f"{b.get(key)}), so they were not made with the same cuts and cannot be "
                                   "interpolated.")


def interpolate_effective_area(areas_m2: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """pyirf's EffectiveAreaEstimator: log-linear, floored at 1 m² before, zeroed below it after."""
    logs = np.log(np.maximum(areas_m2, MIN_EFFECTIVE_AREA_M2))
    result = np.exp(np.tensordot(weights, logs, axes=1))
    result[result < MIN_EFFECTIVE_AREA_M2] = 0.0
    return result


def quantile_interpolate(pdfs: np.ndarray, edges: np.ndarray, weights: np.ndarray, axis: int = -1) -> np.ndarray:
    """pyirf's QuantileInterpolator with linear weights: binned PDFs (first axis: nodes) to one PDF.

    Parameters
    ----------
    pdfs : numpy.ndarray
        Binned PDFs (density per unit of the binned variable), shape (n_nodes, ...).
    edges : numpy.ndarray
        The bin edges along ``axis``.
    weights : numpy.ndarray
        Each node's weight.
    axis : int
        The binned axis of each node's array.
    """
    from scipy.interpolate import interp1d  # only to interpolate: a nearest-node run never loads scipy

    pdfs = np.moveaxis(pdfs, axis if axis < 0 else axis + 1, -1)
    pdfs = np.concatenate([np.zeros(pdfs.shape[:-1] + (1,)), pdfs], axis=-1)
    edges = np.append(edges[0] - np.diff(edges)[0], edges)
    mids = 0.5 * (edges[:-1] + edges[1:])
    cdfs = np.cumsum(pdfs * np.diff(edges), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdfs = np.nan_to_num(cdfs / np.max(cdfs, axis=-1)[..., np.newaxis])
    ppfs = np.apply_along_axis(lambda cdf: _ppf(cdf, mids) if np.sum(cdf) > 0 else np.full_like(QUANTILES, np.nan),
                               -1, cdfs)
    ppf = np.tensordot(weights, ppfs, axes=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        density = np.nan_to_num(np.diff(QUANTILES) / np.diff(ppf, axis=-1))
    centres = ppf[..., :-1] + np.diff(ppf) / 2
    xy = np.concatenate((centres, density), axis=-1)
    half = centres.shape[-1]
    values = np.apply_along_axis(
        lambda row: np.nan_to_num(interp1d(row[:half], row[half:], bounds_error=False, fill_value=(0, 0))(edges[:-1])),
        -1, xy)[..., 1:]
    norm = np.sum(values, axis=-1)[..., np.newaxis] * np.diff(edges[1:])
    result = np.divide(values, norm, out=np.zeros_like(values), where=norm != 0)
    return np.moveaxis(np.nan_to_num(result), -1, axis)


def _ppf(cdf: np.ndarray, mids: np.ndarray) -> np.ndarray:
    """Quantile function from a CDF, without repeated 0s, 1s or flat steps (pyirf's ``cropped_interp``)."""
    from scipy.interpolate import interp1d

    last_0 = np.nonzero(cdf == 0)[0][-1] if cdf[0] == 0 else 0
    first_1 = np.nonzero(cdf == 1.0)[0][0]
    keep = np.ones(len(cdf), dtype=bool)
    keep[1:] = cdf[1:] != cdf[:-1]
    keep[:last_0] = False
    keep[last_0] = True
    keep[first_1 + 1:] = False
    keep[first_1] = True
    return interp1d(cdf[keep], mids[keep], bounds_error=False, fill_value="extrapolate")(QUANTILES)
