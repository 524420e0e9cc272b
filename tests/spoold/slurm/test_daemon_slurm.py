"""The daemon with ``executor: slurm`` (a site file), against the real Slurm: a request runs to
done with its steps as job arrays; a failing step fails the request with the log tail; spool
cancel scancels the request's jobs. The steps are the daemon tests' cheap shell steps."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import spool as H
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slurm


def test_request_runs_to_done_as_slurm_arrays(spool: Path, daemon, slurm_cluster) -> None:
    daemon()
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = H.request_id_of(spool, "crab.yaml")
    assert H.terminal(spool, rid, timeout=180) == "done", (spool.parent / "daemon.log").read_text()[-3000:]
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
    rid = H.request_id_of(spool, "crab.yaml")
    assert H.terminal(spool, rid, timeout=180) == "failed"
    error = (spool / "failed" / rid / "error.txt").read_text()
    assert "index" in error and "exit code 3" in error, error


def test_spool_cancel_scancels_the_jobs(spool: Path, daemon, slurm_cluster) -> None:
    daemon(seconds=120)
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = H.request_id_of(spool, "crab.yaml")
    handle = wait_for(lambda: (H.state_of(spool, rid).get("steps", {}).get("dl3", {}).get("handle") or {})
                        .get("job_id"), timeout=60, what="the dl3 array to be submitted")
    wait_for(lambda: any(r["State"] == "RUNNING" for r in slurm_cluster.squeue(job_ids=[handle])),
               timeout=60, what="a dl3 task to run")
    H.spool_cmd("--spool", str(spool), "cancel", rid, cwd=spool.parent)
    assert H.terminal(spool, rid, timeout=60) == "cancelled"
    wait_for(lambda: all(r["State"] == "CANCELLED" for r in slurm_cluster.squeue(job_ids=[handle])),
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
    rid = H.request_id_of(spool, "crab.yaml")
    wait_for(lambda: first.poll() is not None, timeout=60, what="the daemon to be killed after sbatch")
    assert first.returncode == -9
    name = f"astran.{rid}.dl3.1"
    assert len({r["JobID"].split("_")[0] for r in slurm_cluster.squeue(names=[name])}) == 1
    daemon()
    assert H.terminal(spool, rid, timeout=180) == "done", (spool.parent / "daemon.log").read_text()[-3000:]
    arrays = {r["JobID"].split("_")[0] for r in slurm_cluster.squeue(names=[name])}
    state = H.state_of(spool, rid)
    assert arrays == {state["steps"]["dl3"]["handle"]["job_id"]}  # exactly one array, the one re-attached
    assert "re-attached" in (spool / "done" / rid / "log").read_text()
