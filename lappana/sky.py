"""Source names and angles on the sky, as the run catalogue, the requests and the analysis compare them."""

from __future__ import annotations

import math

__all__ = ["normalize_source_name", "angular_separation_deg"]


def normalize_source_name(name: str) -> str:
    """Return the key a source name is compared by: case-folded, without spaces or ``_``.

    Parameters
    ----------
    name : str
        A source name as a person writes it, e.g. ``"Mrk 421"`` or ``"mrk421"``.

    Returns
    -------
    str
        The comparison key, e.g. ``"mrk421"``.
    """
    return "".join(ch for ch in str(name).casefold() if not ch.isspace() and ch != "_")


def angular_separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Return the angle between two sky positions, all in degrees (haversine formula)."""
    ra1, dec1, ra2, dec2 = map(math.radians, (ra1, dec1, ra2, dec2))
    hav = math.sin((dec2 - dec1) / 2) ** 2 + math.cos(dec1) * math.cos(dec2) * math.sin(
        (ra2 - ra1) / 2
    ) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(hav))))
