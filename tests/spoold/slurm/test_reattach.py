"""A daemon killed between sbatch and recording the handle finds its jobs by name and never
submits twice; also the split above MaxArraySize and the cap on jobs in flight."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spoold.executors.base import StepJob, TaskState

from tests.helpers.slurm import make_executor, run_until_final, shell_job

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[3]


def _jobs_named(commands, name: str) -> set[str]:
    rows = commands.squeue(names=[name]) + commands.sacct(names=[name])
    return {row["JobID"].split("_", 1)[0] for row in rows}


def test_killed_right_after_sbatch_reattaches_without_a_duplicate(slurm_cluster, workdir):
    job = shell_job(workdir, ["sleep 3; echo one", "sleep 3; echo two"])
    # A daemon process that submits and is killed (SIGKILL) as soon as sbatch has answered,
    # before it could record anything.
    program = textwrap.dedent(f"""
        import os, pickle, sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.helpers.slurm import make_executor
        from spoold.executors.slurm import commands
        job = pickle.loads(bytes.fromhex({_pickle_hex(job)!r}))
        real = commands.SlurmCommands.sbatch
        def sbatch_then_die(self, script):
            real(self, script)
            os.kill(os.getpid(), 9)
        commands.SlurmCommands.sbatch = sbatch_then_die
        make_executor().submit(job)
    """)
    died = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert died.returncode == -9, died.stderr
    # The restarted daemon: find() before submit(), as spoold.executors.base asks.
    executor = make_executor()
    handle = executor.find(job)
    assert handle is not None, "the submitted array was not found by its name"
    assert _jobs_named(slurm_cluster, job.name) == {handle["job_id"]}
    polls = run_until_final(executor, [handle])
    assert {s.state for s in polls[0].tasks.values()} == {TaskState.SUCCEEDED}
    assert _jobs_named(slurm_cluster, job.name) == {handle["job_id"]}  # still exactly one array


def test_find_returns_none_for_a_step_never_submitted(slurm_cluster, workdir):
    assert make_executor().find(shell_job(workdir, ["true"])) is None


def test_arrays_above_max_array_size_are_split(slurm_cluster, workdir):
    executor = make_executor(max_array_size=2)
    job = shell_job(workdir, [f"echo {i}" for i in range(5)])
    handle = executor.submit(job)
    assert len(handle["arrays"]) == 3  # 2 + 2 + 1
    scripts = sorted((workdir / ".executor").glob("*.sh"), key=lambda p: (len(p.name), p.name))
    assert [p.name for p in scripts] == [f"{job.name}.sh", f"{job.name}.1.sh", f"{job.name}.2.sh"]
    assert "#SBATCH --array=0-1%10" in scripts[0].read_text()
    assert "#SBATCH --array=0\n" in scripts[2].read_text()
    handles = [handle]
    polls = run_until_final(executor, handles)
    assert [s.state for s in polls[0].tasks.values()] == [TaskState.SUCCEEDED] * 5
    for i in range(5):
        assert json.loads((workdir / "results" / "dl2" / f"{i}.json").read_text())["argv"][-1] == f"echo {i}"
    # a restarted daemon finds all three chunks
    found = make_executor(max_array_size=2).find(job)
    assert found is not None and found["arrays"] == handles[0]["arrays"]


def test_cap_on_jobs_in_flight_defers_a_step_until_room(slurm_cluster, workdir):
    executor = make_executor(max_jobs_in_flight=3)
    first = executor.submit(shell_job(workdir, ["sleep 4"] * 3, step="dl2"))
    second_job = shell_job(workdir, ["true"] * 2, step="dl3")
    second = executor.submit(second_job)
    assert first["job_id"] and second["job_id"] is None and "in flight" in second["deferred"]
    handles = [first, second]
    polls = executor.poll(handles)
    assert polls[1].tasks[0].state == TaskState.QUEUED and "in flight" in polls[1].tasks[0].detail
    polls = run_until_final(executor, handles, timeout=120)
    assert all(s.state == TaskState.SUCCEEDED for p in polls for s in p.tasks.values())
    assert handles[1]["job_id"] is not None


def _pickle_hex(job: StepJob) -> str:
    import pickle
    return pickle.dumps(job).hex()
