"""Trouble on the cluster, against the real Slurm: a time limit, a node set down and
resumed mid-run, slurmctld stopped for 30 s mid-run."""

from __future__ import annotations

import subprocess
import time

import pytest

from spoold.executors.base import TaskState

from tests.helpers.slurm import make_executor, run_until_final, shell_job, slurm_up, stop_slurm_daemon

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _wait_running(executor, handles, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polls = executor.poll(handles)
        handles[:] = [p.handle for p in polls]
        running = [s for p in polls for s in p.tasks.values() if s.state == TaskState.RUNNING]
        if len(running) >= count:
            return
        time.sleep(0.3)
    pytest.fail(f"{count} tasks were not running within {timeout} s")


def test_time_limit_is_a_permanent_failure(slurm_cluster, workdir):
    """--time=1 is enforced every ~30 s: this test takes 60-90 s."""
    executor = make_executor(time="00:01:00")
    job = shell_job(workdir, ["echo started; sleep 300"])
    handles = [executor.submit(job)]
    polls = run_until_final(executor, handles, timeout=240)
    status = polls[0].tasks[0]
    assert status.state == TaskState.FAILED and status.detail.startswith("TIMEOUT")
    log = (workdir / "logs" / "dl2" / "0.log").read_text()
    assert "started" in log and "TIMEOUT" in log  # error.txt's log tail says what happened


def test_node_down_mid_run_is_retried_after_resume(slurm_cluster, workdir):
    node = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
    executor = make_executor(array_throttle=4)
    marker = workdir / "partial.out"
    job = shell_job(workdir, [f"echo partial >> {marker}; sleep 15; echo done {i}" for i in range(2)])
    handles = [executor.submit(job)]
    _wait_running(executor, handles, 2)
    first_array = handles[0]["job_id"]
    slurm_cluster.control("update", f"nodename={node}", "state=down", "reason=astran-test")
    try:
        deadline = time.monotonic() + 60
        retried = False
        while time.monotonic() < deadline and not retried:
            polls = executor.poll(handles)
            handles[:] = [p.handle for p in polls]
            retried = all(t["retries"] == 1 for t in handles[0]["tasks"].values())
            time.sleep(0.5)
        assert retried, handles[0]["tasks"]
    finally:
        slurm_cluster.control("update", f"nodename={node}", "state=resume")
    polls = run_until_final(executor, handles, timeout=120)
    assert {s.state for s in polls[0].tasks.values()} == {TaskState.SUCCEEDED}
    tasks = handles[0]["tasks"].values()
    assert all(t["history"][0]["state"] == "NODE_FAIL" for t in tasks)
    assert all(t["history"][0]["job_id"].startswith(f"{first_array}_") for t in tasks)
    assert {t["job_id"] for t in tasks} != {first_array}  # a new array ran them
    # the failed try's log is kept aside, the new one is clean
    assert (workdir / "logs" / "dl2" / "0.log.try1").exists()
    assert "done 0" in (workdir / "logs" / "dl2" / "0.log").read_text()


@pytest.mark.parametrize("daemons", [("slurmctld",), ("slurmdbd", "slurmctld")], ids=["slurmctld", "both"])
def test_outage_mid_run_is_waited_out(slurm_cluster, workdir, daemons):
    """slurmctld (and then slurmdbd too) stopped for 30 s while tasks run: they complete."""
    executor = make_executor(poll_seconds=1.0, poll_max_seconds=4.0)
    job = shell_job(workdir, [f"sleep 20; echo finished {i}" for i in range(2)])
    handles = [executor.submit(job)]
    _wait_running(executor, handles, 2)
    for name in daemons:
        stop_slurm_daemon(name)
    outages = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            polls = executor.poll(handles)
            handles[:] = [p.handle for p in polls]
            outages += executor.last_poll is not None and executor.last_poll.outage is not None
            for status in polls[0].tasks.values():
                assert not status.state.final or status.state == TaskState.SUCCEEDED, status
            time.sleep(1.0)
    finally:
        slurm_up()
    polls = run_until_final(executor, handles, timeout=180)
    assert {s.state for s in polls[0].tasks.values()} == {TaskState.SUCCEEDED}
    print(f"polls that met an outage: {outages}")
    if "slurmdbd" in daemons:
        assert outages >= 1


def test_out_of_memory_is_retried_with_more_memory(slurm_cluster, workdir):
    """slurm-up enforces --mem (OverMemoryKill): a task that needs ~250 MB under --mem=100M
    is killed, recognised as OUT_OF_MEMORY, and resubmitted with 200M, then 400M."""
    executor = make_executor(mem="100M", retry_states=["OUT_OF_MEMORY"], max_retries=2, mem_factor_on_oom=2.0)
    grab = ('python3 -c "import time; x = bytearray(250 * 2**20); '
            'x[::4096] = b\\"x\\" * len(x[::4096]); time.sleep(8)"; echo survived')
    handles = [executor.submit(shell_job(workdir, [grab]))]
    polls = run_until_final(executor, handles, timeout=240)
    status, task = polls[0].tasks[0], handles[0]["tasks"]["0"]
    assert status.state == TaskState.SUCCEEDED, (status, task["history"])
    assert [h["state"] for h in task["history"]] == ["OUT_OF_MEMORY", "OUT_OF_MEMORY"]
    assert task["mem"] == "400M"
    assert "--mem=400M" in (workdir / ".executor" / f"{handles[0]['name']}.2.sh").read_text()
    assert "survived" in (workdir / "logs" / "dl2" / "0.log").read_text()


def test_a_retried_task_starts_without_the_first_tries_partial_outputs(slurm_cluster, workdir):
    """The first try writes half its output and runs out of memory; the retry refuses an existing
    output, as lstchain and lappana do, so it succeeds only if the executor removed the partial one."""
    out, first_try = workdir / "products" / "dl2_LST-1.Run15864.h5", workdir / "first-try"
    executor = make_executor(mem="100M", retry_states=["OUT_OF_MEMORY"], max_retries=1)
    script = (f'[ -e {out} ] && {{ echo "{out} exists already"; exit 9; }}; mkdir -p {out.parent}; '
              f'echo half > {out}; if [ ! -e {first_try} ]; then touch {first_try}; '
              'python3 -c "import time; x = bytearray(250 * 2**20); x[::4096] = b\\"x\\" * len(x[::4096]); '
              f'time.sleep(8)"; fi; echo whole > {out}')
    handles = [executor.submit(shell_job(workdir, [script], outputs=[(out,)]))]
    polls = run_until_final(executor, handles, timeout=240)
    status, task = polls[0].tasks[0], handles[0]["tasks"]["0"]
    log = (workdir / "logs" / "dl2" / "0.log").read_text()
    assert status.state == TaskState.SUCCEEDED, (status, task["history"], log)
    assert [h["state"] for h in task["history"]] == ["OUT_OF_MEMORY"], (task, log, sorted(workdir.rglob("*")))
    assert out.read_text() == "whole\n"


def test_dependent_step_survives_a_retry_of_its_upstream(slurm_cluster, workdir):
    """dl3 waits on dl2 (afterok); a dl2 task runs out of memory once, so Slurm cancels dl3
    (kill-on-invalid-dep). The executor resubmits dl3 once dl2's retry has succeeded."""
    executor = make_executor(mem="100M", retry_states=["OUT_OF_MEMORY"], max_retries=1)
    grab = ('python3 -c "import time; x = bytearray(150 * 2**20); '
            'x[::4096] = b\\"x\\" * len(x[::4096]); time.sleep(6)"')
    first = shell_job(workdir, ["true", grab], step="dl2")
    h1 = executor.submit(first)
    h2 = executor.submit(shell_job(workdir, ["echo dl3 ran"], step="dl3", request_id=first.request_id, after=(h1,)))
    handles = [h1, h2]
    polls = run_until_final(executor, handles, timeout=240)
    assert all(s.state == TaskState.SUCCEEDED for p in polls for s in p.tasks.values()), [
        (p.handle["name"], {i: (s.state.value, s.detail) for i, s in p.tasks.items()}) for p in polls]
    assert [h["state"] for h in handles[0]["tasks"]["1"]["history"]] == ["OUT_OF_MEMORY"]
    dl3_history = handles[1]["tasks"]["0"]["history"]
    assert [h["state"] for h in dl3_history] == ["CANCELLED"]  # killed by Slurm, then resubmitted
    assert "dl3 ran" in (workdir / "logs" / "dl3" / "0.log").read_text()


def test_submission_during_an_outage_waits_and_goes_once(slurm_cluster, workdir):
    """sbatch meets a stopped slurmctld: the step is deferred (no failure), other submissions
    do not hammer Slurm, and after the restart it is submitted exactly once."""
    executor = make_executor(poll_seconds=1.0, poll_max_seconds=3.0)
    stop_slurm_daemon("slurmctld")
    try:
        first = shell_job(workdir, ["echo one"], step="dl2")
        second = shell_job(workdir, ["echo two"], step="dl3", request_id=first.request_id)
        handles = [executor.submit(first), executor.submit(second)]
        assert handles[0]["job_id"] is None and "waiting for Slurm" in handles[0]["deferred"]
        assert executor.commands.calls["sbatch"] == 1  # the second one did not try
        polls = executor.poll(handles)
        handles = [p.handle for p in polls]
        assert all(s.state == TaskState.QUEUED for p in polls for s in p.tasks.values())
    finally:
        slurm_up()
    polls = run_until_final(executor, handles, timeout=120)
    assert all(s.state == TaskState.SUCCEEDED for p in polls for s in p.tasks.values())
    for handle in handles:
        rows = slurm_cluster.squeue(names=[handle["name"]])
        assert {r["JobID"].split("_")[0] for r in rows} == {handle["job_id"]}
