"""lappana.dl3.iers_cache: the cached IERS-B table is astropy's, and a bad cache never matters."""

from __future__ import annotations

import numpy as np

from astropy.time import Time
from astropy.utils import iers

from lappana.dl3.iers_cache import load_iers_b

TIMES = Time(np.linspace(58400.0, 60300.0, 500), format="mjd", scale="utc")


def _same_earth_orientation(table: iers.IERS_B) -> None:
    reference = iers.IERS_B.open()
    np.testing.assert_array_equal(table.ut1_utc(TIMES), reference.ut1_utc(TIMES))
    for ours, theirs in zip(table.pm_xy(TIMES), reference.pm_xy(TIMES)):
        np.testing.assert_array_equal(ours, theirs)
    assert table.colnames == reference.colnames and len(table) == len(reference)


def test_the_cache_is_written_once_and_gives_astropys_table(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = load_iers_b()
    files = list((tmp_path / "astran").glob("iers-b-*.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = load_iers_b()
    assert files[0].stat().st_mtime_ns == stamp  # read, not written again
    _same_earth_orientation(first)
    _same_earth_orientation(second)


def test_a_damaged_cache_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load_iers_b()
    (cached,) = (tmp_path / "astran").glob("iers-b-*.npz")
    cached.write_bytes(b"not a zip file")
    _same_earth_orientation(load_iers_b())
    assert cached.read_bytes()[:2] == b"PK"


def test_an_unwritable_cache_falls_back_to_astropy(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    _same_earth_orientation(load_iers_b())
