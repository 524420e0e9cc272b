"""The real pipeline through the real daemon: simulated DL2 → DL3 → index with the local executor.

Unlike the other daemon tests (cheap shell steps), this one runs ``spoold --once``
itself with the default steps, i.e. the real ``lappana dl3`` and ``lappana index``
commands, on a tiny simulated night, and checks what a user finds in ``done/``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.spool import spool_cmd

RUNS = (15864, 15865)


def test_spoold_once_takes_simulated_dl2_to_dl3_and_index(tmp_path: Path) -> None:
    from lappana.simulate.night import simulate_night

    simulate_night(tmp_path / "data", night=dt.date(2023, 12, 7), n_runs=len(RUNS), first_run=RUNS[0],
                   run_minutes=0.2, levels=("dl2",), mc=False, irfs=True, progress=False, seed=3)
    spool = tmp_path / "spool"
    spool_cmd("init", str(spool), cwd=tmp_path)
    request = tmp_path / "crab.yaml"
    request.write_text("source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl2\n"
                       "cuts: {gh_efficiency: 0.7, theta_containment: 0.7}\nproducts: [dl3]\n")
    rid = spool_cmd("submit", str(request), "--spool", str(spool), cwd=tmp_path).stdout.strip()
    done = subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--spool", str(spool), "--once"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    folder = spool / "done" / rid
    assert folder.is_dir(), spool_cmd("status", rid, "--spool", str(spool), cwd=tmp_path).stdout
    state = json.loads((folder / "state.json").read_text())
    assert state["runs"] == list(RUNS)  # every run of the source in the night's catalogue
    for run in RUNS:
        assert (folder / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz").stat().st_size > 0
        assert (folder / "logs" / "dl3" / f"run{run:05d}.log").is_file()
    assert (folder / "dl3" / "hdu-index.fits.gz").is_file() and (folder / "dl3" / "obs-index.fits.gz").is_file()
    check = subprocess.run([sys.executable, "-m", "lappana", "check-dl3", *map(str, (folder / "dl3").glob("dl3_*"))],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr

    # a second drain finds nothing to do: a finished request is never touched again
    again = subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--spool", str(spool), "--once"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert json.loads((folder / "state.json").read_text()) == state  # a done request is left alone
