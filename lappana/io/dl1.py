"""DL1 files that lstchain's tools accept.

A DL1 file for ``lstchain_dl1_to_dl2`` and ``lstchain_mc_trainpipe`` (lstchain
0.12.3) needs two things, found by reading those tools:

- the parameter table at :data:`lappana.constants.DL1_PARAMS_KEY`, a PyTables
  table (lstchain reads it with ``pandas.read_hdf``) holding the image
  parameters the random forests use, the telescope pointing and, for real
  data, the event times that lstchain copies into DL2 for the DL3 step;
- the instrument description under ``/configuration/instrument/``, from which
  lstchain takes the effective focal length (:mod:`lappana.io.instrument`).

Neither tool reads ``/simulation/run_config`` or other nodes, so training MC
files carry only the parameter table (with the ``mc_*`` columns) and the
instrument. ``lstchain_create_irf_files`` does read it: the MC of IRFs gets it
from :mod:`lappana.io.run_config`, and ``lstchain_dl1_to_dl2`` copies it, as
every other node of a DL1 file, into the DL2 file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tables

from lappana.constants import DL1_PARAMS_KEY
from lappana.errors import LappanaError
from lappana.io.hdf5 import FILTERS, get_table, open_table_file, require_columns, write_table
from lappana.io.instrument import INSTRUMENT_NODES, write_instrument

__all__ = [
    "DL1_REQUIRED_COLUMNS",
    "DL1_DATA_COLUMNS",
    "DL1_MC_COLUMNS",
    "DL1_DERIVED_COLUMNS",
    "DL1_FEATURE_COLUMNS",
    "write_dl1_file",
    "check_dl1_file",
]

#: Columns every DL1 table needs, real data and MC alike, with their dtypes.
#: Angles in radians, camera coordinates and Hillas lengths in metres
#: (lstchain's camera-frame parameters), ``intensity`` in p.e.
DL1_REQUIRED_COLUMNS: dict[str, np.dtype] = {
    # identifiers
    "obs_id": np.dtype(np.int64),
    "event_id": np.dtype(np.int64),
    "tel_id": np.dtype(np.int64),
    "event_type": np.dtype(np.int64),  # 32 shower, 0 flatfield, 2 pedestal
    # pointing
    "alt_tel": np.dtype(np.float64),  # rad
    "az_tel": np.dtype(np.float64),  # rad
    # Hillas and other image parameters
    "intensity": np.dtype(np.float64),  # p.e.
    "x": np.dtype(np.float64),  # m
    "y": np.dtype(np.float64),  # m
    "r": np.dtype(np.float64),  # m
    "phi": np.dtype(np.float64),  # rad
    "psi": np.dtype(np.float64),  # rad
    "length": np.dtype(np.float64),  # m
    "width": np.dtype(np.float64),  # m
    "skewness": np.dtype(np.float64),
    "kurtosis": np.dtype(np.float64),
    "time_gradient": np.dtype(np.float64),  # ns / m
    "leakage_intensity_width_1": np.dtype(np.float64),
    "leakage_intensity_width_2": np.dtype(np.float64),
    "n_pixels": np.dtype(np.int64),
    "n_islands": np.dtype(np.int64),
}

#: Extra columns of real-data DL1: event times. ``dragon_time`` is unix seconds
#: (UTC); lstchain_dl1_to_dl2 recomputes ``delta_t`` from it.
DL1_DATA_COLUMNS: dict[str, np.dtype] = {
    "dragon_time": np.dtype(np.float64),  # s
    "trigger_time": np.dtype(np.float64),  # s
    "delta_t": np.dtype(np.float64),  # s
}

#: Extra columns of MC DL1, needed by lstchain_mc_trainpipe.
DL1_MC_COLUMNS: dict[str, np.dtype] = {
    "mc_energy": np.dtype(np.float64),  # TeV
    "mc_alt": np.dtype(np.float64),  # rad
    "mc_az": np.dtype(np.float64),  # rad
    "mc_alt_tel": np.dtype(np.float64),  # rad
    "mc_az_tel": np.dtype(np.float64),  # rad
    "mc_type": np.dtype(np.int64),  # 0 gamma, 101 proton
}

#: Columns :func:`write_dl1_file` computes when they are not given.
DL1_DERIVED_COLUMNS = ("log_intensity", "wl", "sin_az_tel", "log_mc_energy")

#: The columns the random forests of lstchain's standard configuration read.
DL1_FEATURE_COLUMNS = (
    "log_intensity",
    "width",
    "length",
    "x",
    "y",
    "wl",
    "skewness",
    "kurtosis",
    "time_gradient",
    "leakage_intensity_width_2",
    "sin_az_tel",
    "alt_tel",
)


def _with_derived(events: Mapping[str, np.ndarray], is_simulation: bool) -> dict[str, np.ndarray]:
    out = {name: np.asarray(values) for name, values in events.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        if "log_intensity" not in out and "intensity" in out:
            out["log_intensity"] = np.log10(out["intensity"].astype(np.float64))
        if "wl" not in out and "width" in out and "length" in out:
            out["wl"] = out["width"].astype(np.float64) / out["length"].astype(np.float64)
        if "sin_az_tel" not in out and "az_tel" in out:
            out["sin_az_tel"] = np.sin(out["az_tel"].astype(np.float64))
        if is_simulation and "log_mc_energy" not in out and "mc_energy" in out:
            out["log_mc_energy"] = np.log10(out["mc_energy"].astype(np.float64))
    return out


def required_columns(is_simulation: bool) -> dict[str, np.dtype]:
    """Return the columns (and dtypes) a DL1 table of real data or MC needs."""
    columns = dict(DL1_REQUIRED_COLUMNS)
    columns.update(DL1_MC_COLUMNS if is_simulation else DL1_DATA_COLUMNS)
    return columns


def write_dl1_file(
    path: str | Path,
    events: Mapping[str, np.ndarray],
    *,
    run_id: int,
    is_simulation: bool,
    append: bool = False,
    filters: tables.Filters = FILTERS,
) -> None:
    """Write (or extend) a DL1 file that lstchain's DL1→DL2 and training tools accept.

    Parameters
    ----------
    path : str or Path
        The file to write; for real data name it as lstchain does,
        ``dl1_LST-1.RunNNNNN.h5`` (lstchain takes the run number from the name).
    events : mapping of str to numpy.ndarray
        One array per column, all of one length. It must hold
        :data:`DL1_REQUIRED_COLUMNS` and, for real data, :data:`DL1_DATA_COLUMNS`
        or, for MC, :data:`DL1_MC_COLUMNS`. :data:`DL1_DERIVED_COLUMNS` are
        computed when absent; any other column is written as given.
    run_id : int
        The run number; ``obs_id`` must equal it for real data.
    is_simulation : bool
        True for MC (gamma or proton) training files.
    append : bool
        Append the events to the file's table instead of writing a new file.
        The instrument nodes are written once.
    filters : tables.Filters
        Compression of a new table (``blosc:zstd`` as lstchain by default).

    Raises
    ------
    LappanaError
        When a needed column is missing, columns differ in length, or
        ``obs_id`` differs from ``run_id`` in real data.
    """
    path = Path(path)
    columns = _with_derived(events, is_simulation)
    needed = required_columns(is_simulation)
    missing = [name for name in needed if name not in columns]
    if missing:
        kind = "MC" if is_simulation else "real-data"
        raise LappanaError(
            f"Cannot write {path.name}: the {kind} DL1 events lack the column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}."
        )
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise LappanaError(
            f"Cannot write {path.name}: the DL1 columns have different lengths ({_describe(lengths)})."
        )
    if not is_simulation and len(columns["obs_id"]) and np.any(columns["obs_id"] != int(run_id)):
        raise LappanaError(
            f"Cannot write {path.name}: obs_id must equal the run number {int(run_id)} in real data."
        )

    ordered: dict[str, np.ndarray] = {}
    for name, dtype in needed.items():
        ordered[name] = np.asarray(columns[name]).astype(dtype, copy=False)
    for name, values in columns.items():
        if name not in ordered:
            ordered[name] = values

    if not append and path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, DL1_PARAMS_KEY, ordered, append=append, filters=filters)
    with tables.open_file(str(path), mode="a") as h5:
        if any(node not in h5 for node in INSTRUMENT_NODES):
            write_instrument(h5)
        h5.root._v_attrs["RUN_ID"] = int(run_id)
        h5.root._v_attrs["IS_SIMULATION"] = bool(is_simulation)


def _describe(lengths: Mapping[str, int]) -> str:
    by_length: dict[int, list[str]] = {}
    for name, n in lengths.items():
        by_length.setdefault(n, []).append(name)
    return "; ".join(f"{n} rows: {', '.join(names[:4])}{'...' if len(names) > 4 else ''}" for n, names in by_length.items())


def check_dl1_file(path: str | Path, *, is_simulation: bool = False) -> int:
    """Check that a DL1 file has what lstchain's DL1→DL2 step reads.

    Parameters
    ----------
    path : str or Path
        The DL1 file.
    is_simulation : bool
        Also require the MC columns.

    Returns
    -------
    int
        The number of events in the table.

    Raises
    ------
    LappanaError
        A sentence naming what is missing: the file, the table, columns or
        the instrument description.
    """
    with open_table_file(path) as h5:
        table = get_table(h5, DL1_PARAMS_KEY)
        needed = list(DL1_REQUIRED_COLUMNS) + ["log_intensity", "wl"]
        if is_simulation:
            needed += list(DL1_MC_COLUMNS)
        require_columns(table, needed, "lstchain_dl1_to_dl2")
        missing_nodes = [node for node in INSTRUMENT_NODES if node not in h5]
        if missing_nodes:
            raise LappanaError(
                f"{path} lacks the instrument description ({', '.join(missing_nodes)}) that "
                "lstchain reads the focal length from."
            )
        return int(table.nrows)
