"""Horizontal directions seen from LST-1 → ICRS, as astropy transforms them, at a fraction of its cost.

astropy's AltAz → ICRS transformation (what lstchain's ``create_event_list`` calls, with
``ErfaAstromInterpolator(300 s)`` and no refraction) is, per event: erfa's astrometry context
``apco`` (from the interpolated Earth position, the CIP and the Earth rotation angle at the
event's time), ``atoiq`` (observed → CIRS: latitude, diurnal aberration, polar motion, Earth
rotation) and astropy's ``aticq`` (CIRS → ICRS: bias-precession-nutation, annual aberration in 2
iterations, solar light deflection in 5), with Time scale conversions and Quantity handling
around them: ≈1.8–2.9 µs an event here, most of it the per-event context and conversions.

:func:`altaz_to_radec` does the same arithmetic with numpy on plain arrays: the context is made
by astropy itself (``ErfaAstrom.apco``, exact, with the same Earth-orientation table) at support
times every :data:`SUPPORT_S` seconds, and each event's context is the linear interpolation of its
fields between the two support times around it — the Earth rotation angle unwrapped (it is
linear in UT1) — then ``atoiq`` without refraction and astropy's ``aticq`` for a distant source,
written out (erfa's ``ab`` and ``ld``, the same iterations). The only approximation is that
interpolation: the observer's velocity turns with the Earth, by 0.0022 rad in 30 s, so its linear
interpolation is off by ≈ (0.0022²/8) × 1.3e-6 ≈ 8e-13 rad of aberration, ~2e-7″. Measured
against astropy's transformation with lstchain's interpolator over a 2-hour run of 200,000
directions (tests/lappana/dl3/test_astrometry.py): within 3e-7″ (1e-10 deg); lstchain's own
interpolator is 2.5e-8″ from astropy's exact transformation there, and the DL3 tests against
lstchain allow 0.01″. Support contexts are kept per process, so a run's chunks compute each
support time once.
"""

from __future__ import annotations

import numpy as np

import erfa

from lappana.dl3.coords import _earth_orientation, unix_to_time

__all__ = ["SUPPORT_S", "altaz_to_radec", "circular_mean_deg", "mean_pointing_radec"]

#: Seconds between the times at which erfa's astrometry context is computed exactly.
SUPPORT_S = 30.0
#: erfa's Schwarzschild radius of the Sun (au), ERFA_SRS.
_SRS = 1.97412574336e-8
#: The context's fields that vary with time (interpolated), and their columns.
_VARYING = ("eral", "bpn", "v", "bm1", "em", "eh", "xpl", "ypl", "diurab")
_CONSTANT = ("sphi", "cphi")

_cache: dict[int, np.ndarray] = {}  # support index (unix s / SUPPORT_S) → the context's fields there


def _columns(astrom: np.ndarray) -> np.ndarray:
    """The varying fields of contexts as rows of one float array (support, column)."""
    parts = [astrom[name].reshape(len(astrom), -1) for name in _VARYING]
    return np.concatenate(parts + [astrom[name].reshape(len(astrom), -1) for name in _CONSTANT], axis=1)


def _support(first: int, last: int) -> np.ndarray:
    """Context columns at support indices first..last (inclusive), computed by astropy where not cached."""
    missing = [k for k in range(first, last + 1) if k not in _cache]
    if missing:
        from astropy.coordinates import AltAz
        from astropy.coordinates.erfa_astrom import ErfaAstrom

        from lappana.constants import LST1_LOCATION

        times = unix_to_time(np.asarray(missing, dtype=np.float64) * SUPPORT_S)
        with _earth_orientation(times):
            astrom = ErfaAstrom().apco(AltAz(obstime=times, location=LST1_LOCATION))
        for k, row in zip(missing, _columns(np.atleast_1d(astrom))):
            _cache[k] = row
    return np.stack([_cache[k] for k in range(first, last + 1)])


def _contexts(unix_s: np.ndarray) -> dict[str, np.ndarray]:
    """Each event's interpolated context fields, as arrays of shape (components, events)."""
    k = np.floor(unix_s / SUPPORT_S)
    first, last = int(k.min()), int(k.max()) + 1
    table = _support(first, last)  # (support, column)
    eral = table[:, 0].copy()
    table[:, 0] = np.unwrap(eral)
    index = (k - first).astype(np.int64)
    weight = (unix_s - k * SUPPORT_S) / SUPPORT_S  # exact difference: unix_s / SUPPORT_S - k would lose 0.2 µs
    low, step = table[:-1].T, np.diff(table, axis=0).T
    out = low[:, index] + weight * step[:, index]  # (column, event)
    fields, at = {}, 0
    for name in _VARYING + _CONSTANT:
        size = int(np.prod(erfa.dt_eraASTROM[name].shape)) if erfa.dt_eraASTROM[name].shape else 1
        fields[name] = out[at:at + size]
        at += size
    return fields


Vector = tuple[np.ndarray, np.ndarray, np.ndarray]


def _unit(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> Vector:
    r = np.sqrt(x * x + y * y + z * z)
    return x / r, y / r, z / r


def _aberration(p: Vector, v: np.ndarray, w2: np.ndarray, bm1: np.ndarray) -> Vector:
    """erfa's ``ab`` (natural → proper direction), ``w2`` = SRS / em."""
    pdv = p[0] * v[0] + p[1] * v[1] + p[2] * v[2]
    w1 = 1.0 + pdv / (1.0 + bm1)
    return _unit(*(p[i] * bm1 + w1 * v[i] + w2 * (v[i] - pdv * p[i]) for i in range(3)))


def _deflection(p: Vector, eh: np.ndarray, srs_em: np.ndarray) -> Vector:
    """erfa's ``ld(1, p, p, eh, em, 1e-6)`` for a distant source: p + w p × (e × p), ``srs_em`` = SRS / em.

    For a unit p, p × (e × p) = e − (p·e) p and p·(p + e) = 1 + p·e.
    """
    pe = p[0] * eh[0] + p[1] * eh[1] + p[2] * eh[2]
    w = srs_em / np.maximum(1.0 + pe, 1e-6)
    return tuple(p[i] + w * (eh[i] - pe * p[i]) for i in range(3))


def altaz_to_radec(alt_rad: np.ndarray, az_rad: np.ndarray, unix_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICRS right ascension (0–360) and declination (deg) of directions seen from LST-1 at unix times.

    astropy's ``AltAz(obstime, location=LST-1)`` (no refraction) → ICRS, to within 1e-10 deg (above).
    """
    unix_s = np.asarray(unix_s, dtype=np.float64)
    if unix_s.size == 0:
        return np.empty(0), np.empty(0)
    c = _contexts(unix_s)
    zd = 0.5 * np.pi - np.asarray(alt_rad, dtype=np.float64)
    az = np.asarray(az_rad, dtype=np.float64)
    # atoiq, type "A", refraction off: Az/ZD → −HA/Dec (latitude), diurnal aberration, polar motion
    sin_zd = np.sin(zd)
    x, y, z = -np.cos(az) * sin_zd, np.sin(az) * sin_zd, np.cos(zd)
    sphi, cphi, diurab = c["sphi"][0], c["cphi"][0], c["diurab"][0]
    f = 1.0 + diurab * y
    xhd, yhd, zhd = f * (sphi * x + cphi * z), f * (y - diurab), f * (sphi * z - cphi * x)
    xpl, ypl = c["xpl"][0], c["ypl"][0]
    w = xpl * xhd - ypl * yhd + zhd
    v0, v1, v2 = xhd - xpl * w, yhd + ypl * w, w - (xpl * xpl + ypl * ypl) * zhd
    # −HA/Dec → CIRS: rotation by the local Earth rotation angle (RA = eral + (−HA))
    cos_e, sin_e = np.cos(c["eral"][0]), np.sin(c["eral"][0])
    pos = _unit(cos_e * v0 - sin_e * v1, sin_e * v0 + cos_e * v1, v2)
    # aticq: bias-precession-nutation (transposed), aberration (2 iterations), light deflection (5)
    bpn = c["bpn"]  # row-major 3 × 3
    ppr = tuple(bpn[j] * pos[0] + bpn[3 + j] * pos[1] + bpn[6 + j] * pos[2] for j in range(3))
    w2, bm1 = _SRS / c["em"][0], c["bm1"][0]
    d: Vector = (0.0, 0.0, 0.0)
    for _ in range(2):
        before = _unit(*(ppr[k] - d[k] for k in range(3)))
        after = _aberration(before, c["v"], w2, bm1)
        d = tuple(after[k] - before[k] for k in range(3))
    pnat = _unit(*(ppr[k] - d[k] for k in range(3)))
    d = (0.0, 0.0, 0.0)
    for _ in range(5):
        before = _unit(*(pnat[k] - d[k] for k in range(3)))
        after = _deflection(before, c["eh"], w2)
        d = tuple(after[k] - before[k] for k in range(3))
    pco = _unit(*(pnat[k] - d[k] for k in range(3)))
    ra = np.degrees(np.arctan2(pco[1], pco[0])) % 360.0
    dec = np.degrees(np.arctan2(pco[2], np.sqrt(pco[0] * pco[0] + pco[1] * pco[1])))
    return np.where(ra < 360.0, ra, 0.0), dec


def circular_mean_deg(angles_deg: np.ndarray) -> float:
    """Circular mean of angles (deg, 0–360), as astropy's ``circmean``."""
    radians = np.radians(angles_deg)
    return float(np.degrees(np.arctan2(np.sum(np.sin(radians)), np.sum(np.cos(radians)))) % 360.0)


def mean_pointing_radec(alt_rad: np.ndarray, az_rad: np.ndarray, unix_s: np.ndarray) -> tuple[float, float]:
    """Mean ICRS pointing (deg) of event-wise telescope pointings: circular mean RA, mean Dec (lstchain's).

    The caller chooses the events (lstchain leaves out the first 20 % of the run).
    """
    ra, dec = altaz_to_radec(alt_rad, az_rad, unix_s)
    return circular_mean_deg(ra), float(np.mean(dec))
