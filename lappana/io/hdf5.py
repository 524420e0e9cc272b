"""PyTables tables as lstchain writes them, read in chunks.

lstchain writes its DL1 and DL2 parameter tables with PyTables, compressed with
``blosc:zstd``. PyTables opens every table (h5py would need hdf5plugin for the
filter); the rows of a blosc table are read chunk by chunk straight from the file
(:mod:`lappana.io.blosc_chunks`), anything else through PyTables. Reading goes
chunk by chunk, so that the memory a step needs does not grow with the size of
the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import tables

from lappana.errors import LappanaError
from lappana.io.blosc_chunks import BloscTableReader, open_blosc_table

#: Default compression: lstchain's ``HDF5_ZSTD_FILTERS`` (blosc:zstd level 1, a
#: Fletcher-32 checksum per chunk).
FILTERS = tables.Filters(complevel=1, complib="blosc:zstd", fletcher32=True)

#: Rows per chunk when reading: ~1e6 rows x a few columns stays well under 100 MB.
DEFAULT_CHUNK_ROWS = 1_000_000
#: Whole rows decompressed at a time by the direct blosc reader (~30 MB of DL2 rows),
#: whatever the chunk the caller asked for: only the wanted columns are kept.
DIRECT_READ_ROWS = 65_536


def open_table_file(path: str | Path) -> tables.File:
    """Open an HDF5 file for reading, turning every way it can fail into a sentence.

    Raises
    ------
    LappanaError
        When the file is missing, empty, truncated or not HDF5.
    """
    path = Path(path)
    if not path.exists():
        raise LappanaError(f"{path} does not exist.")
    if path.is_dir():
        raise LappanaError(f"{path} is a folder, not an HDF5 file.")
    if path.stat().st_size == 0:
        raise LappanaError(f"{path} is empty (0 bytes): it was not written completely.")
    try:
        return tables.open_file(str(path), mode="r")
    except (tables.HDF5ExtError, OSError, ValueError) as error:
        if "unable to lock file" in str(error):
            raise LappanaError(f"{path} is locked by the process writing it (HDF5's file lock).") from None
        with open(path, "rb") as raw:
            signature = raw.read(8)
        if signature != b"\x89HDF\r\n\x1a\n":
            raise LappanaError(f"{path} is not an HDF5 file (it does not start with the HDF5 signature).") from None
        raise LappanaError(
            f"{path} is an HDF5 file that cannot be opened ({path.stat().st_size} bytes): it is "
            "probably truncated, e.g. copied or written only in part."
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__



def get_table(h5: tables.File, key: str) -> tables.Table:
    """Return the table at ``key``, or say in a sentence that it is not there."""
    try:
        node = h5.get_node(key)
    except tables.NoSuchNodeError:
        raise LappanaError(f"{h5.filename} has no table {key}.") from None
    if not isinstance(node, tables.Table):
        raise LappanaError(f"{h5.filename}: {key} is not a table.")
    return node


def table_columns(path: str | Path, key: str) -> list[str]:
    """Return the column names of the table at ``key``."""
    with open_table_file(path) as h5:
        return list(get_table(h5, key).colnames)


def table_length(path: str | Path, key: str) -> int:
    """Return the number of rows of the table at ``key``."""
    with open_table_file(path) as h5:
        return int(get_table(h5, key).nrows)


def require_columns(table: tables.Table, columns: Sequence[str], what: str = "") -> None:
    """Raise a sentence naming every column of ``columns`` that ``table`` lacks."""
    missing = [c for c in columns if c not in table.colnames]
    if missing:
        names = ", ".join(missing)
        label = f" for {what}" if what else ""
        raise LappanaError(
            f"{table._v_file.filename}: table {table._v_pathname} lacks the column"
            f"{'s' if len(missing) > 1 else ''} {names} needed{label}."
        )


def iter_table_chunks(
    path: str | Path,
    key: str,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    *,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Yield the table at ``key`` as dicts of column arrays, ``chunk_rows`` rows at a time.

    Parameters
    ----------
    path : str or Path
        The HDF5 file.
    key : str
        The table's path inside the file, e.g. :data:`lappana.constants.DL2_PARAMS_KEY`.
    columns : sequence of str, optional
        The columns to read (all when omitted). Missing ones raise a sentence.
    chunk_rows : int
        Rows per chunk.
    start, stop : int, optional
        Read only rows ``[start, stop)`` (default: the whole table).

    Yields
    ------
    dict of str to numpy.ndarray
        One array per column, all of the same length (at most ``chunk_rows``), owned
        by the caller.
    """
    if chunk_rows <= 0:
        raise ValueError("chunk_rows must be positive.")
    with open_table_file(path) as h5:
        table = get_table(h5, key)
        names = list(columns) if columns is not None else list(table.colnames)
        require_columns(table, names)
        stop = table.nrows if stop is None else min(stop, table.nrows)
        direct = open_blosc_table(path, table._v_pathname, table.dtype) if table.nrows else None
        try:
            for first in range(max(0, start), stop, chunk_rows):
                last = min(first + chunk_rows, stop)
                try:
                    if direct is not None:
                        chunk = _read_direct(direct, first, last, names)
                    elif len(names) <= 3:
                        chunk = {n: table.read(first, last, field=n) for n in names}
                    else:
                        rows = table.read(first, last)
                        chunk = {n: np.ascontiguousarray(rows[n]) for n in names}
                except tables.HDF5ExtError as exc:
                    raise LappanaError(
                        f"{path}: rows {first}-{last} of {key} cannot be read "
                        f"(the file is probably truncated): {_first_line(exc)}"
                    ) from None
                yield chunk
        finally:
            if direct is not None:
                direct.close()


def _read_direct(reader: BloscTableReader, first: int, last: int, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns ``names`` of rows ``[first, last)``, decompressed :data:`DIRECT_READ_ROWS` rows at a time."""
    out = {n: np.empty(last - first, dtype=reader.dtype[n]) for n in names}
    for a in range(first, last, DIRECT_READ_ROWS):
        b = min(a + DIRECT_READ_ROWS, last)
        rows = reader.read(a, b)
        for n in names:
            out[n][a - first:b - first] = rows[n]
    return out


def read_row_ranges(h5: tables.File, key: str, ranges: Sequence[tuple[int, int]],
                    columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns of the rows ``[a, b)`` of each range, concatenated, from a file opened by :func:`open_table_file`.

    Straight from the blosc chunks when the table allows it (a few ranges cost a few
    chunks, not HDF5's per-read set-up), else through PyTables.
    """
    table = get_table(h5, key)
    require_columns(table, columns)
    direct = open_blosc_table(h5.filename, table._v_pathname, table.dtype) if table.nrows else None
    parts: dict[str, list[np.ndarray]] = {n: [] for n in columns}
    try:
        for a, b in ranges:
            rows = direct.read(a, b) if direct is not None else table.read(a, b)
            for n in columns:
                parts[n].append(np.array(rows[n]))
    finally:
        if direct is not None:
            direct.close()
    return {n: np.concatenate(v) if v else np.empty(0, dtype=table.coldtypes[n]) for n, v in parts.items()}


def read_table(path: str | Path, key: str, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Read a whole table into a dict of column arrays (for small tables only)."""
    parts: dict[str, list[np.ndarray]] = {}
    for chunk in iter_table_chunks(path, key, columns):
        for name, values in chunk.items():
            parts.setdefault(name, []).append(values)
    if not parts:
        with open_table_file(path) as h5:
            table = get_table(h5, key)
            names = list(columns) if columns is not None else list(table.colnames)
            return {n: np.empty(0, dtype=table.coldtypes[n]) for n in names}
    return {n: np.concatenate(v) for n, v in parts.items()}


def write_table(
    path: str | Path,
    key: str,
    columns: Mapping[str, np.ndarray],
    *,
    append: bool = False,
    filters: tables.Filters = FILTERS,
    attrs: Mapping[str, object] | None = None,
) -> None:
    """Write (or append to) a PyTables table as lstchain does.

    Parameters
    ----------
    path : str or Path
        The HDF5 file; created when missing, other nodes kept.
    key : str
        The table's path, e.g. ``/dl2/event/telescope/parameters/LST_LSTCam``.
    columns : mapping of str to numpy.ndarray
        Column arrays of one length; their order is the table's column order.
    append : bool
        Append rows to an existing table instead of replacing it.
    filters : tables.Filters
        Compression; lstchain's (``blosc:zstd`` level 1 with Fletcher-32) by default.
    attrs : mapping, optional
        Attributes set on the table node.
    """
    names = list(columns)
    lengths = {len(columns[n]) for n in names}
    if len(lengths) > 1:
        raise ValueError(f"Columns of different lengths: {sorted(lengths)}.")
    dtype = np.dtype([(n, np.asarray(columns[n]).dtype) for n in names])
    n_rows = lengths.pop() if lengths else 0
    records = np.empty(n_rows, dtype=dtype)
    for n in names:
        records[n] = columns[n]
    where, name = key.rsplit("/", 1)
    with tables.open_file(str(path), mode="a") as h5:
        if key in h5 and append:
            h5.get_node(key).append(records)
            return
        if key in h5:
            h5.remove_node(key)
        table = h5.create_table(where or "/", name, obj=records, createparents=True, filters=filters)
        for attr_name, value in (attrs or {}).items():
            table.attrs[attr_name] = value
