"""lappana's public boundary in astropy's terms: a ``SkyCoord`` for a position, ``Quantity`` for
energies and angles, as gammapy's makers and estimators take them.

The analysis inside works in plain floats (degrees, TeV, deg²: the units of the DL3
columns); these functions turn what a caller passes into those floats once, at the
entry of each public function. Plain floats are still accepted (in the unit the
parameter's name says), because the command line and older scripts pass them.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["sky_position", "energy_range_tev", "angle_deg", "deg2"]


def sky_position(source=None, ra_deg: float | None = None, dec_deg: float | None = None) -> tuple[float, float]:
    """ICRS RA and Dec in degrees of a source given as a ``SkyCoord`` or as two floats in degrees.

    Parameters
    ----------
    source : astropy.coordinates.SkyCoord, optional
        The position, in any frame (transformed to ICRS).
    ra_deg, dec_deg : float, optional
        The same as plain ICRS degrees, when no ``source`` is given.

    Raises
    ------
    TypeError
        When both or neither are given, or ``source`` is not a SkyCoord.
    """
    if source is not None:
        if ra_deg is not None or dec_deg is not None:
            raise TypeError("Give the source as a SkyCoord or as source_ra_deg/source_dec_deg, not both.")
        from astropy.coordinates import SkyCoord

        if not isinstance(source, SkyCoord):
            raise TypeError(f"source must be an astropy SkyCoord, not {type(source).__name__}.")
        icrs = source.icrs
        return float(icrs.ra.deg), float(icrs.dec.deg)
    if ra_deg is None or dec_deg is None:
        raise TypeError("Say where the source is: source=SkyCoord(...) or source_ra_deg and source_dec_deg.")
    return float(angle_deg(ra_deg)), float(angle_deg(dec_deg))


def _in(value, unit: str, what: str) -> float:
    import astropy.units as u

    if isinstance(value, u.Quantity):
        try:
            return float(value.to_value(unit))
        except u.UnitConversionError:
            raise ValueError(f"{what} is in {value.unit}, which is not convertible to {unit}.") from None
    return float(value)


def angle_deg(value) -> float:
    """An angle in degrees from an ``Angle``/``Quantity`` or a float already in degrees."""
    return _in(value, "deg", "The angle")


def deg2(value) -> float | None:
    """A θ² in deg² from a ``Quantity`` or a float already in deg²; None stays None."""
    return None if value is None else _in(value, "deg2", "The theta² cut")


def energy_range_tev(energy_range) -> tuple[float | None, float | None] | None:
    """An energy band as ``(lo, hi)`` floats in TeV; either end may be None (open).

    Accepts a ``Quantity`` of two energies (``[0.2, 10] * u.TeV``), a pair of
    Quantities or None, or a pair of floats in TeV; None stays None.
    """
    if energy_range is None:
        return None
    import astropy.units as u

    if isinstance(energy_range, u.Quantity):
        if energy_range.shape != (2,):
            raise ValueError(f"An energy range is two energies, not a Quantity of shape {energy_range.shape}.")
        energy_range = list(energy_range)
    if not isinstance(energy_range, Sequence) or len(energy_range) != 2:
        raise ValueError(f"An energy range is two energies (lo, hi), not {energy_range!r}.")
    lo, hi = (None if e is None else _in(e, "TeV", "The energy") for e in energy_range)
    return lo, hi
