"""The demo night end to end on the real Slurm: ``scripts/demo --executor slurm`` itself, run in a
temporary folder, checked from the outside.

The demo simulates 3 runs of the Crab (here 3 min each, ``DEMO_MINUTES``: its default 4 min gave
8.6 σ on 3 Dec 2026, docs/simulate.md, so 3 min expect ~7.4 σ, safely above the 5 checked), submits a request from DL1 to the high-level
products and runs the daemon with ``executor: slurm``. Checked here: the request ends in
``spool/done``; Slurm's accounting shows DL1→DL2 as ONE array job with tasks ``_0.._2``, all
COMPLETED, and DL3, the index and the report as Slurm jobs too; the DL2 files were written by the
real ``lstchain_dl1_to_dl2`` (its provenance log); the DL3 carries the IRFs made for those models;
the demo printed the jobs while they ran; gammapy opens the DL3; ``summary.json`` says a detection.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.slurm import REPO
from tests.helpers.spool import spool_cmd

pytestmark = [pytest.mark.slurm, pytest.mark.peers, pytest.mark.slow]

RUNS = (15864, 15865, 15866)  # the simulator's first runs of the night
RUN_MINUTES = 3  # the demo's default is 4: a quarter of the suite's longest setup saved


@pytest.fixture(scope="module")
def demo(slurm_cluster, lstchain_env, gammapy_python, tmp_path_factory) -> dict:
    """Run ``scripts/demo --executor slurm`` in a fresh folder; its output, folder and request."""
    folder = tmp_path_factory.mktemp("demo-slurm")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    env["DEMO_DIR"] = str(folder)
    env["DEMO_MINUTES"] = str(RUN_MINUTES)
    ran = subprocess.run([str(REPO / "scripts" / "demo"), "--executor", "slurm"], env=env, cwd=folder,
                         capture_output=True, text=True, timeout=1500)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-5000:]
    done = sorted((folder / "spool" / "done").iterdir())
    assert len(done) == 1, f"{done}\n{output[-3000:]}"
    return {"folder": folder, "output": output, "stdout": ran.stdout, "request": done[0]}


def _jobs_of(request_id: str, expected_steps: set[str], timeout: float = 30.0) -> list[dict]:
    """sacct's rows (one per array task, with its ``step``) of the request's jobs, once every expected
    step shows or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:  # sacct lags squeue by a few seconds
        out = subprocess.run(["sacct", "-X", "-P", "-n", "-S", "now-1days", "-o", "JobID,JobName,State,ExitCode"],
                             capture_output=True, text=True, check=True).stdout
        prefix = f"astran.{request_id}."  # job names are astran.<request>.<step>.<attempt>[.<chunk>]
        rows = [dict(zip(("job_id", "name", "state", "exit_code"), line.split("|")))
                for line in out.splitlines() if f"|{prefix}" in line]
        for row in rows:
            row["step"] = row["name"][len(prefix):].split(".")[0]
        steps = {row["step"] for row in rows}
        if expected_steps <= steps or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def _cache_entries(state: dict) -> list[Path]:
    """The DL2 cache's files a request's dl3 step read, in run order."""
    return [Path(t["argv"][t["argv"].index("dl3") + 1])  # lappana dl3 DL2 ...
            for _, t in sorted(state["steps"]["dl3"]["handle"]["tasks"].items(), key=lambda kv: int(kv[0]))]


def test_the_demo_night_ends_in_done(demo):
    state = json.loads((demo["request"] / "state.json").read_text())
    assert state["state"] == "done" and state["runs"] == list(RUNS)
    assert not (demo["request"] / "dl2").exists()  # the demo does not ask for dl2: it stays in the cache
    cache = demo["folder"] / "spool" / "cache" / "dl2"
    for run, dl2 in zip(RUNS, _cache_entries(state)):
        assert dl2.is_relative_to(cache) and dl2.name == f"dl2_LST-1.Run{run:05d}.h5"
        assert dl2.stat().st_size > 100_000
        assert (demo["request"] / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz").is_file()
    assert (demo["request"] / "dl3" / "hdu-index.fits.gz").is_file()
    site = (demo["folder"] / "spool" / "site-slurm.yaml").read_text()
    assert "executor: slurm" in site


def test_dl1_to_dl2_is_one_slurm_array_over_the_runs(demo):
    rid = demo["request"].name
    rows = _jobs_of(rid, {"dl2", "dl3", "index", "report"})
    dl2 = [row for row in rows if row["step"] == "dl2"]
    array_ids = {row["job_id"].split("_")[0] for row in dl2}
    assert len(array_ids) == 1, dl2  # one sbatch, one array job
    (array_id,) = array_ids
    assert sorted(row["job_id"] for row in dl2) == [f"{array_id}_{i}" for i in range(len(RUNS))]
    assert {(row["state"], row["exit_code"]) for row in dl2} == {("COMPLETED", "0:0")}
    # the daemon's record names the same Slurm tasks
    state = json.loads((demo["request"] / "state.json").read_text())
    assert sorted(t["job_id"] for t in state["steps"]["dl2"]["tasks"].values()) == sorted(r["job_id"] for r in dl2)


def test_dl3_index_and_report_ran_as_slurm_jobs(demo):
    rows = _jobs_of(demo["request"].name, {"dl2", "dl3", "index", "report"})
    by_step: dict[str, list[dict]] = {}
    for row in rows:
        by_step.setdefault(row["step"], []).append(row)
    assert sorted(by_step) == ["dl2", "dl3", "index", "report"], rows
    assert len(by_step["dl3"]) == len(RUNS) and len({r["job_id"].split("_")[0] for r in by_step["dl3"]}) == 1
    assert len(by_step["index"]) == 1 and len(by_step["report"]) == 1
    assert all(row["state"] == "COMPLETED" for row in rows), rows


def test_dl3_carries_the_irfs_lstchain_made_for_the_models(demo):
    """The request starts from DL1, so its DL2 comes from the site's models and its IRFs must be
    the ones made for them (scripts/setup-lstchain: lstchain_create_irf_files, written by pyirf),
    not the simulator's."""
    from astropy.io import fits

    state = json.loads((demo["request"] / "state.json").read_text())
    argv = state["steps"]["dl3"]["handle"]["tasks"]["0"]["argv"]
    irf = Path(argv[argv.index("--irf") + 1])
    assert irf.parent.name == "IRF" and (irf.parent.parent / ".astran-trained").is_file(), irf
    for run in RUNS:
        with fits.open(demo["request"] / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz") as hdus:
            assert hdus["EFFECTIVE AREA"].header["CREATOR"].startswith("pyirf"), run
            assert hdus["EFFECTIVE AREA"].header["GH_EFF"] == 0.7


def _predicted_counts_per_s(hdus, flux_scale: float, e_min_tev: float, e_max_tev: float) -> float:
    """Σ over true-energy bins of ∫ flux · A_eff dE × P(e_min ≤ E_reco < e_max | E_true), from the file's
    EFFECTIVE AREA and ENERGY DISPERSION (first offset bin, the wobble offset: point-like IRFs)."""
    from lappana.simulate import model

    aeff = hdus["EFFECTIVE AREA"].data
    n_energy = aeff["ENERG_LO"][0].size
    area_m2 = np.asarray(aeff["EFFAREA"][0], dtype=float).reshape(-1, n_energy)[0]
    edisp = hdus["ENERGY DISPERSION"].data
    migra_lo, migra_hi = np.asarray(edisp["MIGRA_LO"][0], float), np.asarray(edisp["MIGRA_HI"][0], float)
    matrix = np.asarray(edisp["MATRIX"][0], dtype=float).reshape(-1, migra_lo.size, edisp["ENERG_LO"][0].size)[0]
    total = 0.0
    for i, (low, high, area) in enumerate(zip(aeff["ENERG_LO"][0], aeff["ENERG_HI"][0], area_m2)):
        j = int(np.searchsorted(edisp["ENERG_LO"][0], np.sqrt(low * high), side="right") - 1)
        energy = np.geomspace(low, high, 64)
        reco_lo, reco_hi = np.outer(energy, migra_lo), np.outer(energy, migra_hi)
        # the part of each migration bin inside the band, in log of reconstructed energy
        inside = np.clip((np.log(np.minimum(reco_hi, e_max_tev)) - np.log(np.maximum(reco_lo, e_min_tev)))
                         / np.log(reco_hi / reco_lo), 0.0, 1.0)
        p_band = inside @ (matrix[:, j] * (migra_hi - migra_lo))
        total += np.trapezoid(flux_scale * model.crab_flux(energy) * p_band, energy) * area * 1e4  # cm²
    return total


def test_the_excess_is_what_the_irfs_predict_for_the_simulated_crab(demo):
    """Forward folding: Σ over runs of livetime × ∫ flux(E) · A_eff(E) · P(E_reco in the band | E) dE, with
    the simulator's Crab flux and each DL3 file's effective area and energy dispersion (cuts included),
    predicts the excess the report measured in its energy band with the same cuts, within 3 of the
    excess' own standard deviations and 10 % of the IRFs' systematics. (The simulator's own IRFs, made
    for its gammaness and θ and not for the models', predicted about half the excess on the 8-minute
    night at all energies.)"""
    from astropy.io import fits

    truth = json.loads((demo["folder"] / "data" / "simulation.json").read_text())
    flux_scale = truth["parameters"]["source_flux_crab"]
    summary = json.loads((demo["request"] / "summary.json").read_text())
    e_min, e_max = summary["energy_range_tev"] or (0.0, 1e4)
    predicted = 0.0
    for run in summary["runs"]:
        with fits.open(demo["request"] / "dl3" / f"dl3_LST-1.Run{run['obs_id']:05d}.fits.gz") as hdus:
            predicted += _predicted_counts_per_s(hdus, flux_scale, max(e_min, 1e-6), e_max) * run["livetime_s"]
    print(f"excess {summary['excess']:.0f} ± {summary['excess_error']:.0f} in {e_min:g}-{e_max:g} TeV, "
          f"predicted {predicted:.0f}: {summary['excess'] / predicted:.3f}")
    assert abs(summary["excess"] - predicted) < 3.0 * summary["excess_error"] + 0.1 * predicted


def test_dl2_was_written_by_the_real_lstchain(demo, lstchain_env):
    from lappana.dl2_cache import models_digest

    state = json.loads((demo["request"] / "state.json").read_text())
    for dl2 in _cache_entries(state):
        log = dl2.with_suffix(".provenance.log")
        (activity,) = json.loads(log.read_text())  # lstchain's own provenance record
        assert (activity["activity_name"], activity["status"]) == ("lstchain_dl1_to_dl2", "completed")
        assert Path(activity["system"]["executable"]).parent == lstchain_env / "bin"
    # and summary.json says so: lstchain's environment and version, the models and their content, the DL2 files
    summary = json.loads((demo["request"] / "summary.json").read_text())
    provenance = summary["provenance"]
    assert Path(provenance["lstchain_env"]) == lstchain_env and summary["tools"]["lstchain"] == "0.12.3"
    assert provenance["models_sha256"] == models_digest(provenance["models"])
    assert [provenance["dl2_cache"][str(run)] for run in RUNS] == [str(p) for p in _cache_entries(state)]


def test_the_demo_shows_the_jobs_while_they_run(demo):
    shown = re.findall(r"slurm job (\d+)_(\d)  dl2\.1  (\w+)", demo["output"])
    assert {(task, state) for _, task, state in shown} >= {(str(i), "COMPLETED") for i in range(len(RUNS))}
    assert "Slurm accounting of the request's jobs (sacct):" in demo["stdout"]


def test_gammapy_opens_the_dl3_and_the_summary_says_a_detection(demo):
    opened = re.search(r"gammapy 2\.1 opens the DL3: (\d+) observations, live time ([\d.]+) min", demo["stdout"])
    assert opened, demo["stdout"][-2000:]
    assert int(opened[1]) == len(RUNS)
    assert float(opened[2]) > 0.8 * len(RUNS) * RUN_MINUTES
    assert "-- a detection" in demo["stdout"]
    summary = json.loads((demo["request"] / "summary.json").read_text())
    assert [run["obs_id"] for run in summary["runs"]] == list(RUNS)
    assert summary["livetime_s"] > 0.8 * len(RUNS) * RUN_MINUTES * 60
    assert summary["n_on"] > 0 and summary["significance"] >= 5
    for name in ("report.html", "theta2.png", "skymap.png", "skymap.fits"):
        assert (demo["request"] / name).stat().st_size > 1000, name


# -- DL2 made once (issue 15, point 6) ----------------------------------------------------------------------
TWICE_REQUEST = """source: Crab Nebula
night: 2023-12-07
start_from: dl1
cuts: {{gh_efficiency: 0.7, theta_containment: 0.7}}
products: [{products}]
"""


@pytest.fixture(scope="module")
def twice(demo) -> dict:
    """Two requests for the demo's 3 runs submitted together, on the demo's spool with an empty DL2 cache
    (a site file naming another ``lstchain.dl2_cache``), one asking for dl3, the other for dl2 and dl3;
    one ``spoold --once`` on the real Slurm. Their ids and that site file."""
    import yaml

    folder = demo["folder"]
    site = yaml.safe_load((folder / "spool" / "site-slurm.yaml").read_text())
    site["lstchain"]["dl2_cache"] = str(folder / "cache-twice")
    site_file = folder / "site-twice.yaml"
    site_file.write_text(yaml.safe_dump(site))
    ids = {}
    for products in ("dl3", "dl2, dl3"):
        request = folder / f"twice-{len(ids)}.yaml"
        request.write_text(TWICE_REQUEST.format(products=products))
        ids[products] = spool_cmd("submit", str(request), "--config", str(site_file), cwd=folder).stdout.strip()
    ran = subprocess.run([str(REPO / ".venv" / "bin" / "spoold"), "--config", str(site_file), "--once"],
                         capture_output=True, text=True, timeout=1200, cwd=folder)
    assert ran.returncode == 0, ran.stderr[-3000:]
    requests = {products: folder / "spool" / "done" / rid for products, rid in ids.items()}
    for products, request in requests.items():
        assert request.is_dir(), spool_cmd("status", ids[products], "--config", str(site_file), cwd=folder,
                                           check=False).stdout
    return {"ids": ids, "requests": requests, "cache": folder / "cache-twice"}


def test_two_requests_for_the_same_3_runs_make_3_dl2_tasks_not_6(twice):
    states = {p: json.loads((r / "state.json").read_text()) for p, r in twice["requests"].items()}
    rows = {p: [row for row in _jobs_of(twice["ids"][p], {"dl3", "index"}) if row["step"] == "dl2"]
            for p in states}
    print({p: [(r["job_id"], r["state"]) for r in rs] for p, rs in rows.items()})
    assert sum(len(rs) for rs in rows.values()) == len(RUNS), rows  # in sacct: 3 dl1→dl2 tasks, not 6
    (maker,) = [p for p in rows if rows[p]]
    (other,) = [p for p in rows if p != maker]
    assert {(row["state"], row["exit_code"]) for row in rows[maker]} == {("COMPLETED", "0:0")}
    assert states[maker]["steps"]["dl2"]["status"] == "done"
    assert states[other]["steps"]["dl2"]["status"] == "skipped"
    assert "is in the DL2 cache" in states[other]["steps"]["dl2"]["note"]
    # the second waited on the first's tasks instead of submitting its own
    log = (twice["requests"][other] / "log").read_text()
    assert f"step dl2: waiting for request {twice['ids'][maker]} (runs 15864, 15865, 15866)" in log, log
    assert _cache_entries(states[maker]) == _cache_entries(states[other])
    for run in RUNS:  # both made their DL3
        for request in twice["requests"].values():
            assert (request / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz").stat().st_size > 0


def test_dl2_is_in_a_request_folder_only_when_asked_for_as_links(twice):
    assert not (twice["requests"]["dl3"] / "dl2").exists()
    state = json.loads((twice["requests"]["dl2, dl3"] / "state.json").read_text())
    for entry in _cache_entries(state):
        assert entry.is_relative_to(twice["cache"])
        for name in (entry.name, entry.with_suffix(".provenance.log").name):  # the same files, not copies
            assert os.path.samefile(twice["requests"]["dl2, dl3"] / "dl2" / name, entry.parent / name)
