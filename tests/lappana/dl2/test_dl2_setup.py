"""scripts/setup-lstchain: trains the models once, with the real lstchain, without a terminal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "setup-lstchain"
MODEL_FILES = ("reg_energy.sav", "cls_gh.sav", "reg_disp_norm.sav", "cls_disp_sign.sav")
# What is checked here is the script (trains once, keeps its config, swaps folders), not the forests:
# a tenth of the default's MC and IRF events, IRFs at one zenith (the sizes are in the recipes the
# markers record).
SMALL = {"ASTRAN_SETUP_MC_EVENTS": "2000", "ASTRAN_SETUP_IRF_THROWN": "40000",
         "ASTRAN_SETUP_IRF_ZENITHS": "20"}

pytestmark = pytest.mark.peers


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900
    )


def test_setup_trains_once_and_keeps_the_config_beside_the_models(lstchain_env, tmp_path):
    models = tmp_path / "models" / "default"
    env = dict(os.environ, ASTRAN_LSTCHAIN_ENV=str(lstchain_env), ASTRAN_LSTCHAIN_MODELS=str(models),
               **SMALL)
    first = _run(env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"models: {models}" in first.stderr
    for name in MODEL_FILES:
        assert (models / name).stat().st_size > 0
    config = (models / "lstchain_config.json").read_text()
    assert config == (REPO / "lappana" / "data" / "lstchain_config.json").read_text()
    marker = (models / ".astran-trained").read_text()
    assert marker.startswith("lstchain==0.12.3 config=") and "n_events=2000 " in marker
    assert "zenith=20 " in (models / "IRF" / ".astran-made").read_text()
    assert not (models.parent / "default.new").exists()
    stamps = {name: (models / name).stat().st_mtime_ns for name in MODEL_FILES}

    second = _run(env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "(trained before)" in second.stderr
    assert "training" not in second.stderr
    assert stamps == {name: (models / name).stat().st_mtime_ns for name in MODEL_FILES}


def test_setup_fails_loudly_on_a_broken_lstchain_venv(tmp_path):
    broken = tmp_path / "lstchain"
    (broken / "bin").mkdir(parents=True)
    (broken / ".astran-installed").write_text("lstchain==0.12.3")  # says installed, is not
    env = dict(os.environ, ASTRAN_LSTCHAIN_ENV=str(broken), ASTRAN_LSTCHAIN_MODELS=str(tmp_path / "m"))
    done = _run(env)
    assert done.returncode != 0
    assert "lstchain_dl1_to_dl2 is missing" in done.stderr
