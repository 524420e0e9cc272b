"""LST-1's instrument description, written as ctapipe 0.25 writes it.

lstchain's tools read the telescope's effective focal length from the
``/configuration/instrument/...`` nodes of DL1 files with
``ctapipe.instrument.SubarrayDescription.from_hdf``. This module writes those
nodes with PyTables, in exactly the layout of ``SubarrayDescription.to_hdf``
(ctapipe 0.25): four tables with ctapipe's column transforms (``CTAFIELD_*``
attributes for units and strings) and table metadata (``TAB_TYPE``, ``TAB_VER``,
...), so that ctapipe and lstchain read them back as the real LST-1 subarray.

The LSTCam geometry is generated, not copied: 265 modules of 7 hexagonal pixels
(pitch 50 mm) on a hexagonal module lattice of 9 rings with its 6 corner
modules left out, which is how the real camera is built (1855 pixels, 2.3 m
across). The reference pulse shape is a smooth analytic pulse with the real
one's sampling (1640 samples of 1/40.96 ns) and a ~2.6 ns FWHM; lstchain's
DL1→DL2 step does not use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import astropy.units as u
import numpy as np
import tables
from astropy.coordinates import EarthLocation

from lappana.io.hdf5 import FILTERS

__all__ = [
    "INSTRUMENT_NODES",
    "LSTCAM_N_PIXELS",
    "EFFECTIVE_FOCAL_LENGTH",
    "EQUIVALENT_FOCAL_LENGTH",
    "lstcam_pixel_positions",
    "write_instrument",
]

#: The table nodes :func:`write_instrument` writes.
INSTRUMENT_NODES = (
    "/configuration/instrument/subarray/layout",
    "/configuration/instrument/telescope/optics",
    "/configuration/instrument/telescope/camera/geometry_0",
    "/configuration/instrument/telescope/camera/readout_0",
)

#: Pixels of LSTCam: 265 modules of 7.
LSTCAM_N_PIXELS = 1855
LSTCAM_N_MODULES = 265
#: Distance between neighbouring pixel centres (flat-to-flat size of a pixel).
PIXEL_PITCH = 0.05 * u.m
#: Direction of a pixel's first neighbour, from the x axis of the camera.
_PIXEL_LATTICE_ANGLE_DEG = 40.893
#: ctapipe's ``pix_rotation`` of LSTCam's hexagonal pixels.
PIXEL_ROTATION_DEG = 100.893

#: LST-1's optics, as ctapipe_io_lst describes them.
EQUIVALENT_FOCAL_LENGTH = 28.0 * u.m
EFFECTIVE_FOCAL_LENGTH = 29.30565 * u.m
MIRROR_AREA = 386.73 * u.m**2
N_MIRROR_TILES = 198

#: LSTCam readout: 2 gains, 40 samples at 1.024 GHz.
N_GAINS = 2
N_SAMPLES = 40
SAMPLING_RATE_GHZ = 1.024
PULSE_SAMPLE_WIDTH_NS = 0.02441406
N_PULSE_SAMPLES = 1640

#: ctapipe_io_lst's reference point of the LST site (the subarray's origin) ...
_REFERENCE_LOCATION = dict(lon=-17.890879 * u.deg, lat=28.761579 * u.deg, height=2199.0 * u.m)
#: ... and LST-1's position relative to it in ctapipe's ground frame (m).
_LST1_GROUND_POSITION_M = (-5.82409135, 60.36726724, 0.88471197)

#: Versions of ctapipe's table formats that ctapipe 0.25 reads.
_SOFTWARE_VERSION = "0.25.1"
_ORIGIN = "ctapipe.instrument.SubarrayDescription"
_SUBARRAY_NAME = "LST-1 subarray"


def lstcam_pixel_positions() -> tuple[u.Quantity, u.Quantity]:
    """Return LSTCam's 1855 pixel centres in the camera frame.

    The camera is 265 modules of 7 hexagonal pixels (a centre pixel and its six
    neighbours). Module centres sit on a hexagonal lattice of spacing
    ``sqrt(7)`` pixel pitches aligned with the camera's x axis; 9 rings of it
    hold 271 modules, of which the 6 corner ones are left out.

    Returns
    -------
    pix_x, pix_y : astropy.units.Quantity
        Pixel centres in metres, module by module (centre pixel first).
    """
    pitch = PIXEL_PITCH.to_value(u.m)
    module_step = np.sqrt(7.0) * pitch
    n_rings = 9

    centres = []
    for i in range(-n_rings, n_rings + 1):
        for j in range(-n_rings, n_rings + 1):
            k = -i - j
            ring = max(abs(i), abs(j), abs(k))
            if ring > n_rings:
                continue
            corner = ring == n_rings and sorted((abs(i), abs(j), abs(k))) == [0, n_rings, n_rings]
            if corner:
                continue
            # axial coordinates -> cartesian with 60 degrees between the axes
            x = module_step * (i + 0.5 * j)
            y = module_step * (np.sqrt(3.0) / 2.0 * j)
            centres.append((np.hypot(x, y), np.arctan2(y, x), x, y))
    centres.sort(key=lambda c: (round(c[0], 9), c[1] % (2 * np.pi)))
    if len(centres) != LSTCAM_N_MODULES:  # pragma: no cover - a bug, not an input error
        raise RuntimeError(f"LSTCam construction gave {len(centres)} modules, expected 265.")

    angles = np.deg2rad(_PIXEL_LATTICE_ANGLE_DEG + 180.0 + 60.0 * np.arange(6))
    offsets = np.concatenate([[[0.0, 0.0]], pitch * np.column_stack([np.cos(angles), np.sin(angles)])])
    module_xy = np.array([(c[2], c[3]) for c in centres])
    pixels = (module_xy[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    return pixels[:, 0] * u.m, pixels[:, 1] * u.m


def _reference_pulse_shape() -> tuple[np.ndarray, np.ndarray]:
    """Return (sample times in ns, pulse shapes of shape (2, 1640)) for the two gains."""
    t = np.arange(N_PULSE_SAMPLES) * PULSE_SAMPLE_WIDTH_NS
    shapes = []
    for peak_ns, width_ns in ((9.0, 1.1), (9.2, 1.15)):
        # a gamma-like pulse: fast rise, slower tail; peak normalised to 1
        x = np.clip(t - (peak_ns - 2.0 * width_ns), 0.0, None) / width_ns
        pulse = x**2 * np.exp(-x)
        shapes.append(pulse / pulse.max())
    return t, np.array(shapes)


def _itrs_of_reference() -> tuple[float, float, float]:
    loc = EarthLocation.from_geodetic(**_REFERENCE_LOCATION)
    return tuple(float(v) for v in loc.itrs.cartesian.xyz.to_value(u.m))


def _write_ctapipe_table(
    h5: tables.File,
    path: str,
    columns: Mapping[str, np.ndarray],
    *,
    units: Mapping[str, str] | None = None,
    meta: Mapping[str, object] | None = None,
) -> None:
    """Write one table with ctapipe's ``write_table`` conventions.

    String columns are stored as fixed-length UTF-8 bytes with a
    ``CTAFIELD_<pos>_TRANSFORM = "string"`` and ``..._MAXLEN``; quantities as
    floats with ``..._TRANSFORM = "quantity"`` and ``..._UNIT``.
    """
    units = units or {}
    names = list(columns)
    arrays = {}
    attrs: dict[str, object] = {}
    for pos, name in enumerate(names):
        values = np.asarray(columns[name])
        if values.dtype.kind == "U":
            values = np.array([s.encode("utf-8") for s in values])
            attrs[f"CTAFIELD_{pos}_TRANSFORM"] = "string"
            attrs[f"CTAFIELD_{pos}_MAXLEN"] = np.int64(values.dtype.itemsize)
        elif name in units:
            attrs[f"CTAFIELD_{pos}_TRANSFORM"] = "quantity"
            attrs[f"CTAFIELD_{pos}_UNIT"] = units[name]
        arrays[name] = values
    records = np.empty(len(arrays[names[0]]), dtype=[(n, arrays[n].dtype) for n in names])
    for name in names:
        records[name] = arrays[name]

    parent, name = path.rsplit("/", 1)
    if path in h5:
        h5.remove_node(path)
    table = h5.create_table(
        parent, name, obj=records, filters=FILTERS, expectedrows=len(records), createparents=True
    )
    for key, value in (meta or {}).items():
        table.attrs[key] = value
    for key, value in attrs.items():
        table.attrs[key] = value


def _write_layout(h5: tables.File) -> None:
    x, y, z = _itrs_of_reference()
    _write_ctapipe_table(
        h5,
        INSTRUMENT_NODES[0],
        {
            "tel_id": np.array([1], dtype=np.uint16),
            "name": np.array(["LST"]),
            "type": np.array(["LST"]),
            "pos_x": np.array([_LST1_GROUND_POSITION_M[0]]),
            "pos_y": np.array([_LST1_GROUND_POSITION_M[1]]),
            "pos_z": np.array([_LST1_GROUND_POSITION_M[2]]),
            "camera_name": np.array(["LSTCam"]),
            "optics_name": np.array(["LST"]),
            "camera_index": np.array([0], dtype=np.int64),
            "optics_index": np.array([0], dtype=np.int64),
            "tel_description": np.array(["LST_LST_LSTCam"]),
        },
        units={"pos_x": "m", "pos_y": "m", "pos_z": "m"},
        meta={
            "TAB_VER": "2.0",
            "TAB_TYPE": "subarray",
            "SUBARRAY": _SUBARRAY_NAME,
            "SOFT_VER": _SOFTWARE_VERSION,
            "ORIGIN": _ORIGIN,
            "reference_itrs_x": x,
            "reference_itrs_y": y,
            "reference_itrs_z": z,
            "name": _SUBARRAY_NAME,
        },
    )


def _write_optics(h5: tables.File) -> None:
    _write_ctapipe_table(
        h5,
        INSTRUMENT_NODES[1],
        {
            "optics_name": np.array(["LST"]),
            "size_type": np.array(["LST"]),
            "reflector_shape": np.array(["PARABOLIC"]),
            "mirror_area": np.array([MIRROR_AREA.to_value(u.m**2)]),
            "n_mirrors": np.array([1], dtype=np.int64),
            "n_mirror_tiles": np.array([N_MIRROR_TILES], dtype=np.int64),
            "equivalent_focal_length": np.array([EQUIVALENT_FOCAL_LENGTH.to_value(u.m)]),
            "effective_focal_length": np.array([EFFECTIVE_FOCAL_LENGTH.to_value(u.m)]),
        },
        units={"mirror_area": "m**2", "equivalent_focal_length": "m", "effective_focal_length": "m"},
        meta={
            "TAB_VER": "4.0",
            "TAB_TYPE": "optics",
            "SUBARRAY": _SUBARRAY_NAME,
            "SOFT_VER": _SOFTWARE_VERSION,
            "ORIGIN": _ORIGIN,
        },
    )


def _write_geometry(h5: tables.File) -> None:
    pix_x, pix_y = lstcam_pixel_positions()
    area = np.sqrt(3.0) / 2.0 * PIXEL_PITCH.to_value(u.m) ** 2
    _write_ctapipe_table(
        h5,
        INSTRUMENT_NODES[2],
        {
            "pix_id": np.arange(LSTCAM_N_PIXELS, dtype=np.int64),
            "pix_x": pix_x.to_value(u.m),
            "pix_y": pix_y.to_value(u.m),
            "pix_area": np.full(LSTCAM_N_PIXELS, area),
        },
        units={"pix_x": "m", "pix_y": "m", "pix_area": "m**2"},
        meta={
            "TAB_TYPE": "ctapipe.instrument.CameraGeometry",
            "TAB_VER": "2.0",
            "CAM_ID": "LSTCam",
            "PIX_TYPE": "hexagon",
            "PIX_ROT": PIXEL_ROTATION_DEG,
            "CAM_ROT": 0.0,
        },
    )


def _write_readout(h5: tables.File) -> None:
    t, shapes = _reference_pulse_shape()
    _write_ctapipe_table(
        h5,
        INSTRUMENT_NODES[3],
        {
            "reference_pulse_shape_channel0": shapes[0],
            "reference_pulse_shape_channel1": shapes[1],
            "reference_pulse_sample_time": t,
        },
        units={"reference_pulse_sample_time": "ns"},
        meta={
            "TAB_TYPE": "ctapipe.instrument.CameraReadout",
            "TAB_VER": "3.0",
            "CAM_ID": "LSTCam",
            "NPIXELS": np.int64(LSTCAM_N_PIXELS),
            "NCHAN": np.int64(N_GAINS),
            "NSAMPLES": np.int64(N_SAMPLES),
            "SAMPFREQ": SAMPLING_RATE_GHZ,
            "REFWIDTH": PULSE_SAMPLE_WIDTH_NS,
        },
    )


def write_instrument(path: str | Path | tables.File) -> None:
    """Write LST-1's subarray, optics, LSTCam geometry and readout into an HDF5 file.

    The nodes are those of ``SubarrayDescription.to_hdf`` in ctapipe 0.25
    (:data:`INSTRUMENT_NODES`); existing ones are replaced, other nodes of the
    file are kept.

    Parameters
    ----------
    path : str, Path or tables.File
        The HDF5 file (created when missing), or a PyTables file open for writing.
    """
    if isinstance(path, tables.File):
        _write_all(path)
        return
    with tables.open_file(str(path), mode="a") as h5:
        _write_all(h5)


def _write_all(h5: tables.File) -> None:
    _write_layout(h5)
    _write_optics(h5)
    _write_geometry(h5)
    _write_readout(h5)
