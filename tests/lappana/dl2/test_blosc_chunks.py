"""lappana.io.blosc_chunks: raw blosc chunks read straight from the file equal PyTables' reads."""

from __future__ import annotations

import numpy as np
import pytest
import tables

from lappana.constants import DL2_PARAMS_KEY
from lappana.errors import LappanaError
from lappana.io.blosc_chunks import BloscTableReader, fletcher32, open_blosc_table
from lappana.io.hdf5 import DIRECT_READ_ROWS, FILTERS, iter_table_chunks, write_table

KEY = "/dl2/event/telescope/parameters/LST_LSTCam"


def _columns(n: int, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "event_id": np.arange(n, dtype=np.int64),
        "gammaness": rng.random(n),
        "intensity": rng.lognormal(5, 1, n),
        "n_pixels": rng.integers(0, 1855, n).astype(np.int32),
        "is_good": rng.random(n) < 0.5,
        "width": rng.random(n).astype(np.float32),
    }


def _pytables(path, start=0, stop=None) -> np.ndarray:
    with tables.open_file(str(path)) as h5:
        return h5.get_node(KEY).read(start, stop)


@pytest.mark.parametrize("filters", [
    FILTERS,  # lstchain's: blosc:zstd level 1 + Fletcher-32
    tables.Filters(complevel=5, complib="blosc:zstd"),
    tables.Filters(complevel=3, complib="blosc:lz4", shuffle=False, fletcher32=True),
], ids=["lstchain", "zstd5-no-checksum", "lz4"])
def test_rows_equal_pytables_for_any_range(tmp_path, filters):
    path = tmp_path / "t.h5"
    columns = _columns(20_011)
    write_table(path, KEY, columns, filters=filters)
    reference = _pytables(path)
    with BloscTableReader(path, KEY) as reader:
        assert reader.nrows == 20_011
        for start, stop in [(0, 20_011), (0, 1), (17, 4_000), (4_000, 4_001), (19_000, 25_000), (5, 5)]:
            rows = reader.read(start, stop)
            expected = reference[start:stop]
            assert len(rows) == len(expected)
            for name in columns:
                np.testing.assert_array_equal(rows[name], expected[name])


def test_table_chunks_take_the_direct_path_and_equal_pytables(tmp_path, monkeypatch):
    """iter_table_chunks reads blosc tables directly, in pieces smaller than its chunks, with
    PyTables' column types (booleans stay bool; h5py alone would give uint8)."""
    path = tmp_path / "t.h5"
    columns = _columns(3 * DIRECT_READ_ROWS + 123)
    write_table(path, KEY, columns, filters=FILTERS)
    reference = _pytables(path)
    reads = []
    original = BloscTableReader.read
    monkeypatch.setattr(BloscTableReader, "read", lambda self, a, b: reads.append(b - a) or original(self, a, b))
    for names in (["is_good", "event_id"], list(columns)):
        chunks = list(iter_table_chunks(path, KEY, names, chunk_rows=2 * DIRECT_READ_ROWS + 7, start=5))
        assert [len(c["event_id"]) for c in chunks] == [2 * DIRECT_READ_ROWS + 7, DIRECT_READ_ROWS + 111]
        for name in names:
            values = np.concatenate([c[name] for c in chunks])
            assert values.dtype == reference.dtype[name]
            np.testing.assert_array_equal(values, reference[name][5:])
    assert reads and max(reads) == DIRECT_READ_ROWS


def test_fletcher32_equals_what_hdf5_stored_on_odd_and_even_chunks(tmp_path):
    path = tmp_path / "t.h5"
    write_table(path, KEY, _columns(30_000), filters=FILTERS)
    reader = BloscTableReader(path, KEY)
    sizes = reader._sizes - 4
    assert (sizes % 2 == 1).any() and (sizes % 2 == 0).any(), "the test wants chunks of odd and even length"
    with open(path, "rb") as raw:
        for address, size in zip(reader._addresses, reader._sizes):
            raw.seek(int(address))
            chunk = raw.read(int(size))
            assert fletcher32(chunk[:-4]) == int.from_bytes(chunk[-4:], "little")
    reader.close()


def test_hdf5s_own_fletcher32_equals_the_numpy_one(tmp_path):
    from lappana.io.blosc_chunks import _c_fletcher32

    c_fletcher32 = _c_fletcher32()
    assert c_fletcher32 is not None, "HDF5's H5_checksum_fletcher32 should be found in the libhdf5 h5py loads"
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 3, 359, 360, 361, 721, 65_535, 65_536, 65_537, 200_001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert c_fletcher32(data, n) == fletcher32(data), n
    path = tmp_path / "t.h5"
    write_table(path, KEY, _columns(30_000), filters=FILTERS)
    with BloscTableReader(path, KEY) as reader:
        assert reader._c_fletcher32 is c_fletcher32
        assert np.array_equal(reader.read(0, 30_000)["event_id"], np.arange(30_000))


def test_reads_the_dl2_lstchain_wrote(lstchain_dl2_run):
    reader = open_blosc_table(lstchain_dl2_run.dl2_path, DL2_PARAMS_KEY)
    assert reader is not None, "lstchain's DL2 (blosc:zstd + fletcher32) should take the fast path"
    reference = _pytables(lstchain_dl2_run.dl2_path)
    rows = reader.read(0, reader.nrows)
    assert set(rows.dtype.names) == set(reference.dtype.names)
    for name in reference.dtype.names:
        np.testing.assert_array_equal(rows[name], reference[name])
    reader.close()


def test_other_filters_are_left_to_pytables(tmp_path):
    path = tmp_path / "t.h5"
    write_table(path, KEY, _columns(1_000), filters=tables.Filters(complevel=4, complib="zlib"))
    assert open_blosc_table(path, KEY) is None
    write_table(path, KEY, _columns(1_000), filters=tables.Filters(complevel=0))
    assert open_blosc_table(path, KEY) is None


def test_a_damaged_chunk_fails_its_checksum(tmp_path):
    path = tmp_path / "t.h5"
    write_table(path, KEY, _columns(20_000), filters=FILTERS)
    reader = BloscTableReader(path, KEY)
    victim = int(reader._addresses[5]) + 40
    reader.close()
    with open(path, "r+b") as raw:
        raw.seek(victim)
        byte = raw.read(1)
        raw.seek(victim)
        raw.write(bytes([byte[0] ^ 0xFF]))
    with BloscTableReader(path, KEY) as reader:
        reader.read(0, 5 * reader.chunk_rows)  # chunks before the damage still read
        with pytest.raises(LappanaError, match=r"fail their checksum: the file is damaged"):
            reader.read(0, reader.nrows)


def test_a_file_truncated_while_open_says_so(tmp_path):
    path = tmp_path / "t.h5"
    write_table(path, KEY, _columns(20_000), filters=FILTERS)
    with BloscTableReader(path, KEY) as reader:
        with open(path, "r+b") as raw:
            raw.truncate(path.stat().st_size // 2)
        with pytest.raises(LappanaError, match=r"the file is truncated"):
            reader.read(0, reader.nrows)
