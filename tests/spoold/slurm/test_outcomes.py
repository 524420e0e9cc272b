"""One test per outcome, against the real Slurm: success, exit 3, cancel, dependent of a failure."""

from __future__ import annotations

import json
import time

import pytest

from spoold.executors.base import TaskState

from tests.helpers.slurm import make_executor, run_until_final, shell_job

pytestmark = pytest.mark.slurm


def test_array_succeeds_with_results_logs_and_throttle(slurm_cluster, workdir):
    executor = make_executor(array_throttle=2)
    job = shell_job(workdir, [f"echo task {i} on $(hostname); sleep 1" for i in range(4)])
    handle = executor.submit(job)
    assert handle["job_id"] and handle["name"] == job.name
    handles = [handle]
    polls = run_until_final(executor, handles)
    statuses = polls[0].tasks
    assert [s.state for s in statuses.values()] == [TaskState.SUCCEEDED] * 4
    array = handle["job_id"]
    assert [s.job_id for s in statuses.values()] == [f"{array}_{i}" for i in range(4)]
    for i in range(4):
        assert json.loads((workdir / "results" / "dl2" / f"{i}.json").read_text())["exit_code"] == 0
        assert f"task {i} on" in (workdir / "logs" / "dl2" / f"{i}.log").read_text()
    script = (workdir / ".executor" / f"{job.name}.sh").read_text()
    assert "#SBATCH --array=0-3%2" in script and f"#SBATCH --job-name={job.name}" in script
    # Slurm's own %A_%a logs are in the request's folder
    assert sorted(p.name for p in (workdir / ".executor").glob("slurm-*.out")) == [
        f"slurm-{array}_{i}.out" for i in range(4)]
    print(f"Slurm calls in the last poll: {executor.calls_per_poll()}")
    assert executor.calls_per_poll() <= 2


def test_exit_code_3_fails_the_task_and_cancels_its_dependent(slurm_cluster, workdir):
    executor = make_executor()
    first = shell_job(workdir, ["exit 0", "echo about to fail; exit 3"], step="dl2")
    h1 = executor.submit(first)
    second = shell_job(workdir, ["echo never"], step="dl3", request_id=first.request_id, after=(h1,))
    h2 = executor.submit(second)
    script = (workdir / ".executor" / f"{second.name}.sh").read_text()
    assert f"#SBATCH --dependency=afterok:{h1['job_id']}" in script
    assert "#SBATCH --kill-on-invalid-dep=yes" in script
    polls = run_until_final(executor, [h1, h2])
    one, two = polls
    assert one.tasks[0].state == TaskState.SUCCEEDED
    assert one.tasks[1].state == TaskState.FAILED and one.tasks[1].exit_code == 3
    assert two.tasks[0].state == TaskState.CANCELLED
    assert two.tasks[0].job_id == f"{h2['job_id']}_0"  # cancelled by Slurm, not by spoold
    log = (workdir / "logs" / "dl2" / "1.log").read_text()
    assert "about to fail" in log and "exit code 3" in log  # the tail error.txt will show


def test_cancel_stops_running_and_pending_tasks(slurm_cluster, workdir):
    executor = make_executor(array_throttle=1)
    job = shell_job(workdir, ["sleep 120"] * 3)
    handles = [executor.submit(job)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        polls = executor.poll(handles)
        handles = [p.handle for p in polls]
        if polls[0].tasks[0].state == TaskState.RUNNING:
            break
        time.sleep(0.3)
    else:
        pytest.fail("the first task never started")
    executor.cancel(handles[0])
    polls = run_until_final(executor, handles, timeout=60)
    assert {s.state for s in polls[0].tasks.values()} == {TaskState.CANCELLED}
    sacct = slurm_cluster.sacct(job_ids=[handles[0]["job_id"]])
    assert sacct and all(row["State"].startswith("CANCELLED") for row in sacct)


def test_a_job_slurm_refuses_fails_with_slurms_sentence(slurm_cluster, workdir):
    executor = make_executor(partition="no-such-partition")
    handles = [executor.submit(shell_job(workdir, ["true", "true"]))]
    polls = run_until_final(executor, handles, timeout=30)
    assert {s.state for s in polls[0].tasks.values()} == {TaskState.FAILED}
    detail = polls[0].tasks[0].detail
    assert detail.startswith("Slurm refused the job") and "invalid partition" in detail.lower(), detail
    # the task's log says it too, so error.txt's log tail explains the failure
    assert "Slurm refused the job" in (workdir / "logs" / "dl2" / "0.log").read_text()
