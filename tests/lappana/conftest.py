"""Session fixtures of the lstchain chain, shared by the DL2, DL3 and high-level tests.

``lstchain_models``: models trained by the real lstchain_mc_trainpipe; ``lstchain_dl2_run``:
a DL2 run written by the real lstchain_dl1_to_dl2 (see :mod:`tests.helpers.chain`).
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lappana.paths import run_file_name
from tests.helpers.chain import PEERS, DL2Run, models_ready, train_models


@pytest.fixture(scope="session")
def lstchain_models(lstchain_env: Path, tmp_path_factory) -> Path:
    """A folder of lstchain models: those of ``scripts/setup-lstchain`` or tiny new ones."""
    from lappana.dl2 import DEFAULT_MODELS_NAME

    prepared = Path(os.environ.get("ASTRAN_LSTCHAIN_MODELS", PEERS / "models" / DEFAULT_MODELS_NAME))
    if (prepared / ".astran-trained").is_file() and models_ready(prepared):
        return prepared
    return train_models(lstchain_env, tmp_path_factory.mktemp("lstchain-models"))


@pytest.fixture(scope="session")
def lstchain_dl2_run(lstchain_env: Path, lstchain_models: Path, tmp_path_factory) -> DL2Run:
    """A simulated DL1 run taken to DL2 by the real lstchain_dl1_to_dl2, through ``lappana dl2``."""
    from lappana.simulate.night import data_dir, simulate_night

    root = tmp_path_factory.mktemp("lstchain-night")
    night_date = _dt.date(2023, 12, 7)
    night = simulate_night(
        root, night=night_date, n_runs=1, run_minutes=0.25, levels=("dl1",), mc=False,
        irfs=True, progress=False, seed=11,
    )
    (run_id, dl1), = night.dl1_files.items()
    out = data_dir(root, "dl2", night_date)
    command = [
        sys.executable, "-m", "lappana", "dl2", str(dl1), "-o", str(out),
        "--lstchain-env", str(lstchain_env / "bin"), "--models", str(lstchain_models),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"lappana dl2 failed:\n{done.stdout}\n{done.stderr}"
    dl2 = out / run_file_name("dl2", run_id)
    assert dl2.is_file(), done.stdout
    return DL2Run(run_id, dl1, dl2, lstchain_models, lstchain_env, night)
