"""The DL2 cache (issue 15 point 6, lappana's part): each run's DL2 made once by the real lstchain.

Two ``lappana dl2 --cache`` at once on one DL1 file: one runs lstchain, the
other waits for it and takes its file; a third reuses it at once. The key follows
what makes the DL2: the DL1 file, the models, the configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lappana.dl2_cache import MADE_FROM, dl2_cache_key, link_into
from lappana.lstchain_env import installed_lstchain_version
from lappana.io.hdf5 import table_length
from lappana.constants import DL2_PARAMS_KEY


def _dl2(dl1: Path, cache: Path, run, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lappana", "dl2", str(dl1), "--cache", str(cache),
                             "--lstchain-env", str(run.lstchain_env / "bin"), "--models", str(run.models_dir), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_makers_at_once_run_lstchain_once_and_a_third_reuses(lstchain_dl2_run, tmp_path: Path) -> None:
    run, cache = lstchain_dl2_run, tmp_path / "cache"
    makers = [_dl2(run.dl1_path, cache, run), _dl2(run.dl1_path, cache, run)]
    said = []
    for proc in makers:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
        said.append(out)
    assert sorted(line.split(": ")[1].split(" ")[0] for line in said) == ["made", "reused"], said
    key = dl2_cache_key(run.dl1_path, lstchain_env=run.lstchain_env / "bin", models_dir=run.models_dir)
    entry = cache / key / run.dl2_path.name
    names = {p.name for p in (cache / key).iterdir()}
    assert {entry.name, entry.with_suffix(".log").name, MADE_FROM} <= names
    assert not [n for n in names if n.endswith(".partial")]  # no staging left
    assert table_length(entry, DL2_PARAMS_KEY) == table_length(run.dl2_path, DL2_PARAMS_KEY)
    made_from = json.loads((cache / key / MADE_FROM).read_text())
    assert made_from["dl1"]["path"] == str(run.dl1_path.resolve())
    assert made_from["lstchain"]["version"] == installed_lstchain_version(run.lstchain_env) == "0.12.3"
    assert set(made_from["models"]) >= {"reg_energy.sav", "cls_gh.sav"}

    third = _dl2(run.dl1_path, cache, run, "-o", str(tmp_path / "products"))
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert "reused" in out and f"cache key {key}" in out
    linked = tmp_path / "products" / entry.name
    assert linked.stat().st_ino == entry.stat().st_ino  # a link, not a copy


def test_the_key_follows_the_dl1_file_the_models_and_the_config(lstchain_dl2_run, tmp_path: Path) -> None:
    run = lstchain_dl2_run
    env = run.lstchain_env / "bin"
    models = tmp_path / "models"
    shutil.copytree(run.models_dir, models)
    dl1 = tmp_path / run.dl1_path.name
    shutil.copy2(run.dl1_path, dl1)

    def key(**kw) -> str:
        return dl2_cache_key(kw.get("dl1", dl1), lstchain_env=env, models_dir=kw.get("models", models),
                             config=kw.get("config"))

    first = key()
    assert key() == first and key(models=run.models_dir) == first  # the models' content, not their folder
    assert key(dl1=run.dl1_path) != first  # another DL1 file
    os.utime(dl1, ns=(dl1.stat().st_atime_ns, dl1.stat().st_mtime_ns + 1_000_000_000))
    reprocessed = key()
    assert reprocessed != first  # LSTOSA rewrote it
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"disp_method": "disp_norm_sign"}))
    assert key(config=config) != reprocessed
    with open(models / "cls_gh.sav", "ab") as stream:
        stream.write(b"\0")
    assert key() != reprocessed  # retrained models


def test_link_into_replaces_an_earlier_link(tmp_path: Path) -> None:
    entry = tmp_path / "cache" / "k" / "dl2_LST-1.Run15864.h5"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"dl2")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / entry.name).write_bytes(b"an earlier attempt's")
    placed = link_into(entry, tmp_path / "out")
    assert placed.read_bytes() == b"dl2" and placed.stat().st_ino == entry.stat().st_ino
    assert [p.name for p in (tmp_path / "out").iterdir()] == [entry.name]
