"""lappana.io.blosc_chunks decompresses through python-blosc2's C library (ctypes) and through
blosc2.decompress alike, and says so when a chunk is damaged."""

from __future__ import annotations

import numpy as np
import pytest

import lappana.io.blosc_chunks as blosc_chunks
from lappana.errors import LappanaError
from lappana.io.blosc_chunks import BloscTableReader
from lappana.io.hdf5 import write_table

KEY = "/dl2/event/telescope/parameters/LST_LSTCam"


@pytest.fixture
def table_file(tmp_path):
    rng = np.random.default_rng(3)
    n = 20_000
    path = tmp_path / "t.h5"
    write_table(path, KEY, {"event_id": np.arange(n, dtype=np.int64), "x": rng.normal(size=n),
                            "flag": rng.integers(0, 2, n).astype(bool)})
    return path


@pytest.fixture
def python_blosc2(monkeypatch):
    monkeypatch.setattr(blosc_chunks, "_C_DECOMPRESS", False)  # as when the C library is not found


def test_the_c_library_is_used():
    assert blosc_chunks._c_decompress() is not None


def test_c_and_python_paths_read_the_same_rows(table_file, monkeypatch):
    with BloscTableReader(table_file, KEY) as reader:
        assert reader._c_decompress is not None
        ours = reader.read(123, 17_777).copy()
    monkeypatch.setattr(blosc_chunks, "_C_DECOMPRESS", False)
    with BloscTableReader(table_file, KEY) as reader:
        assert reader._c_decompress is None
        theirs = reader.read(123, 17_777).copy()
    assert np.array_equal(ours["event_id"], np.arange(123, 17_777))
    assert ours.tobytes() == theirs.tobytes()


@pytest.mark.parametrize("path_kind", ["c", "python"])
def test_a_chunk_that_does_not_decompress_is_a_sentence(table_file, request, path_kind):
    if path_kind == "python":
        request.getfixturevalue("python_blosc2")
    with BloscTableReader(table_file, KEY) as reader:
        reader._checksum = False  # get past the checksum to the decompressor
        address, size = int(reader._addresses[1]), int(reader._sizes[1])
    with open(table_file, "r+b") as handle:  # keep the blosc header, break the compressed body
        handle.seek(address + 32)
        handle.write(b"\xff" * (size - 40))
    with BloscTableReader(table_file, KEY) as reader:
        reader._checksum = False
        with pytest.raises(LappanaError, match="cannot be decompressed.*damaged"):
            reader.read(0, reader.nrows)
