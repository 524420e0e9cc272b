"""Fast reads of blosc-compressed PyTables tables: their chunks straight from the file.

lstchain writes its DL1 and DL2 parameter tables with PyTables in chunks of ~140 rows
(64 kB), compressed with blosc:zstd and, for DL2, a Fletcher-32 checksum per chunk. A
1 M-event run is ~7,000 chunks, and reading them through HDF5 costs ~0.3 ms per chunk
of library work besides decompressing: most of the time lappana spends on a run.

:class:`BloscTableReader` gets the address of every chunk in one call (HDF5's chunk
iterator, through h5py), reads the compressed bytes of many chunks at once with one
``pread``, checks each chunk's Fletcher-32 checksum with HDF5's own function (through ctypes;
:func:`fletcher32`, the same in numpy, where it is not found), and decompresses the
chunks with blosc2 straight into the output array: with ``blosc2_decompress`` of the C
library that python-blosc2 ships, called through ctypes (importing the python-blosc2
package costs ~0.2 s, more than decompressing a 1 M-event run's selection columns takes
per chunk), or with ``blosc2.decompress`` when that library cannot be found. It reads only tables
whose filter pipeline it knows (blosc, optionally followed by Fletcher-32) and whose
chunks are all present and fully filtered; :func:`open_blosc_table` returns None for
anything else, and the caller reads the table with PyTables instead.

A caller that wants both CPUs reads two parts of a table in two processes.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from pathlib import Path

import numpy as np

from lappana.errors import LappanaError

__all__ = ["BloscTableReader", "open_blosc_table", "fletcher32"]

#: HDF5 filter ids: Fletcher-32 (built in) and PyTables' blosc (registered id).
FILTER_FLETCHER32 = 3
FILTER_BLOSC = 32001
#: Read at most this many compressed bytes in one pread (bounds memory).
MAX_SPAN_BYTES = 64 * 1024 * 1024


def fletcher32(data: memoryview | bytes) -> int:
    """HDF5's Fletcher-32 checksum of ``data`` (``H5_checksum_fletcher32``).

    Sums of 16-bit big-endian words modulo 65535, the second of the running first
    sum; a trailing odd byte counts as the high byte of a last word. Vectorised in
    integers (no BLAS, whose threads fight over the CPUs in worker processes): the
    second sum is ``n·Σw − Σ i·w`` over word indices ``i``.
    """
    data = memoryview(data).cast("B")
    n_words = len(data) // 2
    words = np.frombuffer(data, dtype=">u2", count=n_words).astype(np.int64)
    if len(data) % 2:
        words = np.append(words, data[-1] << 8)
        n_words += 1
    total1 = int(words.sum())
    # exact in int64: Σ i·w < n² · 65535 < 2**63 for chunks up to ~4 GB
    total2 = n_words * total1 - int(np.dot(_indices(n_words), words))
    return (_fold(total2) << 16) | _fold(total1)


_INDICES = np.arange(0, dtype=np.int64)
_C_FLETCHER32 = None


def _c_fletcher32():
    """HDF5's own ``H5_checksum_fletcher32`` from the libhdf5 h5py loaded (once), None when not found.

    Twice as fast as :func:`fletcher32` (2.4 against 1.2 GB/s here): a 1 M-event DL2 run's chunks
    took 0.29 s of checksums in numpy.
    """
    global _C_FLETCHER32
    if _C_FLETCHER32 is None:
        _C_FLETCHER32 = False
        import h5py  # noqa: F401 - loads libhdf5 into the process

        try:
            with open("/proc/self/maps") as maps:
                paths = sorted({line.split()[-1] for line in maps
                                if "libhdf5" in line and "_hl" not in line and line.split()[-1].startswith("/")})
        except OSError:
            paths = []
        for path in paths:
            try:
                function = ctypes.CDLL(path).H5_checksum_fletcher32
            except (OSError, AttributeError):
                continue
            function.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            function.restype = ctypes.c_uint32
            if function(b"abcde", 5) == fletcher32(b"abcde"):
                _C_FLETCHER32 = function
                break
    return _C_FLETCHER32 or None


def _indices(n: int) -> np.ndarray:
    """``arange(n)`` as int64, from a cache that grows as needed."""
    global _INDICES
    if _INDICES.size < n:
        _INDICES = np.arange(max(n, 2 * _INDICES.size), dtype=np.int64)
    return _INDICES[:n]


def _fold(total: int) -> int:
    """HDF5's end-around-carry reduction modulo 65535 (never 0 unless the sum is 0)."""
    return 0 if total == 0 else (total - 1) % 65535 + 1


_C_DECOMPRESS = None


def _c_decompress():
    """``blosc2_decompress`` of python-blosc2's C library (loaded once), None when it is not there."""
    global _C_DECOMPRESS
    if _C_DECOMPRESS is None:
        _C_DECOMPRESS = False
        spec = importlib.util.find_spec("blosc2")  # finds the package without running it
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for name in ("libblosc2.so", "libblosc2.dylib"):
                path = Path(folder) / "lib" / name
                if path.is_file():
                    try:
                        lib = ctypes.CDLL(str(path))
                        function = lib.blosc2_decompress
                    except (OSError, AttributeError):
                        continue
                    lib.blosc2_init()
                    function.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32]
                    function.restype = ctypes.c_int
                    _C_DECOMPRESS = function
                    return function
    return _C_DECOMPRESS or None


class Unsupported(Exception):
    """The table is not in a layout this reader handles (read it with PyTables)."""


class BloscTableReader:
    """Read row ranges of one blosc-compressed table, chunk by chunk, without HDF5's chunk path.

    Parameters
    ----------
    path : str or Path
        The HDF5 file.
    key : str
        The table's path in the file.
    dtype : numpy.dtype, optional
        The rows' layout as PyTables describes it (h5py reads PyTables' booleans as
        ``u1``); by default h5py's.

    Raises
    ------
    Unsupported
        When the table's storage is not plain blosc (+ Fletcher-32) chunks, or ``dtype``
        does not fit its rows.
    """

    def __init__(self, path: str | Path, key: str, dtype: np.dtype | None = None) -> None:
        self.path = Path(path)
        self._c_decompress = _c_decompress()
        self._c_fletcher32 = _c_fletcher32()
        if self._c_decompress is None:
            import blosc2  # PyTables depends on it

            self._blosc2 = blosc2
        node_dtype, self.nrows, self.chunk_rows, self._checksum, self._addresses, self._sizes = \
            _layout(self.path, key)
        self.dtype = np.dtype(node_dtype if dtype is None else dtype)
        if self.dtype.itemsize != node_dtype.itemsize:
            raise Unsupported(f"{key}: rows of {node_dtype.itemsize} bytes, not {self.dtype.itemsize}")
        self._chunk_bytes = self.chunk_rows * self.dtype.itemsize
        self._fd = os.open(self.path, os.O_RDONLY)
        self._raw = bytearray()
        self._out = np.empty(0, dtype=np.uint8)

    def close(self) -> None:
        """Release the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "BloscTableReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` as a structured array in the file's layout.

        The array is a view of a buffer that the next call reuses: copy out what
        you keep.

        Raises
        ------
        LappanaError
            When a chunk lies beyond the end of the file (a truncated file), fails
            its checksum or does not decompress.
        """
        start, stop = max(0, int(start)), min(int(stop), self.nrows)
        if stop <= start:
            return np.empty(0, dtype=self.dtype)
        first, last = start // self.chunk_rows, (stop - 1) // self.chunk_rows + 1
        needed = (last - first) * self._chunk_bytes
        if self._out.size < needed:
            self._out = np.empty(needed, dtype=np.uint8)
        out = self._out[:needed]
        chunk = first
        while chunk < last:
            chunk = self._read_span(chunk, last, out, first)
        rows = out.view(self.dtype)
        offset = start - first * self.chunk_rows
        return rows[offset:offset + stop - start]

    def _read_span(self, chunk: int, last: int, out: np.ndarray, first: int) -> int:
        """Read chunks from ``chunk`` on (as many as one pread allows) into ``out``; return the next."""
        begin = int(self._addresses[chunk])
        end = chunk
        while end < last:
            stop_byte = int(self._addresses[end] + self._sizes[end])
            if end > chunk and (stop_byte - begin > MAX_SPAN_BYTES or self._addresses[end] < begin):
                break
            end += 1
        span_end = int(max(self._addresses[i] + self._sizes[i] for i in range(chunk, end)))
        file_size = os.fstat(self._fd).st_size
        if span_end > file_size:
            raise LappanaError(
                f"{self.path}: rows {chunk * self.chunk_rows}-{end * self.chunk_rows} lie beyond the end of "
                f"the file ({file_size} bytes): the file is truncated."
            )
        if len(self._raw) < span_end - begin:
            self._raw = bytearray(span_end - begin)
        raw = memoryview(self._raw)[:span_end - begin]
        if os.preadv(self._fd, [raw], begin) != len(raw):
            raise LappanaError(f"{self.path}: the file ended while reading it; it is truncated.")
        addresses = (np.frombuffer(self._raw, dtype=np.uint8, count=1).ctypes.data, out.ctypes.data)
        for index in range(chunk, end):
            offset = int(self._addresses[index]) - begin
            self._decode(index, raw[offset:offset + int(self._sizes[index])], addresses[0] + offset, out,
                         addresses[1], first)
        return end

    def _decode(self, index: int, data: memoryview, address: int, out: np.ndarray, out_address: int,
                first: int) -> None:
        """Check and decompress chunk ``index`` (``data``, at memory ``address``) into its place in ``out``
        (whose memory starts at ``out_address``)."""
        rows = f"rows {index * self.chunk_rows}-{(index + 1) * self.chunk_rows}"
        if self._checksum:
            data, stored = data[:-4], int.from_bytes(data[-4:], "little")
            computed = self._c_fletcher32(address, len(data)) if self._c_fletcher32 else fletcher32(data)
            if stored != computed and stored != int.from_bytes(computed.to_bytes(4, "little"), "big"):
                raise LappanaError(f"{self.path}: {rows} fail their checksum: the file is damaged.")
        # blosc header: bytes 4-8 hold the decompressed size
        if len(data) < 16 or int.from_bytes(data[4:8], "little") != self._chunk_bytes:
            raise LappanaError(f"{self.path}: {rows} are not a blosc chunk of the table's size: the file is damaged.")
        target = out[(index - first) * self._chunk_bytes:(index - first + 1) * self._chunk_bytes]
        if self._c_decompress is not None:
            code = self._c_decompress(address, len(data), out_address + (index - first) * self._chunk_bytes,
                                      self._chunk_bytes)
            if code != self._chunk_bytes:
                raise LappanaError(f"{self.path}: {rows} cannot be decompressed (blosc2 error {code}): "
                                   "the file is damaged.")
            return
        try:
            self._blosc2.decompress(data, dst=target)
        except Exception as exc:  # noqa: BLE001 - blosc2 raises plain RuntimeError/ValueError
            raise LappanaError(f"{self.path}: {rows} cannot be decompressed ({exc}): the file is damaged.") from None


#: Layouts of tables read lately, by file identity (path, device, inode, size, modification time) and key.
_LAYOUTS: dict[tuple, tuple] = {}
_MAX_LAYOUTS = 8


def _layout(path: Path, key: str) -> tuple[np.dtype, int, int, bool, np.ndarray, np.ndarray]:
    """Row layout, rows, rows per chunk, checksum or not, and each chunk's address and size, in row order.

    Kept per file version: the DL3 step opens a run's table several times (the pointing blocks, then
    the scan, in this process and in a worker forked after), and listing 7,000 chunks through h5py
    takes ≈15 ms each time.
    """
    stat = os.stat(path)
    ident = (str(path.resolve()), key, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if ident in _LAYOUTS:
        return _LAYOUTS[ident]
    import h5py

    with h5py.File(path, "r") as h5:
        node = h5.get(key)
        if not isinstance(node, h5py.Dataset) or node.chunks is None or node.ndim != 1:
            raise Unsupported(f"{key} is not a chunked one-dimensional table")
        node_dtype, nrows, chunk_rows = np.dtype(node.dtype), int(node.shape[0]), int(node.chunks[0])
        checksum = _filter_pipeline(node)
        offsets, addresses, sizes, masks = _chunk_index(node)
    if np.any(masks != 0):
        raise Unsupported("some chunks were stored without their filters")
    expected = np.arange(0, nrows, chunk_rows)
    if len(offsets) != len(expected) or not np.array_equal(np.sort(offsets), expected):
        raise Unsupported("the table has missing chunks")
    order = np.argsort(offsets)
    while len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.pop(next(iter(_LAYOUTS)))
    _LAYOUTS[ident] = node_dtype, nrows, chunk_rows, checksum, addresses[order], sizes[order]
    return _LAYOUTS[ident]


def _filter_pipeline(node) -> bool:
    """Check the dataset is blosc (+ Fletcher-32); return whether it has the checksum."""
    plist = node.id.get_create_plist()
    ids = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if ids == [FILTER_BLOSC]:
        return False
    if ids == [FILTER_BLOSC, FILTER_FLETCHER32]:
        return True
    raise Unsupported(f"filter pipeline {ids} is not blosc (+ fletcher32)")


def _chunk_index(node) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First row, file address, stored size and filter mask of every chunk."""
    found: list[tuple[int, int, int, int]] = []
    if hasattr(node.id, "chunk_iter"):
        node.id.chunk_iter(lambda info: found.append(
            (info.chunk_offset[0], info.byte_offset, info.size, info.filter_mask)))
    else:  # HDF5 older than 1.14: one lookup per chunk
        for i in range(node.id.get_num_chunks()):
            info = node.id.get_chunk_info(i)
            found.append((info.chunk_offset[0], info.byte_offset, info.size, info.filter_mask))
    if not found:
        return (np.empty(0, np.int64),) * 4
    table = np.array(found, dtype=np.int64)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


def open_blosc_table(path: str | Path, key: str, dtype: np.dtype | None = None) -> BloscTableReader | None:
    """A :class:`BloscTableReader` for the table, or None when it must be read by PyTables.

    Callers open the file with PyTables first (which turns a missing, truncated or
    non-HDF5 file into a sentence); this only decides whether the fast path applies.
    """
    try:
        return BloscTableReader(path, key, dtype)
    except Unsupported:
        return None
    except (ImportError, OSError, KeyError, ValueError):
        return None
