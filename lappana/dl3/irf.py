"""IRF files for DL3: find them, read their pointing node, lstchain's geomagnetic angle.

An IRF "node" is one IRF file made for one telescope pointing, described by
header keywords of its first HDU: ``ZEN_PNT`` and ``AZ_PNT`` (deg) and
``B_DELTA`` (deg, the angle between the geomagnetic field and the pointing).
Which nodes a run takes, and how they are combined, is
:mod:`lappana.dl3.irf_choice`; the interpolation itself is :mod:`lappana.dl3.irf_interp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

import astropy.units as u
from astropy.time import Time

from lappana.errors import LappanaError

__all__ = ["IrfNode", "DEFAULT_IRF_PATTERN", "find_irf_files", "read_node", "geomagnetic_field", "geomagnetic_delta_deg"]

#: lstchain_create_dl3_file's default pattern of IRF files in a folder.
DEFAULT_IRF_PATTERN = "*irf*.fits*"

# lstchain's geomagnetic field at LST-1 (lstchain.reco.utils) and its yearly drift.
_GEOMAG_REFERENCE = Time("2021-11-29", format="iso", scale="utc")
_GEOMAG_DEC_DEG, _GEOMAG_INC_DEG, _GEOMAG_TOTAL_UT = -4.8443, 37.3663, 38.5896
_DELTA_DEC_DEG_YR, _DELTA_INC_DEG_YR = 0.1653, -0.0700


@dataclass(frozen=True)
class IrfNode:
    """One IRF file and the pointing it was made for."""

    path: Path
    zenith_deg: float
    azimuth_deg: float
    b_delta_deg: float | None


def find_irf_files(irf: str | Path, pattern: str = DEFAULT_IRF_PATTERN) -> list[Path]:
    """Return the IRF files given as one file or as a folder and a glob pattern.

    Raises
    ------
    LappanaError
        When the path does not exist or the folder holds no file matching ``pattern``.
    """
    irf = Path(irf)
    if irf.is_file():
        return [irf]
    if not irf.exists():
        raise LappanaError(f"The IRF path {irf} does not exist; give an IRF file or a folder of IRF files.")
    files = sorted(p for p in irf.glob(pattern) if p.is_file())
    if not files:
        raise LappanaError(f"No IRF file in {irf} matches {pattern!r}; give another folder or --irf-pattern.")
    return files


def read_node(path: Path) -> IrfNode:
    """Read the pointing node of an IRF file from its first extension's header."""
    try:
        header = fits.getheader(path, 1)
    except (OSError, IndexError, ValueError) as exc:
        raise LappanaError(f"The IRF file {path} cannot be read as FITS ({exc}).") from None
    missing = [k for k in ("ZEN_PNT", "AZ_PNT") if k not in header]
    if missing:
        raise LappanaError(f"The IRF file {path} has no {' or '.join(missing)} keyword, so its pointing is unknown.")
    b_delta = header.get("B_DELTA")
    return IrfNode(Path(path), float(header["ZEN_PNT"]), float(header["AZ_PNT"]),
                   float(b_delta) if b_delta is not None else None)


def geomagnetic_field(time: Time = _GEOMAG_REFERENCE) -> tuple[float, float, float]:
    """LST-1's geomagnetic field at ``time``, as lstchain models it (a yearly drift from 2021-11-29).

    Returns
    -------
    total_ut, declination_rad, inclination_rad : float
    """
    years = (time - _GEOMAG_REFERENCE).to_value(u.yr)
    return (_GEOMAG_TOTAL_UT, float(np.radians(_GEOMAG_DEC_DEG + _DELTA_DEC_DEG_YR * years)),
            float(np.radians(_GEOMAG_INC_DEG + _DELTA_INC_DEG_YR * years)))


def geomagnetic_delta_deg(zenith_deg: float, azimuth_deg: float, time: Time) -> float:
    """Angle (deg) between the geomagnetic field at LST-1 and a pointing, as lstchain computes it.

    lstchain evaluates the field's drift at the time it runs; lappana at the run's ``time``.
    """
    _, dec, inc = geomagnetic_field(time)
    zen, az = np.radians(zenith_deg), np.radians(azimuth_deg)
    term = np.sin(inc) * np.cos(zen) - np.cos(inc) * np.sin(zen) * np.cos(az - dec)
    return float(np.degrees(np.arccos(np.clip(term, -1.0, 1.0))))
