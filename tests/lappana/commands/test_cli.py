"""The ``lappana`` command: every subcommand and every old name answers --help with its options."""

import subprocess
import sys
from pathlib import Path

import pytest

from lappana import __version__
from lappana.cli import SUBCOMMANDS, main

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_has_its_own_help(name, capsys):
    with pytest.raises(SystemExit) as stop:
        main([name, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lappana {name}")
    assert "options:" in out


@pytest.mark.parametrize(
    "old_name, option",
    [("create_dl2_LP", "--models"), ("create_dl3_LP", "--irf"), ("create_index_LP", "DL3"),
     ("check_dl2", "--json"), ("check_dl3", "--json")],
)
def test_old_command_names_are_installed(old_name, option):
    done = subprocess.run([BIN / old_name, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {old_name}")
    assert option in done.stdout


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version

    assert __version__ == version("astran")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"lappana {__version__}"


def test_no_subcommand_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_a_user_error_is_one_sentence_without_traceback(tmp_path):
    missing = tmp_path / "dl2_LST-1.Run00001.h5"
    done = subprocess.run(
        [BIN / "lappana", "check-dl2", str(missing)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert "does not exist" in done.stdout + done.stderr


def test_a_reader_that_goes_away_gives_no_traceback(tmp_path):
    """``lappana check-dl2 ... | head -1``: the command stops quietly when its reader closes the pipe."""
    files = [str(tmp_path / f"dl2_LST-1.Run{i:05d}.h5") for i in range(3000)]  # ~200 kB of report
    command = subprocess.Popen([BIN / "lappana", "check-dl2", *files], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    command.stdout.readline()  # `head -1`: one line, then the reader is gone
    command.stdout.close()
    stderr = command.stderr.read().decode()
    command.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr[-2000:]
