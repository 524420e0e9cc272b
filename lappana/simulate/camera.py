"""Camera ↔ horizontal coordinates, exactly as ctapipe's CameraFrame and TelescopeFrame.

lstchain turns ``reco_src_x/y`` (m) into ``reco_alt/az`` with ctapipe: the camera
position divided by the focal length gives the field-of-view latitude (from ``x``)
and longitude (from ``y``) in the telescope frame, which is rotated onto the
horizontal frame of the pointing. These numpy functions reproduce that transform
without ctapipe (checked against it in the tests), so simulated DL2 files carry
``reco_alt/az`` consistent with ``reco_src_x/y`` and ``alt_tel/az_tel``.
"""

from __future__ import annotations

import numpy as np

from lappana.simulate.model import EFFECTIVE_FOCAL_LENGTH_M


def _to_telescope_matrix(alt_tel: np.ndarray, az_tel: np.ndarray) -> np.ndarray:
    """Rotation (…, 3, 3) from horizontal to telescope frame: R_y(−alt) · R_z(az)."""
    alt_tel = np.asarray(alt_tel, dtype=float)
    az_tel = np.asarray(az_tel, dtype=float)
    ca, sa = np.cos(-alt_tel), np.sin(-alt_tel)
    cz, sz = np.cos(az_tel), np.sin(az_tel)
    zero = np.zeros_like(ca + cz)
    one = np.ones_like(zero)
    ry = np.stack(
        [np.stack([ca + zero, zero, -sa + zero], -1),
         np.stack([zero, one, zero], -1),
         np.stack([sa + zero, zero, ca + zero], -1)], -2)
    rz = np.stack(
        [np.stack([cz + zero, sz + zero, zero], -1),
         np.stack([-sz + zero, cz + zero, zero], -1),
         np.stack([zero, zero, one], -1)], -2)
    return ry @ rz


def _unit_vector(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    cl = np.cos(lat)
    return np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], -1)


def altaz_to_camera(
    alt: np.ndarray,
    az: np.ndarray,
    alt_tel: np.ndarray,
    az_tel: np.ndarray,
    focal_length_m: float = EFFECTIVE_FOCAL_LENGTH_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Camera position (m) of a direction, like lstchain's ``sky_to_camera``.

    Parameters
    ----------
    alt, az : numpy.ndarray
        Direction in the horizontal frame (rad).
    alt_tel, az_tel : numpy.ndarray
        Telescope pointing (rad).
    focal_length_m : float
        Focal length (m); lstchain uses the effective focal length 29.30565 m.

    Returns
    -------
    x, y : numpy.ndarray
        Camera coordinates in metres.
    """
    matrix = _to_telescope_matrix(alt_tel, az_tel)
    vec = _unit_vector(np.asarray(alt, dtype=float), np.asarray(az, dtype=float))
    tel = np.einsum("...ij,...j->...i", matrix, vec)
    fov_lat = np.arcsin(np.clip(tel[..., 2], -1.0, 1.0))
    fov_lon = np.arctan2(tel[..., 1], tel[..., 0])
    return fov_lat * focal_length_m, fov_lon * focal_length_m


def camera_to_altaz(
    x: np.ndarray,
    y: np.ndarray,
    alt_tel: np.ndarray,
    az_tel: np.ndarray,
    focal_length_m: float = EFFECTIVE_FOCAL_LENGTH_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Direction (rad) of a camera position, like lstchain's ``camera_to_altaz``.

    Returns
    -------
    alt, az : numpy.ndarray
        Altitude and azimuth in radians, azimuth in [0, 2π).
    """
    fov_lat = np.asarray(x, dtype=float) / focal_length_m
    fov_lon = np.asarray(y, dtype=float) / focal_length_m
    matrix = _to_telescope_matrix(alt_tel, az_tel)
    vec = _unit_vector(fov_lat, fov_lon)
    hor = np.einsum("...ji,...j->...i", matrix, vec)
    alt = np.arcsin(np.clip(hor[..., 2], -1.0, 1.0))
    az = np.mod(np.arctan2(hor[..., 1], hor[..., 0]), 2.0 * np.pi)
    return alt, az


def angular_separation(alt1: np.ndarray, az1: np.ndarray, alt2: np.ndarray, az2: np.ndarray) -> np.ndarray:
    """Angle (rad) between two horizontal directions (Vincenty formula)."""
    dlon = np.asarray(az2) - np.asarray(az1)
    s1, c1 = np.sin(alt1), np.cos(alt1)
    s2, c2 = np.sin(alt2), np.cos(alt2)
    num = np.hypot(c2 * np.sin(dlon), c1 * s2 - s1 * c2 * np.cos(dlon))
    den = s1 * s2 + c1 * c2 * np.cos(dlon)
    return np.arctan2(num, den)
