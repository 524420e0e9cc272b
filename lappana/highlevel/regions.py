"""ON and OFF positions of wobble observations, as gammapy's ``WobbleRegionsFinder``.

The OFF centres of a run are the source rotated about the run's pointing by
k·360°/(n+1), k = 1..n: same offset from the pointing, same size as the ON
region, so α = 1/n. Rotation in the tangent plane at the pointing (gammapy
rotates pixels of a TAN map centred on the pointing) is a rotation on the
sphere about the pointing, done here with spherical trigonometry.
"""

from __future__ import annotations

import numpy as np


def angular_separation(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Return the angle (deg) between positions (deg), with astropy's Vincenty formula."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2))
    dlon = lon2 - lon1
    s1, c1 = np.sin(lat1), np.cos(lat1)
    s2, c2 = np.sin(lat2), np.cos(lat2)
    num1 = c2 * np.sin(dlon)
    num2 = c1 * s2 - s1 * c2 * np.cos(dlon)
    den = s1 * s2 + c1 * c2 * np.cos(dlon)
    return np.degrees(np.arctan2(np.hypot(num1, num2), den))


def position_angle(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Return the position angle (deg, east of north) of point 2 seen from point 1."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2))
    dlon = lon2 - lon1
    return np.degrees(np.arctan2(np.sin(dlon), np.cos(lat1) * np.tan(lat2) - np.sin(lat1) * np.cos(dlon)))


def offset_by(ra, dec, pa_deg, sep_deg) -> tuple[np.ndarray, np.ndarray]:
    """Return the position at angle ``sep_deg`` and position angle ``pa_deg`` from (ra, dec)."""
    lon, lat = np.radians(np.asarray(ra, dtype=float)), np.radians(np.asarray(dec, dtype=float))
    pa, sep = np.radians(np.asarray(pa_deg, dtype=float)), np.radians(np.asarray(sep_deg, dtype=float))
    lat2 = np.arcsin(np.sin(lat) * np.cos(sep) + np.cos(lat) * np.sin(sep) * np.cos(pa))
    lon2 = lon + np.arctan2(np.sin(pa) * np.sin(sep) * np.cos(lat),
                            np.cos(sep) - np.sin(lat) * np.sin(lat2))
    return np.degrees(lon2) % 360.0, np.degrees(lat2)


def rotate_about(ra, dec, centre_ra, centre_dec, angle_deg) -> tuple[np.ndarray, np.ndarray]:
    """Rotate positions about a centre by ``angle_deg`` (position angle increases)."""
    sep = angular_separation(centre_ra, centre_dec, ra, dec)
    pa = position_angle(centre_ra, centre_dec, ra, dec)
    return offset_by(centre_ra, centre_dec, pa + angle_deg, sep)


def wobble_off_positions(source_ra: float, source_dec: float, pointing_ra: float, pointing_dec: float,
                         n_off: int) -> np.ndarray:
    """Return the n OFF centres (deg), shape (n_off, 2), of a wobble run.

    Parameters
    ----------
    source_ra, source_dec : float
        ON centre (ICRS deg).
    pointing_ra, pointing_dec : float
        The run's pointing (``RA_PNT``, ``DEC_PNT``).
    n_off : int
        Number of OFF regions; they sit at k·360°/(n_off+1), k = 1..n_off.
    """
    angles = np.arange(1, n_off + 1) * 360.0 / (n_off + 1)
    ra, dec = rotate_about(np.full(n_off, source_ra), np.full(n_off, source_dec), pointing_ra, pointing_dec,
                           angles)
    return np.column_stack([ra, dec])


def max_radius_without_overlap(wobble_offset_deg: float, n_off: int) -> float:
    """Return the largest ON radius (deg) for which ON and the n OFF circles do not overlap.

    Neighbouring centres are 2·w·sin(180°/(n+1)) apart on a circle of radius w.
    """
    return float(wobble_offset_deg * np.sin(np.pi / (n_off + 1)))
