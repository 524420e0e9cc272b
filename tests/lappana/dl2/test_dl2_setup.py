"""scripts/setup-lstchain: trains the models once, with the real lstchain, without a terminal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.chain import lstchain_peer

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


def test_setup_trains_each_version_once_and_keeps_the_config_beside_the_models(lstchain_env, tmp_path):
    ten_env, _ = lstchain_peer("0.10.18")
    models = {"0.12.3": tmp_path / "models" / "default", "0.10.18": tmp_path / "models" / "lstchain-0.10.18"}
    env = dict(os.environ, ASTRAN_LSTCHAIN_ENV=str(lstchain_env), ASTRAN_LSTCHAIN_MODELS=str(models["0.12.3"]),
               ASTRAN_LSTCHAIN_010_ENV=str(ten_env), ASTRAN_LSTCHAIN_010_MODELS=str(models["0.10.18"]), **SMALL)
    first = _run(env)
    assert first.returncode == 0, first.stderr[-3000:]
    config = (REPO / "lappana" / "data" / "lstchain_config.json").read_text()
    for version, folder in models.items():
        assert f"models: {folder} (lstchain {version})" in first.stderr
        for name in MODEL_FILES:
            assert (folder / name).stat().st_size > 0
        assert (folder / "lstchain_config.json").read_text() == config
        marker = (folder / ".astran-trained").read_text()
        assert marker.startswith(f"lstchain=={version} config=") and "n_events=2000 " in marker
        assert "zenith=20 " in (folder / "IRF" / ".astran-made").read_text()
        assert not (folder.parent / f"{folder.name}.new").exists()
    # each version trains its own forests on the same MC: they are not the same files
    assert (models["0.12.3"] / "reg_energy.sav").read_bytes() != (models["0.10.18"] / "reg_energy.sav").read_bytes()
    stamps = {(v, name): (folder / name).stat().st_mtime_ns for v, folder in models.items() for name in MODEL_FILES}

    second = _run(env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr.count("trained before)") == 2
    assert "training" not in second.stderr
    assert stamps == {(v, name): (folder / name).stat().st_mtime_ns for v, folder in models.items()
                      for name in MODEL_FILES}


def test_setup_fails_loudly_on_a_broken_lstchain_venv(tmp_path):
    broken = tmp_path / "lstchain"
    (broken / "bin").mkdir(parents=True)
    (broken / ".astran-installed").write_text("lstchain==0.12.3")  # says installed, is not
    env = dict(os.environ, ASTRAN_LSTCHAIN_ENV=str(broken), ASTRAN_LSTCHAIN_MODELS=str(tmp_path / "m"),
               ASTRAN_LSTCHAIN_010_MODELS=str(tmp_path / "m10"))
    done = _run(env)
    assert done.returncode != 0
    assert "lstchain_dl1_to_dl2 is missing" in done.stderr
