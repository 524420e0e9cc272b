"""check_dl2 and check_dl3: facts, problem sentences and exit codes on good and damaged files."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pytest
from astropy.io import fits

from lappana.checks import check_dl2, check_dl3
from lappana.cli import main
from lappana.constants import DL2_PARAMS_KEY
from lappana.dl3 import make_dl3
from lappana.io.hdf5 import read_table, write_table
from lappana.simulate import simulate_night


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks")
    night = simulate_night(root / "night", night=dt.date(2023, 12, 7), n_runs=1, run_minutes=0.1, seed=8,
                           levels=("dl2",), mc=False, progress=False)
    dl2 = next(iter(night.dl2_files.values()))
    dl3 = make_dl3(dl2, night.output / "IRF" / "global_gh0.70_theta0.20", root / "dl3", source_name="Crab",
                   source_ra_deg=83.633, source_dec_deg=22.014)
    return dl2, dl3


def _rewrite_dl2(dl2, tmp_path, change):
    columns = read_table(dl2, DL2_PARAMS_KEY)
    change(columns)
    path = tmp_path / dl2.name
    write_table(path, DL2_PARAMS_KEY, columns)
    return path


def test_good_dl2(files, capsys):
    report = check_dl2(files[0])
    assert report.ok and report.exit_code == 0, report.text()
    assert report.facts["events"] == report.facts["showers"] + report.facts["pedestals"] + report.facts["flatfields"]
    (truth,) = json.loads((files[0].parents[4] / "simulation.json").read_text())["runs"]
    injected = truth["cosmic_trigger_rate_hz"] + truth["gamma_trigger_rate_hz"]  # before dead time
    assert report.facts["shower rate Hz"] == pytest.approx(injected, rel=0.1)
    assert report.facts["obs_id"] == 15864
    assert main(["check-dl2", str(files[0])]) == 0
    assert "OK" in capsys.readouterr().out


def test_dl2_with_nan_reconstruction_and_bad_pointing(files, tmp_path):
    def damage(c):
        c["reco_energy"][::4] = np.nan
        c["alt_tel"][100:] += np.radians(1.0)

    report = check_dl2(_rewrite_dl2(files[0], tmp_path, damage))
    assert report.usable and report.exit_code == 1
    text = " ".join(report.problems)
    assert "reco_energy" in text and "jumps" in text


def test_dl2_missing_column_and_unreadable(files, tmp_path, capsys):
    missing = tmp_path / "a" / files[0].name
    missing.parent.mkdir()
    write_table(missing, DL2_PARAMS_KEY, {k: v for k, v in read_table(files[0], DL2_PARAMS_KEY).items()
                                          if k != "delta_t"})
    report = check_dl2(missing)
    assert report.exit_code == 1 and "delta_t" in report.problems[0]
    truncated = tmp_path / "dl2_LST-1.Run15864.h5"
    truncated.write_bytes(files[0].read_bytes()[:5000])
    assert check_dl2(truncated).exit_code == 2
    assert main(["check-dl2", str(missing), str(truncated)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_good_dl3(files, capsys):
    report = check_dl3(files[1])
    assert report.ok, report.text()
    assert report.facts["events outside GTI"] == 0
    assert report.facts["ΣGTI×DEADC / LIVETIME"] == pytest.approx(1.0, abs=1e-9)
    assert report.facts["RAD_MAX"].startswith("0.2 deg")
    assert main(["check-dl3", "--json", str(files[1])]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def _edit_dl3(dl3, tmp_path, edit):
    path = tmp_path / dl3.name
    with fits.open(dl3) as hdus:
        edit(hdus)
        hdus.writeto(path)
    return path


def test_dl3_like_lstchain_makes_them(files, tmp_path):
    """A GTI over the post-cut events only (lstchain's) and no TIMESYS are reported."""
    def lstchain_like(hdus):
        times = hdus["EVENTS"].data["TIME"]
        hdus["GTI"].data["START"][0] = times[len(times) // 2]
        del hdus["EVENTS"].header["TIMESYS"]

    report = check_dl3(_edit_dl3(files[1], tmp_path, lstchain_like))
    assert report.exit_code == 1
    text = " ".join(report.problems)
    assert "TIMESYS" in text and "outside the GTI" in text and "LIVETIME" in text


def test_dl3_without_rad_max_and_unreadable(files, tmp_path):
    def no_rad_max(hdus):
        del hdus["EFFECTIVE AREA"].header["RAD_MAX"]

    report = check_dl3(_edit_dl3(files[1], tmp_path, no_rad_max))
    assert report.exit_code == 1 and any("RAD_MAX" in p for p in report.problems)
    broken = tmp_path / "broken.fits.gz"
    shutil.copy(files[1], broken)
    broken.write_bytes(broken.read_bytes()[:3000])
    assert check_dl3(broken).exit_code == 2
    assert check_dl3(tmp_path / "none.fits").exit_code == 2
