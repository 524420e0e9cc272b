"""A simulated night's DL1 taken to DL2 by the real lstchain, as ONE Slurm job array over the
runs, then to DL3, its index and the high-level products (theta², sky map, diagnostics,
summary.json, report.html), through the real daemon with ``executor: slurm``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slurm_helpers import slurm_cluster  # noqa: F401 - fixture

pytestmark = [pytest.mark.slurm, pytest.mark.peers, pytest.mark.slow]

PEERS = Path(os.environ.get("ASTRAN_PEERS", Path.home() / ".cache" / "astran" / "peers"))
RUNS = (15864, 15865, 15866)


@pytest.fixture(scope="module")
def lstchain_models_dir(lstchain_env) -> Path:
    models = Path(os.environ.get("ASTRAN_LSTCHAIN_MODELS", PEERS / "models" / "default"))
    if not (models / "cls_gh.sav").exists():
        pytest.fail(f"no trained models in {models}: run scripts/setup-lstchain", pytrace=False)
    return models


def test_dl1_to_dl2_runs_as_one_array_with_the_real_lstchain(slurm_cluster, lstchain_env, lstchain_models_dir,
                                                           tmp_path):
    from lappana.simulate.night import simulate_night

    night = dt.date(2023, 12, 7)
    data = tmp_path / "data"
    simulate_night(data, night=night, n_runs=len(RUNS), first_run=RUNS[0], run_minutes=1.0, levels=("dl1",),
                   mc=False, irfs=True, progress=False, seed=5)
    spool = tmp_path / "spool"
    subprocess.run([sys.executable, "-m", "spoold.cli", "init", str(spool)], check=True, cwd=tmp_path,
                   capture_output=True)
    site = tmp_path / "site.yaml"
    site.write_text(
        "executor: slurm\n"
        f"lstchain: {{env: {lstchain_env / 'bin'}, models: {lstchain_models_dir}}}\n"
        "limits: {reconcile_seconds: 0.5, settle_seconds: 0.1}\n"
        'slurm: {mem: 2G, time: "00:20:00", poll_seconds: 2, poll_max_seconds: 5, array_throttle: 3}\n')
    request = ("source: Crab Nebula\nnight: 2023-12-07\n"
               f"runs: [{', '.join(map(str, RUNS))}]\nstart_from: dl1\n"
               "cuts: {gh_efficiency: 0.7, theta_containment: 0.7}\n"
               "products: [dl2, dl3, theta2, skymap, diagnostics, report]\n")
    (tmp_path / "crab.yaml").write_text(request)
    submitted = subprocess.run([sys.executable, "-m", "spoold.cli", "--spool", str(spool), "submit",
                                str(tmp_path / "crab.yaml")], check=True, cwd=tmp_path, capture_output=True,
                               text=True)
    rid = submitted.stdout.strip().split()[-1]
    done = subprocess.run([sys.executable, "-m", "spoold.daemon_cli", "--spool", str(spool), "--config", str(site),
                           "--once"], cwd=tmp_path, capture_output=True, text=True, timeout=1500)
    folders = {p.parent.name: p for p in spool.glob(f"*/{rid}")}
    assert "done" in folders, f"{folders}\n{done.stderr[-3000:]}\n{_error(folders)}"
    state = json.loads((folders["done"] / "state.json").read_text())
    dl2 = state["steps"]["dl2"]
    handle = dl2["handle"]
    assert handle["executor"] == "slurm" and len(handle["arrays"]) == 1  # one array over the runs
    assert sorted(t["job_id"] for t in dl2["tasks"].values()) == [f"{handle['job_id']}_{i}" for i in range(3)]
    script = next((folders["done"] / ".executor").glob("*.dl2.*.sh")).read_text()
    assert "#SBATCH --array=0-2%3" in script and "lstchain" in script
    for run in RUNS:
        out = folders["done"] / "dl2" / f"dl2_LST-1.Run{run:05d}.h5"
        assert out.stat().st_size > 10_000, out
        assert (folders["done"] / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz").is_file()
    # then DL3 as a second array over the runs, and the index as an array of one task
    assert len(state["steps"]["dl3"]["handle"]["tasks"]) == len(RUNS)
    assert state["steps"]["dl3"]["handle"]["executor"] == "slurm"
    assert (folders["done"] / "dl3" / "hdu-index.fits.gz").is_file()
    # then the high-level products, also run by Slurm
    assert state["steps"]["report"]["handle"]["executor"] == "slurm"
    summary = json.loads((folders["done"] / "summary.json").read_text())
    assert [run["obs_id"] for run in summary["runs"]] == list(RUNS)
    assert summary["livetime_s"] > 0.8 * 3 * 60
    assert summary["n_on"] > 0 and summary["significance"] > 3  # 3 minutes of Crab: a clear excess
    for name in ("report.html", "theta2.png", "skymap.png", "skymap.fits"):
        assert (folders["done"] / name).stat().st_size > 1000, name


def _error(folders: dict) -> str:
    for folder in folders.values():
        if (folder / "error.txt").exists():
            return (folder / "error.txt").read_text()
    return ""
