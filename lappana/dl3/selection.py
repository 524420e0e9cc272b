"""Event selection before DL3: lstchain's default filters and the IRF's gammaness cut.

lstchain's ``EventSelector`` keeps showers (``event_type == 32``) with ``r`` in
[0, 1] m, ``wl`` in [0.01, 1], ``leakage_intensity_width_2`` in [0, 1] and finite
``intensity``, ``length`` and ``width``
(:func:`lappana.io.dl2.select_events`). The gammaness cut comes from the IRF
that will travel with the events: a header keyword ``GH_CUT`` on the effective
area HDU (a global cut, kept when ``gammaness > GH_CUT``) or a ``GH_CUTS`` table
binned in reconstructed energy (kept when ``gammaness >= cut`` of the event's
bin; events outside the bins are dropped), exactly as ``lstchain_create_dl3_file``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from lappana.errors import LappanaError
from lappana.io.dl2 import select_events

__all__ = ["GammanessCut", "select_events", "gammaness_cut_from_irf"]


@dataclass(frozen=True)
class GammanessCut:
    """A gammaness cut, global or binned in reconstructed energy.

    Attributes
    ----------
    global_cut : float or None
        The global cut (``gammaness > global_cut`` passes), or None when binned.
    energy_low_tev, energy_high_tev, cuts : numpy.ndarray or None
        Bin edges (TeV) and the cut of each bin (``gammaness >= cut`` passes).
    efficiency : float or None
        The gamma efficiency the binned cuts were made for (``GH_EFF``), if known.
    """

    global_cut: float | None = None
    energy_low_tev: np.ndarray | None = None
    energy_high_tev: np.ndarray | None = None
    cuts: np.ndarray | None = None
    efficiency: float | None = None

    @property
    def energy_dependent(self) -> bool:
        """True for a cut binned in reconstructed energy."""
        return self.global_cut is None

    def mask(self, gammaness: np.ndarray, reco_energy_tev: np.ndarray) -> np.ndarray:
        """Return the boolean mask of events that pass the cut.

        Parameters
        ----------
        gammaness : numpy.ndarray
            The events' gammaness.
        reco_energy_tev : numpy.ndarray
            The events' reconstructed energy in TeV (used by binned cuts only).
        """
        gammaness = np.asarray(gammaness)
        if not self.energy_dependent:
            return gammaness > self.global_cut
        edges = np.append(self.energy_low_tev, self.energy_high_tev[-1])
        index = np.digitize(np.asarray(reco_energy_tev), edges) - 1
        valid = (index >= 0) & (index < len(self.cuts))
        result = np.zeros(gammaness.shape, dtype=bool)
        result[valid] = gammaness[valid] >= self.cuts[index[valid]]
        return result

    def describe(self) -> str:
        """One line saying which cut this is, for logs and reports."""
        if not self.energy_dependent:
            return f"global gammaness cut > {self.global_cut:g}"
        eff = f" ({self.efficiency:.0%} gamma efficiency)" if self.efficiency is not None else ""
        return f"energy-dependent gammaness cuts in {len(self.cuts)} bins{eff}"


def gammaness_cut_from_irf(hdus: fits.HDUList, name: str = "the IRF") -> GammanessCut:
    """Read the gammaness cut that an IRF file was made with.

    Parameters
    ----------
    hdus : astropy.io.fits.HDUList
        The open IRF file.
    name : str
        How to call the file in error messages.

    Raises
    ------
    LappanaError
        When the file has no effective area HDU, or neither ``GH_CUT`` nor ``GH_CUTS``.
    """
    if "EFFECTIVE AREA" not in hdus:
        raise LappanaError(f"{name} has no EFFECTIVE AREA HDU; give an IRF file made by lstchain or lappana.")
    header = hdus["EFFECTIVE AREA"].header
    if "GH_CUT" in header:
        return GammanessCut(global_cut=float(header["GH_CUT"]))
    if "GH_CUTS" not in hdus:
        raise LappanaError(
            f"{name} has neither a GH_CUT keyword nor a GH_CUTS table, so the gammaness cut "
            "is unknown; give an IRF file made with a global or an energy-dependent gammaness cut."
        )
    table = hdus["GH_CUTS"]
    names = [c.lower() for c in table.columns.names]
    if not {"low", "high", "cut"} <= set(names):
        raise LappanaError(f"The GH_CUTS table of {name} lacks one of its columns low, high, cut.")
    data = table.data
    energy_unit = table.columns[names.index("low")].unit or "TeV"
    scale = _to_tev(energy_unit, name)
    gh_eff = table.header.get("GH_EFF", header.get("GH_EFF"))
    return GammanessCut(
        energy_low_tev=np.asarray(data.field(names.index("low")), dtype=float) * scale,
        energy_high_tev=np.asarray(data.field(names.index("high")), dtype=float) * scale,
        cuts=np.asarray(data.field(names.index("cut")), dtype=float),
        efficiency=float(gh_eff) if gh_eff is not None else None,
    )


def _to_tev(unit: str, name: str) -> float:
    factors = {"tev": 1.0, "gev": 1e-3, "mev": 1e-6, "kev": 1e-9, "ev": 1e-12}
    try:
        return factors[str(unit).strip().lower()]
    except KeyError:
        raise LappanaError(f"The GH_CUTS energies of {name} are in {unit!r}; expected TeV.") from None
