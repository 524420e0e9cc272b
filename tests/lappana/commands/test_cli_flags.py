"""One flag vocabulary across lappana's subcommands, the older spellings as aliases, and the
old ``*_LP`` names taking the flags of the lstchain tools they stood for (issue 14)."""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.io import fits

from lappana.cli import SUBCOMMANDS, _load
from lappana.simulate import simulate_night

BIN = Path(sys.executable).parent
WRITERS = ["dl2", "irfs", "dl3", "theta2", "skymap", "diagnostics", "report"]
WITH_SOURCE = ["dl3", "theta2", "skymap", "report", "simulate"]  # diagnostics are per run, with no source


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"lappana {command}")
    _load(SUBCOMMANDS[command]).add_arguments(parser)
    return parser


def _options(command: str) -> set[str]:
    return {s for action in _parser(command)._actions for s in action.option_strings}


@pytest.mark.parametrize("command", WRITERS)
def test_every_writer_says_where_with_o_and_output(command):
    assert {"-o", "--output"} <= _options(command)


@pytest.mark.parametrize("command", ["dl2", "irfs"])
def test_output_dir_is_still_understood(command):
    parser = _parser(command)
    fixed = {"dl2": ["x.h5"], "irfs": []}[command]
    assert parser.parse_args([*fixed, "--output-dir", "out"]).output == Path("out")


@pytest.mark.parametrize("command", WITH_SOURCE)
def test_the_source_is_spelled_as_lstchain_spells_it_everywhere(command):
    assert {"--source-name", "--source-ra", "--source-dec"} <= _options(command)
    fixed = {"dl3": ["x.h5", "-o", "o", "--irf", "i", "--source-name", "Crab"], "simulate": ["night"]}.get(
        command, ["dl3", "-o", "o"])
    new = _parser(command).parse_args([*fixed, "--source-ra", "83.633", "--source-dec", "22.014"])
    old = _parser(command).parse_args([*fixed, "--ra", "83.633", "--dec", "22.014"])
    assert (new.source_ra, new.source_dec) == (old.source_ra, old.source_dec) == (83.633, 22.014)


def test_an_angle_may_carry_its_unit():
    args = _parser("theta2").parse_args(["dl3", "-o", "o", "--source-ra", "5h34m31.92s", "--source-dec", "22.014deg"])
    assert args.source_ra == pytest.approx(83.633, abs=1e-6) and args.source_dec == pytest.approx(22.014)


def test_a_bad_angle_is_a_usage_error_with_a_sentence():
    done = subprocess.run([BIN / "lappana", "theta2", "dl3", "-o", "o", "--source-ra", "east"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'east' is not an angle" in done.stderr


def test_no_input_given_either_way_is_a_sentence(tmp_path):
    done = subprocess.run([BIN / "create_dl3_LP", "-o", str(tmp_path), "-i", str(tmp_path), "--source-name", "Crab",
                           "--source-ra", "83.633", "--source-dec", "22.014"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Give the DL2 file(s): as arguments, or after -d/--input-dl2." in done.stderr


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return simulate_night(tmp_path_factory.mktemp("flags"), night=dt.date(2023, 12, 7), n_runs=1,
                          run_minutes=0.2, seed=5, levels=("dl2",), mc=False, progress=False)


def test_create_dl3_LP_and_create_index_LP_take_lstchains_flags(night, tmp_path):
    """The same DL3 and index from lstchain's spellings as from lappana's."""
    dl2 = next(iter(night.dl2_files.values()))
    irf = night.output / "IRF" / "eff_gh0.70_th0.70"
    old, new = tmp_path / "old", tmp_path / "new"
    steps = [
        [BIN / "create_dl3_LP", "-d", dl2, "-o", old, "-i", irf, "-p", "irf*.fits.gz", "--source-name", "Crab",
         "--source-ra", "83.633deg", "--source-dec", "22.014deg", "--gzip", "--overwrite"],
        [BIN / "create_index_LP", "-d", old, "-p", "dl3*.fits.gz", "--overwrite"],
        [BIN / "lappana", "dl3", dl2, "-o", new, "--irf", irf, "--source-name", "Crab",
         "--ra", "83.633", "--dec", "22.014"],
        [BIN / "lappana", "index", new],
    ]
    for step in steps:
        done = subprocess.run([str(a) for a in step], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    name = dl2.name.replace("dl2_", "dl3_").replace(".h5", ".fits.gz")
    with fits.open(old / name) as a, fits.open(new / name) as b:
        assert (a["EVENTS"].data["EVENT_ID"] == b["EVENTS"].data["EVENT_ID"]).all()
        assert a["EVENTS"].header["RA_OBJ"] == b["EVENTS"].header["RA_OBJ"]
    for index in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        assert (old / index).is_file() and (new / index).is_file()


def test_create_dl2_LP_takes_lstchains_flags():
    args = _parser("dl2").parse_args(["-f", "a.h5", "b.h5", "-p", "models", "-o", "out", "-c", "cfg.json"])
    assert (args.dl1_option, args.models, args.output, args.config) == (
        [Path("a.h5"), Path("b.h5")], "models", Path("out"), "cfg.json")
