"""Bad input to lappana dl3 gets one sentence and exit code 2, never a traceback."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lappana.cli import main
from lappana.constants import DL2_PARAMS_KEY
from lappana.io.hdf5 import read_table, write_table
from lappana.simulate import simulate_night


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return simulate_night(tmp_path_factory.mktemp("dl3-bad"), night=dt.date(2023, 12, 7), n_runs=1,
                          run_minutes=0.1, seed=3, levels=("dl2",), mc=False, progress=False)


@pytest.fixture(scope="module")
def dl2_columns(night):
    return read_table(next(iter(night.dl2_files.values())), DL2_PARAMS_KEY)


def _irf(night, name: str = "global_gh0.70_theta0.20") -> Path:
    return night.output / "IRF" / name


def _dl3(capsys, dl2: Path, irf: Path, out: Path) -> tuple[int, str]:
    code = main(["dl3", str(dl2), "-o", str(out), "--irf", str(irf), "--source-name", "Crab",
                 "--source-ra", "83.633", "--source-dec", "22.014"])
    err = capsys.readouterr().err
    return code, err


def _one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("lappana dl3: ")
    return lines[0]


def _write_dl2(path: Path, columns: dict[str, np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, DL2_PARAMS_KEY, columns)
    return path


def test_missing_column(night, dl2_columns, capsys, tmp_path):
    columns = {k: v for k, v in dl2_columns.items() if k != "gammaness"}
    dl2 = _write_dl2(tmp_path / "dl2_LST-1.Run15864.h5", columns)
    code, err = _dl3(capsys, dl2, _irf(night), tmp_path / "out")
    assert code == 2
    assert "gammaness" in _one_sentence(err)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_truncated_hdf5(night, capsys, tmp_path):
    source = next(iter(night.dl2_files.values()))
    dl2 = tmp_path / source.name
    data = source.read_bytes()
    dl2.write_bytes(data[: len(data) // 2])
    code, err = _dl3(capsys, dl2, _irf(night), tmp_path / "out")
    assert code == 2
    _one_sentence(err)


def test_irf_without_gammaness_cut(night, capsys, tmp_path):
    irf = tmp_path / "irf_nocut.fits.gz"
    with fits.open(next(_irf(night).glob("*zen10*"))) as hdus:
        del hdus["EFFECTIVE AREA"].header["GH_CUT"]
        hdus.writeto(irf)
    code, err = _dl3(capsys, next(iter(night.dl2_files.values())), irf, tmp_path / "out")
    assert code == 2
    line = _one_sentence(err)
    assert "GH_CUT" in line and "GH_CUTS" in line


def test_run_without_events(night, dl2_columns, capsys, tmp_path):
    empty = {k: v[:0] for k, v in dl2_columns.items()}
    dl2 = _write_dl2(tmp_path / "dl2_LST-1.Run15864.h5", empty)
    code, err = _dl3(capsys, dl2, _irf(night), tmp_path / "out")
    assert code == 2
    assert "no events" in _one_sentence(err)


def test_run_without_events_after_cuts(night, dl2_columns, capsys, tmp_path):
    columns = dict(dl2_columns)
    columns["gammaness"] = np.zeros_like(columns["gammaness"])
    dl2 = _write_dl2(tmp_path / "dl2_LST-1.Run15864.h5", columns)
    code, err = _dl3(capsys, dl2, _irf(night), tmp_path / "out")
    assert code == 2
    assert "passes" in _one_sentence(err)
    assert not (tmp_path / "out" / "dl3_LST-1.Run15864.fits.gz").exists()
    assert not list((tmp_path / "out").glob(".*")), "scratch files left behind"


def test_irf_folder_without_matching_files(night, capsys, tmp_path):
    code, err = _dl3(capsys, next(iter(night.dl2_files.values())), tmp_path, tmp_path / "out")
    assert code == 2
    _one_sentence(err)


def test_existing_output_needs_overwrite(night, capsys, tmp_path):
    dl2 = next(iter(night.dl2_files.values()))
    assert _dl3(capsys, dl2, _irf(night), tmp_path)[0] == 0
    code, err = _dl3(capsys, dl2, _irf(night), tmp_path)
    assert code == 2
    assert "--overwrite" in _one_sentence(err)


def test_bad_input_as_a_process(night, dl2_columns, tmp_path):
    """The old command name, as a process: one line on stderr, exit code 2."""
    columns = {k: v for k, v in dl2_columns.items() if k != "reco_alt"}
    dl2 = _write_dl2(tmp_path / "dl2_LST-1.Run15864.h5", columns)
    exe = shutil.which("create_dl3_LP", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "import sys; from lappana.cli import create_dl3_LP; "
                                                   "sys.exit(create_dl3_LP())"]
    out = subprocess.run([*cmd, str(dl2), "-o", str(tmp_path / "out"), "--irf", str(_irf(night)),
                          "--source-name", "Crab", "--source-ra", "83.633", "--source-dec", "22.014"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "reco_alt" in out.stderr
