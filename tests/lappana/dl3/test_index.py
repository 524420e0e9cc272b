"""make_index: hdu-index and obs-index for a folder of lappana DL3 files."""

from __future__ import annotations

import datetime as dt

import pytest
from astropy.io import fits
from astropy.table import Table

from lappana.cli import main
from lappana.dl3 import make_dl3
from lappana.errors import LappanaError
from lappana.index import make_index
from lappana.simulate import simulate_night


@pytest.fixture(scope="module")
def dl3_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    night = simulate_night(root / "night", night=dt.date(2023, 12, 7), n_runs=2, run_minutes=0.1, seed=5,
                           levels=("dl2",), mc=False, progress=False)
    out = root / "dl3"
    for path in night.dl2_files.values():
        make_dl3(path, night.output / "IRF" / "eff_gh0.70_th0.70", out, source_name="Crab",
                 source_ra_deg=83.633, source_dec_deg=22.014)
    return out


def test_index_lists_every_hdu_gammapy_needs(dl3_dir):
    hdu_path, obs_path = make_index(dl3_dir)
    hdu = Table.read(hdu_path)
    obs = Table.read(obs_path)
    assert sorted(obs["OBS_ID"]) == [15864, 15865]
    for obs_id in obs["OBS_ID"]:
        rows = hdu[hdu["OBS_ID"] == obs_id]
        assert sorted(rows["HDU_TYPE"]) == ["aeff", "edisp", "events", "gti", "pointing", "rad_max"]
        assert set(rows["FILE_DIR"]) == {"."}
        aeff = rows[rows["HDU_TYPE"] == "aeff"][0]
        assert aeff["HDU_CLASS"] == "aeff_2d" and aeff["HDU_NAME"] == "EFFECTIVE AREA"
        with fits.open(dl3_dir / rows["FILE_NAME"][0]) as hdus:
            header = hdus["EVENTS"].header
            for name in rows["HDU_NAME"]:
                assert name in hdus
        row = obs[obs["OBS_ID"] == obs_id][0]
        for key in ("RA_PNT", "DEC_PNT", "TSTART", "TSTOP", "LIVETIME", "DEADC", "ONTIME"):
            assert row[key] == pytest.approx(header[key]), key
        assert row["ZEN_PNT"] == pytest.approx(90 - header["ALT_PNT"])
        assert row["OBS_MODE"] == "POINTING" and row["OBJECT"] == "Crab"
    assert obs["RA_PNT"].unit == "deg" and obs["LIVETIME"].unit == "s"
    with fits.open(obs_path) as hdus:
        assert hdus["OBS INDEX"].header["MJDREFI"] == 58392
        assert hdus["OBS INDEX"].header["HDUCLAS2"] == "OBS"


def test_index_of_a_folder_without_dl3_is_a_sentence(tmp_path, capsys):
    with pytest.raises(LappanaError, match="No DL3 file"):
        make_index(tmp_path)
    assert main(["index", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_index_of_a_broken_file_is_a_sentence(tmp_path, capsys):
    (tmp_path / "dl3_LST-1.Run00001.fits.gz").write_bytes(b"not a fits file")
    assert main(["index", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot be read as FITS" in err and "Traceback" not in err
