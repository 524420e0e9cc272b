"""DL2 files as ``lstchain_dl1_to_dl2`` writes them: writer and reader helpers.

A DL2 file holds the parameter table at :data:`lappana.constants.DL2_PARAMS_KEY`
(every DL1 column plus the reconstruction: ``reco_energy``, ``gammaness``,
``reco_alt/az``, ...), compressed with ``blosc:zstd`` by PyTables, and the
``/configuration/instrument`` nodes copied from DL1. Readers go chunk by chunk
(:func:`iter_dl2_chunks`) so memory stays flat for runs of any size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import tables

from lappana.constants import DL2_PARAMS_KEY
from lappana.errors import LappanaError
from lappana.io.hdf5 import DEFAULT_CHUNK_ROWS, FILTERS, iter_table_chunks, write_table

__all__ = [
    "FAST_FILTERS",
    "DL2_REQUIRED_COLUMNS",
    "DL2_EVENT_SELECTION",
    "write_dl2_file",
    "iter_dl2_chunks",
    "select_events",
]

#: What the simulator writes: lstchain's own filters (kept as a name for callers).
FAST_FILTERS = FILTERS

#: The columns that making DL3 from a DL2 file needs (lstchain_create_dl3_file's
#: event filter, effective time, gammaness cut and event list), with their dtypes.
DL2_REQUIRED_COLUMNS: dict[str, np.dtype] = {
    "obs_id": np.dtype(np.int64),
    "event_id": np.dtype(np.int64),
    "tel_id": np.dtype(np.int64),
    "event_type": np.dtype(np.int64),
    "dragon_time": np.dtype(np.float64),  # unix s, UTC
    "delta_t": np.dtype(np.float64),  # s
    "alt_tel": np.dtype(np.float64),  # rad
    "az_tel": np.dtype(np.float64),  # rad
    "intensity": np.dtype(np.float64),  # p.e.
    "length": np.dtype(np.float64),  # m
    "width": np.dtype(np.float64),  # m
    "r": np.dtype(np.float64),  # m
    "wl": np.dtype(np.float64),
    "leakage_intensity_width_2": np.dtype(np.float64),
    "reco_energy": np.dtype(np.float64),  # TeV
    "gammaness": np.dtype(np.float64),
    "reco_alt": np.dtype(np.float64),  # rad
    "reco_az": np.dtype(np.float64),  # rad
}

#: lstchain's default event selection before DL3 (EventSelector): closed ranges,
#: plus finite ``intensity``, ``length`` and ``width``.
DL2_EVENT_SELECTION: dict[str, tuple[float, float]] = {
    "r": (0.0, 1.0),
    "wl": (0.01, 1.0),
    "leakage_intensity_width_2": (0.0, 1.0),
    "event_type": (32, 32),
}


def write_dl2_file(
    path: str | Path,
    events: Mapping[str, np.ndarray],
    *,
    run_id: int,
    append: bool = False,
    instrument: bool = True,
    filters: tables.Filters = FILTERS,
) -> None:
    """Write (or extend) a DL2 file in lstchain's layout.

    Parameters
    ----------
    path : str or Path
        The file; name it ``dl2_LST-1.RunNNNNN.h5`` (lstchain takes the run number
        from the name).
    events : mapping of str to numpy.ndarray
        Columns of one length; must hold :data:`DL2_REQUIRED_COLUMNS`. Column order
        is kept; other columns are written as given.
    run_id : int
        The run number; ``obs_id`` must equal it.
    append : bool
        Append to the file's table (for writing a run chunk by chunk).
    instrument : bool
        Also write the ``/configuration/instrument`` nodes (once per file).
    filters : tables.Filters
        Compression of a new table (lstchain's: ``blosc:zstd`` level 1 with a
        Fletcher-32 checksum per chunk).

    Raises
    ------
    LappanaError
        When a required column is missing or ``obs_id`` differs from ``run_id``.
    """
    path = Path(path)
    missing = [c for c in DL2_REQUIRED_COLUMNS if c not in events]
    if missing:
        raise LappanaError(
            f"Cannot write {path.name}: the DL2 events lack the column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}."
        )
    obs_id = np.asarray(events["obs_id"])
    if obs_id.size and np.any(obs_id != int(run_id)):
        raise LappanaError(f"Cannot write {path.name}: obs_id must equal the run number {int(run_id)}.")
    columns = {
        name: np.asarray(values).astype(DL2_REQUIRED_COLUMNS[name], copy=False)
        if name in DL2_REQUIRED_COLUMNS
        else np.asarray(values)
        for name, values in events.items()
    }
    if not append and path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, DL2_PARAMS_KEY, columns, append=append, filters=filters)
    if instrument:
        _ensure_instrument(path, run_id)


def _ensure_instrument(path: Path, run_id: int) -> None:
    try:
        from lappana.io.instrument import INSTRUMENT_NODES, write_instrument
    except ImportError:  # the instrument writer is optional for DL2
        return
    with tables.open_file(str(path), mode="a") as h5:
        if any(node not in h5 for node in INSTRUMENT_NODES):
            write_instrument(h5)
        h5.root._v_attrs["RUN_ID"] = int(run_id)


def iter_dl2_chunks(
    path: str | Path,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[dict[str, np.ndarray]]:
    """Yield the DL2 table of ``path`` chunk by chunk (all columns when ``columns`` is None).

    Missing columns, missing files and truncated files raise a :class:`LappanaError`.
    """
    yield from iter_table_chunks(path, DL2_PARAMS_KEY, columns, chunk_rows)


def select_events(chunk: Mapping[str, np.ndarray]) -> np.ndarray:
    """Boolean mask of lstchain's default DL3 event selection on a chunk of DL2 columns."""
    mask = np.ones(len(chunk["event_type"]), dtype=bool)
    for name, (low, high) in DL2_EVENT_SELECTION.items():
        values = chunk[name]
        mask &= (values >= low) & (values <= high)
    for name in ("intensity", "length", "width"):
        mask &= np.isfinite(chunk[name])
    return mask
