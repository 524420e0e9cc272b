"""Write a GADF DL3 file whose event list never sits in memory whole.

The EVENTS rows are appended chunk by chunk to a scratch file in FITS's own
big-endian row layout (:class:`EventSpool`); :func:`write_dl3` then streams the
file out: primary HDU, the EVENTS header with the final row count, the rows
copied in blocks, then the small GTI and POINTING HDUs and the IRF HDUs, all
through gzip when the name ends in ``.gz`` (deflated in blocks by two threads,
:mod:`lappana.dl3.pgzip`). The file appears under its final
name only when complete (written to a hidden name, then renamed).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from astropy.io import fits

from lappana.dl3.pgzip import DEFAULT_LEVEL, ParallelGzipWriter

__all__ = ["EVENT_COLUMNS", "EventSpool", "write_dl3"]

FITS_BLOCK = 2880

#: The EVENTS columns: name, FITS format, numpy dtype (big-endian), unit.
EVENT_COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("EVENT_ID", "K", ">i8", None),
    ("TIME", "D", ">f8", "s"),
    ("RA", "D", ">f8", "deg"),
    ("DEC", "D", ">f8", "deg"),
    ("ENERGY", "D", ">f8", "TeV"),
    ("GAMMANESS", "D", ">f8", None),
    ("MULTIP", "K", ">i8", None),
    ("GLON", "D", ">f8", "deg"),
    ("GLAT", "D", ">f8", "deg"),
    ("ALT", "D", ">f8", "deg"),
    ("AZ", "D", ">f8", "deg"),
)
EVENT_DTYPE = np.dtype([(name, dtype) for name, _, dtype, _ in EVENT_COLUMNS])


class EventSpool:
    """EVENTS rows kept on disk (in FITS layout) while a run is read.

    Parameters
    ----------
    directory : Path
        Where the scratch file goes (the output folder: same disk, no /tmp limits).
    """

    def __init__(self, directory: Path):
        handle, name = tempfile.mkstemp(prefix=".events-", suffix=".bin", dir=directory)
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(handle, "wb")
        self.n_rows = 0

    @classmethod
    def adopt(cls, path: Path, n_rows: int) -> "EventSpool":
        """A closed spool over a scratch file another process wrote (it is removed with the spool)."""
        spool = cls.__new__(cls)
        spool.path, spool.n_rows = Path(path), int(n_rows)
        spool._file = open(os.devnull, "wb")
        spool._file.close()
        return spool

    def append(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append rows given as one array per EVENTS column (all of one length)."""
        n = len(columns["EVENT_ID"])
        if n == 0:
            return
        rows = np.empty(n, dtype=EVENT_DTYPE)
        for name in EVENT_DTYPE.names:
            rows[name] = columns[name]
        rows.tofile(self._file)
        self.n_rows += n

    def iter_rows(self, rows_per_block: int = 100_000):
        """Yield the stored rows back as structured arrays, block by block (after :meth:`close`)."""
        data = np.memmap(self.path, dtype=EVENT_DTYPE, mode="r") if self.n_rows else np.empty(0, EVENT_DTYPE)
        for start in range(0, self.n_rows, rows_per_block):
            yield np.array(data[start:start + rows_per_block])

    def close(self) -> None:
        """Flush the scratch file (rows can then be read back)."""
        if not self._file.closed:
            self._file.close()

    def remove(self) -> None:
        """Close and delete the scratch file."""
        self.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "EventSpool":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def events_header(n_rows: int, cards: Sequence[tuple[str, object, str]]) -> fits.Header:
    """Return the EVENTS HDU's header for ``n_rows`` rows with extra keyword ``cards``."""
    columns = fits.ColDefs([
        fits.Column(name=name, format=fmt, unit=unit, array=np.zeros(0, dtype=dtype))
        for name, fmt, dtype, unit in EVENT_COLUMNS
    ])
    hdu = fits.BinTableHDU.from_columns(columns, nrows=0, name="EVENTS")
    header = hdu.header
    header["NAXIS2"] = n_rows
    for key, value, comment in cards:
        header[key] = (value, comment)
    header["EXTNAME"] = "EVENTS"
    return header


def _write_padded(out: BinaryIO, nbytes: int) -> None:
    pad = (-nbytes) % FITS_BLOCK
    if pad:
        out.write(b"\0" * pad)


def _hdus_bytes(hdus: Sequence[fits.hdu.base.ExtensionHDU]) -> bytes:
    """FITS bytes of extension HDUs (without a primary HDU).

    The HDUs are written as they are, not copied (a copy re-parses a table's columns: 0.09 s of a 1 M-event
    run's serial end, for IRF HDUs that ``irf_hdus`` copied from their files already).
    """
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(buffer)
    primary_size = len(fits.PrimaryHDU().header.tostring())
    return buffer.getvalue()[primary_size:]


def write_dl3(
    path: Path,
    spool: EventSpool | Sequence[EventSpool],
    event_cards: Sequence[tuple[str, object, str]],
    other_hdus: Sequence[fits.hdu.base.ExtensionHDU],
    *,
    compresslevel: int = DEFAULT_LEVEL,
    threads: int | None = None,
) -> Path:
    """Write the DL3 file: primary, EVENTS from ``spool``, then ``other_hdus``.

    Parameters
    ----------
    path : Path
        The output file; gzip-compressed when it ends in ``.gz``.
    spool : EventSpool or sequence of EventSpool
        The EVENTS rows (several spools: their rows in order).
    event_cards : sequence of (key, value, comment)
        Keywords of the EVENTS header.
    other_hdus : sequence of astropy HDUs
        GTI, POINTING and the IRF HDUs, in order.
    compresslevel : int
        gzip level (see :data:`lappana.dl3.pgzip.STRATEGY` for the speed and size of the default).
    threads : int, optional
        Threads compressing at once (default: the CPUs, at most 4).
    """
    spools = [spool] if isinstance(spool, EventSpool) else list(spool)
    for part in spools:
        part.close()
    n_rows = sum(part.n_rows for part in spools)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    header = events_header(n_rows, event_cards)
    try:
        with open(partial, "wb") as raw, (
                ParallelGzipWriter(raw, compresslevel, threads or min(os.cpu_count() or 1, 4))
                if path.suffix == ".gz" else contextlib.nullcontext(raw)) as out:
            out.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
            out.write(header.tostring().encode("ascii"))
            for part in spools:
                with open(part.path, "rb") as rows:
                    shutil.copyfileobj(rows, out, 4 * 1024 * 1024)
            _write_padded(out, n_rows * EVENT_DTYPE.itemsize)
            out.write(_hdus_bytes(other_hdus))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
