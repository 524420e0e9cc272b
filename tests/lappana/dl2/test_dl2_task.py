"""The DL1→DL2 task: the command it builds and the sentences it says when something is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.chain import make_dl1_events
from lappana.constants import DL1_PARAMS_KEY
from lappana.dl2 import (
    build_dl2_command,
    dl1_columns_needed,
    lstchain_prefix,
    model_files,
    run_dl1_to_dl2,
)
from lappana.errors import LappanaError
from lappana.io.dl1 import write_dl1_file

MODEL_NAMES = ("reg_energy.sav", "cls_gh.sav", "reg_disp_norm.sav", "cls_disp_sign.sav")


@pytest.fixture
def fake_venv(tmp_path) -> Path:
    """A folder laid out like a venv with an executable lstchain_dl1_to_dl2 (never run)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    tool = bin_dir / "lstchain_dl1_to_dl2"
    tool.write_text("#!/bin/sh\nexit 3\n")
    tool.chmod(0o755)
    return tmp_path / "venv"


@pytest.fixture
def dl1_file(tmp_path) -> Path:
    path = tmp_path / "DL1" / "dl1_LST-1.Run01001.h5"
    write_dl1_file(path, make_dl1_events(np.random.default_rng(5), 200, "data", obs_id=1001), run_id=1001, is_simulation=False)
    return path


@pytest.fixture
def models(tmp_path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for name in MODEL_NAMES:
        (folder / name).write_bytes(b"not a model")
    return folder


def test_prefix_from_a_venv_its_bin_or_a_command_prefix(fake_venv):
    tool = str((fake_venv / "bin" / "lstchain_dl1_to_dl2").resolve())
    assert lstchain_prefix(fake_venv) == [tool]
    assert lstchain_prefix(str(fake_venv / "bin")) == [tool]
    assert lstchain_prefix("conda run -n lst-0.12.3") == ["conda", "run", "-n", "lst-0.12.3", "lstchain_dl1_to_dl2"]
    assert lstchain_prefix("apptainer exec '/my images/lst.sif'") == [
        "apptainer", "exec", "/my images/lst.sif", "lstchain_dl1_to_dl2",
    ]


def test_a_folder_with_spaces_is_a_folder_not_a_prefix(tmp_path):
    bin_dir = tmp_path / "my envs" / "lst 0.12" / "bin"
    bin_dir.mkdir(parents=True)
    tool = bin_dir / "lstchain_dl1_to_dl2"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert lstchain_prefix(str(tmp_path / "my envs" / "lst 0.12")) == [str(tool.resolve())]


def test_prefix_says_when_the_folder_is_missing_or_has_no_lstchain(tmp_path):
    with pytest.raises(LappanaError, match="does not exist"):
        lstchain_prefix(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LappanaError, match="holds no lstchain_dl1_to_dl2"):
        lstchain_prefix(tmp_path / "empty")


def test_command_has_absolute_paths_config_beside_models_and_overwrite(fake_venv, dl1_file, models, tmp_path):
    command = build_dl2_command(dl1_file, tmp_path / "out", lstchain_env=fake_venv, models_dir=models)
    assert command[1:3] == ["--input-files", str(dl1_file.resolve())]
    assert "--config" not in command and "--overwrite" not in command
    (models / "lstchain_config.json").write_text("{}")
    command = build_dl2_command(
        dl1_file, tmp_path / "out", lstchain_env="conda run -n lst", models_dir=models, overwrite=True
    )
    assert command[:5] == ["conda", "run", "-n", "lst", "lstchain_dl1_to_dl2"]
    assert command[command.index("--config") + 1] == str((models / "lstchain_config.json").resolve())
    assert command[command.index("--output-dir") + 1] == str((tmp_path / "out").resolve())
    assert command[-1] == "--overwrite"


def test_model_files_follow_the_disp_method():
    assert model_files({}) == list(MODEL_NAMES)
    assert model_files({"disp_method": "disp_vector"}) == ["reg_energy.sav", "cls_gh.sav", "reg_disp_vector.sav"]
    with pytest.raises(LappanaError, match="disp_method"):
        model_files({"disp_method": "magic"})


def test_columns_needed_follow_the_config():
    needed = dl1_columns_needed({})
    assert "log_intensity" in needed and "sin_az_tel" not in needed and "signed_skewness" not in needed
    assert "concentration_cog" in dl1_columns_needed({"energy_regression_features": ["concentration_cog"]})


def test_missing_models_folder_is_named(fake_venv, dl1_file, tmp_path):
    with pytest.raises(LappanaError, match=r"models folder .*nomodels does not exist"):
        run_dl1_to_dl2(dl1_file, tmp_path / "out", lstchain_env=fake_venv, models_dir=tmp_path / "nomodels")


def test_missing_model_files_are_named(fake_venv, dl1_file, models, tmp_path):
    (models / "cls_gh.sav").unlink()
    (models / "reg_disp_norm.sav").unlink()
    with pytest.raises(LappanaError, match=r"lacks cls_gh.sav, reg_disp_norm.sav"):
        run_dl1_to_dl2(dl1_file, tmp_path / "out", lstchain_env=fake_venv, models_dir=models)


def test_missing_dl1_is_named(fake_venv, models, tmp_path):
    with pytest.raises(LappanaError, match=r"The DL1 file .*dl1_LST-1.Run00007.h5 does not exist"):
        run_dl1_to_dl2(tmp_path / "dl1_LST-1.Run00007.h5", tmp_path / "out", lstchain_env=fake_venv, models_dir=models)


def test_dl1_missing_a_column_is_named(fake_venv, models, tmp_path):
    events = make_dl1_events(np.random.default_rng(6), 50, "data", obs_id=12)
    del events["skewness"]
    events["log_intensity"] = np.log10(events["intensity"])
    events["wl"] = events["width"] / events["length"]
    path = tmp_path / "dl1_LST-1.Run00012.h5"
    from lappana.io.hdf5 import write_table

    write_table(path, DL1_PARAMS_KEY, events)
    with pytest.raises(LappanaError, match=r"lacks the column skewness needed for lstchain_dl1_to_dl2"):
        run_dl1_to_dl2(path, tmp_path / "out", lstchain_env=fake_venv, models_dir=models)


def test_truncated_dl1_is_a_sentence(fake_venv, dl1_file, models, tmp_path):
    broken = tmp_path / "dl1_LST-1.Run01002.h5"
    data = dl1_file.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(LappanaError, match="probably truncated|cannot be read"):
        run_dl1_to_dl2(broken, tmp_path / "out", lstchain_env=fake_venv, models_dir=models)


def test_existing_dl2_needs_overwrite(fake_venv, dl1_file, models, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dl2_LST-1.Run01001.h5").write_bytes(b"old")
    with pytest.raises(LappanaError, match="exists already: pass overwrite"):
        run_dl1_to_dl2(dl1_file, out, lstchain_env=fake_venv, models_dir=models)


def test_failing_lstchain_gives_exit_code_and_log_tail(fake_venv, dl1_file, models, tmp_path):
    tool = fake_venv / "bin" / "lstchain_dl1_to_dl2"
    tool.write_text("#!/bin/sh\necho 'ValueError: something lstchain did not like' >&2\nexit 3\n")
    with pytest.raises(LappanaError) as info:
        run_dl1_to_dl2(dl1_file, tmp_path / "out", lstchain_env=fake_venv, models_dir=models)
    message = str(info.value)
    assert "failed on dl1_LST-1.Run01001.h5 with exit code 3" in message
    assert "something lstchain did not like" in message
    assert not (tmp_path / "out" / "dl2_LST-1.Run01001.h5").exists()
    # nothing half-written is left behind, not even the hidden staging folder
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dl2_LST-1.Run01001.log"]


def test_dl2_appears_only_when_complete(fake_venv, dl1_file, models, tmp_path):
    """A tool that writes half a file then fails leaves no DL2 behind; an old DL2 survives a failed overwrite."""
    tool = fake_venv / "bin" / "lstchain_dl1_to_dl2"
    tool.write_text(
        "#!/bin/sh\n"
        "while [ $# -gt 0 ]; do [ \"$1\" = --output-dir ] && out=$2; shift; done\n"
        "printf 'half' > \"$out/dl2_LST-1.Run01001.h5\"\n"
        "exit 1\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "dl2_LST-1.Run01001.h5").write_bytes(b"the old result")
    with pytest.raises(LappanaError, match="exit code 1"):
        run_dl1_to_dl2(dl1_file, out, lstchain_env=fake_venv, models_dir=models, overwrite=True)
    assert (out / "dl2_LST-1.Run01001.h5").read_bytes() == b"the old result"
    assert not any(p.name.startswith(".") for p in out.iterdir())


def test_unknown_command_prefix_is_a_sentence(dl1_file, models, tmp_path):
    with pytest.raises(LappanaError, match="not installed or not on PATH"):
        run_dl1_to_dl2(
            dl1_file, tmp_path / "out", lstchain_env="no-such-launcher-xyz run", models_dir=models
        )


def test_command_line_prints_a_sentence_and_exits_2(dl1_file, tmp_path, fake_venv):
    done = subprocess.run(
        [sys.executable, "-m", "lappana", "dl2", str(dl1_file), "-o", str(tmp_path / "out"),
         "--lstchain-env", str(fake_venv), "--models", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "lappana dl2: The models folder" in done.stderr


def test_old_name_create_dl2_LP_runs_the_same_command(dl1_file, tmp_path, fake_venv):
    old = Path(sys.executable).parent / "create_dl2_LP"
    if not old.exists():
        pytest.skip("create_dl2_LP is not installed in this venv")
    done = subprocess.run(
        [str(old), str(dl1_file), "-o", str(tmp_path / "out"), "--lstchain-env", str(fake_venv),
         "--models", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("create_dl2_LP: The models folder")


def test_real_lstchain_with_models_that_are_not_models_fails_with_a_sentence(lstchain_env, dl1_file, models, tmp_path):
    """lstchain itself fails (the .sav files are not pickles): exit code and log tail come back."""
    with pytest.raises(LappanaError) as info:
        run_dl1_to_dl2(dl1_file, tmp_path / "out", lstchain_env=lstchain_env, models_dir=models, timeout=300)
    assert "lstchain_dl1_to_dl2 failed on dl1_LST-1.Run01001.h5 with exit code" in str(info.value)
    assert (tmp_path / "out" / "dl2_LST-1.Run01001.log").is_file()


@pytest.mark.parametrize(
    "key, columns, sentence",
    [
        ("/dl1/event/telescope/parameters/LST_LSTCam", "a", r"wrote dl2_LST-1.Run01001.h5 without the DL2 table"),
        ("/dl2/event/telescope/parameters/LST_LSTCam", "reco_energy",
         r"without the columns log_reco_energy, gammaness, reco_alt"),
    ],
)
def test_dl2_without_table_or_reco_columns_is_refused(fake_venv, dl1_file, models, tmp_path, key, columns, sentence):
    tool = fake_venv / "bin" / "lstchain_dl1_to_dl2"
    tool.write_text(
        f"#!{sys.executable}\n"
        "import sys, numpy as np\n"
        "from lappana.io.hdf5 import write_table\n"
        "out = sys.argv[sys.argv.index('--output-dir') + 1]\n"
        f"write_table(out + '/dl2_LST-1.Run01001.h5', {key!r}, {{c: np.zeros(3) for c in {columns!r}.split(',')}})\n"
    )
    with pytest.raises(LappanaError, match=sentence) as info:
        run_dl1_to_dl2(dl1_file, tmp_path / "out", lstchain_env=fake_venv, models_dir=models)
    assert ".partial" not in str(info.value)
    assert not (tmp_path / "out" / "dl2_LST-1.Run01001.h5").exists()
