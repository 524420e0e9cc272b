"""lappana.io.arrival on real files: a DL1 file is ready only when settled, openable and holding its table."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lappana.constants import DL2_PARAMS_KEY
from lappana.io.arrival import ABSENT, dl1_not_ready
from lappana.io.dl1 import check_dl1_file
from tests.helpers.arriving import BLOCK_EVENTS, write_dl1
from tests.helpers.waiting import wait_for

RUN = 15864
SETTLE = 5.0


def _aged(path: Path, seconds: float = 3600) -> Path:
    """Give ``path`` a modification time ``seconds`` ago (a file its writer left long ago)."""
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


@pytest.fixture(scope="module")
def complete(tmp_path_factory) -> Path:
    path = write_dl1(tmp_path_factory.mktemp("arrival") / f"dl1_LST-1.Run{RUN:05d}.h5", RUN)
    assert check_dl1_file(path) == 3 * BLOCK_EVENTS  # what lstchain_dl1_to_dl2 reads is there
    return _aged(path)


def test_a_complete_settled_file_is_ready(complete: Path) -> None:
    assert dl1_not_ready(complete, settle_seconds=SETTLE) is None


def test_a_file_not_there_is_not_there_yet(tmp_path: Path) -> None:
    assert dl1_not_ready(tmp_path / "dl1_LST-1.Run15865.h5", settle_seconds=SETTLE) == ABSENT


def test_an_empty_file_is_not_written_yet(tmp_path: Path) -> None:
    why = dl1_not_ready(_aged_write(tmp_path / "dl1.h5", b""), settle_seconds=SETTLE)
    assert why is not None and "empty" in why


def test_a_file_changed_within_the_settle_time_is_still_being_written(complete: Path, tmp_path: Path) -> None:
    fresh = tmp_path / complete.name
    fresh.write_bytes(complete.read_bytes())  # complete, but modified just now
    why = dl1_not_ready(fresh, settle_seconds=SETTLE)
    assert why is not None and "still being written" in why and "5 s" in why
    assert dl1_not_ready(fresh, settle_seconds=SETTLE, now=time.time() + SETTLE + 1) is None


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.95])
def test_a_truncated_copy_cannot_be_opened(complete: Path, tmp_path: Path, fraction: float) -> None:
    data = complete.read_bytes()
    cut = _aged_write(tmp_path / complete.name, data[: int(len(data) * fraction)])
    why = dl1_not_ready(cut, settle_seconds=SETTLE)
    assert why is not None and "truncated" in why, why


def _aged_write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return _aged(path)


def test_a_file_that_is_not_hdf5_says_so(tmp_path: Path) -> None:
    why = dl1_not_ready(_aged_write(tmp_path / "dl1.h5", b"placeholder\n" * 100), settle_seconds=SETTLE)
    assert why is not None and "not an HDF5 file" in why


def test_an_hdf5_file_without_the_dl1_table_says_which_table(complete: Path) -> None:
    why = dl1_not_ready(complete, settle_seconds=SETTLE, table_key=DL2_PARAMS_KEY)
    assert why == f"has no table {DL2_PARAMS_KEY}"


def test_a_file_its_writer_holds_open_is_not_ready(complete: Path, tmp_path: Path) -> None:
    """A writer that keeps the file open (HDF5's lock) longer than the settle time: wait, do not read it."""
    held = _aged_write(tmp_path / complete.name, complete.read_bytes())
    flag = tmp_path / "open"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, tables, pathlib\n"
        f"h5 = tables.open_file({str(held)!r}, mode='a')\n"
        f"pathlib.Path({str(flag)!r}).write_text('x')\n"
        "time.sleep(60)\n")])
    try:
        wait_for(flag.exists, timeout=60, what="the writer to open the file")
        _aged(held)
        why = dl1_not_ready(held, settle_seconds=SETTLE)
        if why is None:
            pytest.skip("HDF5 file locking is off here (HDF5_USE_FILE_LOCKING=FALSE or a filesystem without it)")
        assert "locked by the process writing it" in why, why
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert dl1_not_ready(_aged(held), settle_seconds=SETTLE) is None  # once its writer let it go


def test_the_daemon_starts_without_pytables_or_astropy() -> None:
    """spoold imports lappana.io.arrival; HDF5 and astropy load only when a DL1 file is looked at.

    Importing them with the daemon made its start ~1 s longer, and a file written in place into
    incoming before the watcher was up was then taken half-written (tests/spoold/daemon/test_poison.py).
    """
    code = ("import sys, spoold.daemon.cli, spoold.pipeline.runner, spoold.pipeline.resolve\n"
            "print(sorted(m for m in ('tables', 'astropy', 'h5py') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert shown.stdout.strip() == "[]"
