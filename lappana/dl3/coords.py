"""Coordinates and times of DL3 events, as lstchain computes them.

* ``TIME``: seconds since 2018-10-01 00:00 UTC (MJDREFI 58392), real elapsed
  seconds (leap seconds included), from ``dragon_time`` (unix s, UTC).
* ``RA``/``DEC``: the reconstructed ``reco_alt``/``reco_az`` as seen from LST-1 at
  the event's time, transformed to ICRS with astropy (no refraction), using
  erfa's astrometry interpolated every 300 s like lstchain.
* ``GLON``/``GLAT``: the same direction in galactic coordinates.

Earth orientation: for runs that the bundled IERS-B table covers (all but the
last weeks), lappana uses IERS-B alone, which gives exactly the values astropy's
default IERS-A+B table gives there and, parsed once and cached
(:mod:`lappana.dl3.iers_cache`), loads in ~20 ms instead of ≈1.8 s per process;
newer runs use astropy's default table.
"""

from __future__ import annotations

import numpy as np

import astropy.units as u
from astropy.coordinates import AltAz, CartesianRepresentation, SkyCoord
from astropy.coordinates.erfa_astrom import ErfaAstromInterpolator, erfa_astrom
from astropy.time import Time
from astropy.utils import iers

from lappana.constants import LST1_LOCATION, TIME_REFERENCE
from lappana.dl3.iers_cache import load_iers_b

__all__ = ["unix_to_time", "time_since_reference", "altaz_to_icrs", "icrs_to_galactic"]

#: Step of erfa's interpolated astrometry (lstchain's choice).
ASTROM_STEP = 300 * u.s


def unix_to_time(unix_s: np.ndarray | float) -> Time:
    """Return an astropy Time (UTC) for unix seconds such as ``dragon_time``."""
    return Time(unix_s, format="unix", scale="utc")


def time_since_reference(unix_s: np.ndarray | float) -> np.ndarray:
    """Return seconds since lappana's and lstchain's DL3 reference time (2018-10-01 UTC).

    The difference is real elapsed time (leap seconds count), like lstchain's
    ``time_to_fits``.
    """
    return (unix_to_time(unix_s) - TIME_REFERENCE).to_value(u.s)


_IERS_B: iers.IERS_B | None = None


def _iers_b() -> iers.IERS_B:
    global _IERS_B
    if _IERS_B is None:
        _IERS_B = load_iers_b()
    return _IERS_B


def _earth_orientation(times: Time):
    """The IERS table to use for ``times``: IERS-B when it covers them, else astropy's default."""
    table = _iers_b()
    last_mjd = float(table["MJD"][-1].value)
    if np.size(times) and float(np.max(times.utc.mjd)) < last_mjd - 1:
        return iers.earth_orientation_table.set(table)
    return iers.earth_orientation_table.set(iers.earth_orientation_table.get())


def altaz_to_icrs(alt_rad: np.ndarray, az_rad: np.ndarray, unix_s: np.ndarray) -> SkyCoord:
    """Transform horizontal directions seen from LST-1 at the given times to ICRS.

    Parameters
    ----------
    alt_rad, az_rad : numpy.ndarray
        Altitude and azimuth in radians.
    unix_s : numpy.ndarray
        Times of the directions, unix seconds (UTC).

    Returns
    -------
    astropy.coordinates.SkyCoord
        The ICRS directions.
    """
    times = unix_to_time(unix_s)
    frame = AltAz(obstime=times, location=LST1_LOCATION)
    altaz = SkyCoord(alt=np.asarray(alt_rad) * u.rad, az=np.asarray(az_rad) * u.rad, frame=frame)
    with _earth_orientation(times), erfa_astrom.set(ErfaAstromInterpolator(ASTROM_STEP)):
        return altaz.transform_to("icrs")


_ICRS_TO_GALACTIC: np.ndarray | None = None


def _icrs_to_galactic_matrix() -> np.ndarray:
    """astropy's ICRS → Galactic rotation (constant: Galactic is fixed to FK5 J2000), from its own transformation."""
    global _ICRS_TO_GALACTIC
    if _ICRS_TO_GALACTIC is None:
        axes = SkyCoord(CartesianRepresentation(np.eye(3).T), frame="icrs").galactic
        _ICRS_TO_GALACTIC = axes.cartesian.xyz.value  # column i: the image of ICRS axis i
    return _ICRS_TO_GALACTIC


def icrs_to_galactic(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return galactic longitude (0–360) and latitude (deg) of ICRS directions.

    One matrix product, as astropy's transformation is (it agrees to ~1e-12 deg) without its
    per-call cost.
    """
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    cos_dec = np.cos(dec)
    x, y, z = _icrs_to_galactic_matrix() @ np.array([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)])
    glon = np.degrees(np.arctan2(y, x)) % 360.0
    return np.where(glon < 360.0, glon, 0.0), np.degrees(np.arctan2(z, np.hypot(x, y)))
