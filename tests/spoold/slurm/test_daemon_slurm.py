"""The daemon with ``executor: slurm`` (a site file), against the real Slurm: a request runs to
done with its steps as job arrays; a failing step fails the request with the log tail; spool
cancel scancels the request's jobs. The steps are the daemon tests' cheap shell steps."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

from slurm_helpers import slurm_cluster  # noqa: F401 - fixture

pytestmark = pytest.mark.slurm

SPOOLD_TESTS = Path(__file__).resolve().parents[1]


def _daemon_helpers():
    spec = importlib.util.spec_from_file_location("spoold_daemon_test_helpers", SPOOLD_TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _daemon_helpers()

SITE = """\
executor: slurm
limits: {reconcile_seconds: 0.3, settle_seconds: 0.1}
slurm: {mem: 100M, time: "00:05:00", poll_seconds: 0.5, poll_max_seconds: 2, array_throttle: 2}
"""


@pytest.fixture
def spool(tmp_path: Path, slurm_cluster) -> Path:
    # Slurm's jobs write into the spool: keep it where every node (here: this one) sees it.
    H.make_tree(tmp_path / "data")
    root = tmp_path / "spool"
    H.spool_cmd("init", str(root), cwd=tmp_path)
    (tmp_path / "site.yaml").write_text(SITE)
    return root


@pytest.fixture
def daemon(spool: Path):
    procs = []

    def start(**kwargs) -> subprocess.Popen:
        kwargs.setdefault("config", spool.parent / "site.yaml")
        proc = H.start_daemon(spool, spool.parent / "daemon.log", **kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            H.stop_daemon(proc)


def _request_id(spool: Path, name: str) -> str:
    def found():
        for state in ("pending", "running", "done", "failed", "cancelled"):
            for folder in (spool / state).iterdir():
                if (folder / "state.json").exists():
                    if json.loads((folder / "state.json").read_text()).get("incoming_name") == name:
                        return folder.name
        return None
    return H.wait_for(found, timeout=60, what=f"{name} to be claimed")


def _final(spool: Path, rid: str, timeout: float = 180) -> str:
    return H.wait_for(lambda: next((s for s in H.where(spool, rid) if s in ("done", "failed", "cancelled")), None),
                      timeout=timeout, what=f"{rid} to finish")


def test_request_runs_to_done_as_slurm_arrays(spool: Path, daemon, slurm_cluster) -> None:
    daemon()
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = _request_id(spool, "crab.yaml")
    assert _final(spool, rid) == "done", (spool.parent / "daemon.log").read_text()[-3000:]
    state = H.state_of(spool, rid)
    dl3 = state["steps"]["dl3"]
    assert dl3["handle"]["executor"] == "slurm"
    array = dl3["handle"]["job_id"]
    assert [t["job_id"] for _, t in sorted(dl3["tasks"].items())] == [f"{array}_{i}" for i in range(3)]
    rows = slurm_cluster.sacct(job_ids=[array])
    assert {r["JobName"] for r in rows} == {f"astran.{rid}.dl3.1"}
    # spool status shows the Slurm ids per run
    status = H.spool_cmd("--spool", str(spool), "status", rid, cwd=spool.parent).stdout
    assert f"{array}_0" in status, status


def test_failing_step_fails_the_request_with_the_log_tail(spool: Path, daemon) -> None:
    daemon(fail_step="index")
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = _request_id(spool, "crab.yaml")
    assert _final(spool, rid) == "failed"
    error = (spool / "failed" / rid / "error.txt").read_text()
    assert "index" in error and "exit code 3" in error, error


def test_spool_cancel_scancels_the_jobs(spool: Path, daemon, slurm_cluster) -> None:
    daemon(seconds=120)
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = _request_id(spool, "crab.yaml")
    handle = H.wait_for(lambda: (H.state_of(spool, rid).get("steps", {}).get("dl3", {}).get("handle") or {})
                        .get("job_id"), timeout=60, what="the dl3 array to be submitted")
    H.wait_for(lambda: any(r["State"] == "RUNNING" for r in slurm_cluster.squeue(job_ids=[handle])),
               timeout=60, what="a dl3 task to run")
    H.spool_cmd("--spool", str(spool), "cancel", rid, cwd=spool.parent)
    assert _final(spool, rid, timeout=60) == "cancelled"
    H.wait_for(lambda: all(r["State"] == "CANCELLED" for r in slurm_cluster.squeue(job_ids=[handle])),
               timeout=60, what="Slurm to cancel the array")


def test_daemon_killed_right_after_sbatch_never_submits_twice(spool: Path, daemon, slurm_cluster, monkeypatch,
                                                              tmp_path: Path) -> None:
    """An sbatch wrapper SIGKILLs the daemon as soon as the real sbatch has answered (once):
    the restarted daemon finds the array by its job name and does not submit it again."""
    wrappers = tmp_path / "bin"
    wrappers.mkdir()
    marker = tmp_path / "killed-once"
    real = subprocess.run(["which", "sbatch"], capture_output=True, text=True, check=True).stdout.strip()
    (wrappers / "sbatch").write_text(
        "#!/bin/sh\n"
        f'out="$({real} "$@")" || exit $?\n'
        'echo "$out"\n'
        f'if [ ! -e {marker} ]; then touch {marker}; kill -9 $PPID; fi\n')
    (wrappers / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrappers}:{os.environ['PATH']}")
    first = daemon()
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = _request_id(spool, "crab.yaml")
    H.wait_for(lambda: first.poll() is not None, timeout=60, what="the daemon to be killed after sbatch")
    assert first.returncode == -9
    name = f"astran.{rid}.dl3.1"
    assert len({r["JobID"].split("_")[0] for r in slurm_cluster.squeue(names=[name])}) == 1
    daemon()
    assert _final(spool, rid) == "done", (spool.parent / "daemon.log").read_text()[-3000:]
    arrays = {r["JobID"].split("_")[0] for r in slurm_cluster.squeue(names=[name])}
    state = H.state_of(spool, rid)
    assert arrays == {state["steps"]["dl3"]["handle"]["job_id"]}  # exactly one array, the one re-attached
    assert "re-attached" in (spool / "done" / rid / "log").read_text()
