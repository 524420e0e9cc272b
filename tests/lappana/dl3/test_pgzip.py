"""The DL3 writer's parallel gzip (lappana.dl3.pgzip) and the matrix ICRS → Galactic of lappana.dl3.coords."""

from __future__ import annotations

import gzip
import io
import zlib

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
import astropy.units as u

from lappana.dl3.coords import icrs_to_galactic
from lappana.dl3.pgzip import BLOCK_BYTES, ParallelGzipWriter


@pytest.mark.parametrize("size", [0, 1, BLOCK_BYTES - 1, BLOCK_BYTES, 3 * BLOCK_BYTES + 12345])
@pytest.mark.parametrize("threads", [1, 2])
def test_one_gzip_member_that_gzip_and_zlib_read(size, threads):
    data = np.random.default_rng(size).integers(0, 7, size, dtype=np.uint8).tobytes()
    buffer = io.BytesIO()
    with ParallelGzipWriter(buffer, threads=threads) as out:
        for start in range(0, size, 999_983):  # writes that straddle the blocks
            out.write(data[start:start + 999_983])
    packed = buffer.getvalue()
    assert gzip.decompress(packed) == data
    unpacker = zlib.decompressobj(31)
    assert unpacker.decompress(packed) == data and unpacker.eof and not unpacker.unused_data  # one member


def test_an_abandoned_file_gets_no_trailer():
    buffer = io.BytesIO()
    with pytest.raises(RuntimeError):
        with ParallelGzipWriter(buffer) as out:
            out.write(b"x" * 100)
            raise RuntimeError("stop")
    with pytest.raises((EOFError, OSError)):
        gzip.decompress(buffer.getvalue())


def test_galactic_as_astropy():
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(0, 360, 20_000), np.degrees(np.arcsin(rng.uniform(-1, 1, 20_000)))
    glon, glat = icrs_to_galactic(ra, dec)
    expected = SkyCoord(ra * u.deg, dec * u.deg).galactic
    dlon = (glon - expected.l.deg + 180) % 360 - 180
    assert np.max(np.abs(dlon * np.cos(np.radians(glat)))) < 1e-9
    assert np.max(np.abs(glat - expected.b.deg)) < 1e-9
    assert np.all((glon >= 0) & (glon < 360))
