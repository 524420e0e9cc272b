"""The generated batch script (pinned by a golden file) and the pure pieces of the Slurm
executor: names, array splitting, resources, sacct parsing, the state map, back-off.
None of these needs a running Slurm."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spoold.executors.base import Resources as StepResources, StepJob, Task
from spoold.executors.slurm.commands import SlurmCommands, is_outage
from spoold.executors.slurm.monitor import (
    FAILED_STATES, LIVE_STATES, Poller, expand_indices, is_live, normalise_state, parse_rows)
from spoold.executors.slurm.retry import RetryPolicy, clean_for_retry
from spoold.executors.slurm.sbatch import Resources, array_chunks, memory_mb, submission_name

from tests.helpers.slurm import make_executor

GOLDEN = Path(__file__).resolve().parent / "golden"


def _demo_job() -> StepJob:
    req = Path("/spool/running/20231208T081500-crab-7f3a")
    env = "/opt/lstchain-0.12.3/bin"
    tasks = tuple(
        Task(index=i, label=f"run {run}",
             argv=(f"{env}/lstchain_dl1_to_dl2", "--input-file", f"/data/DL1/20231207/dl1_LST-1.Run{run:05d}.h5",
                   "--path-models", "/opt/models/default", "--output-dir", str(req / "dl2")),
             result_file=req / "logs" / "dl2" / f"run{run}.result.json",
             log_file=req / "logs" / "dl2" / f"run{run}.log")
        for i, run in enumerate((15864, 15865, 15866)))
    return StepJob(request_id="20231208T081500-crab-7f3a", step="dl2", attempt=1, tasks=tasks, workdir=req,
                   resources=StepResources(mem="8G", partition="short", extra=("--constraint=ssd",)),
                   env={"OMP_NUM_THREADS": "1"}, submitter="analyst")


def test_batch_script_matches_the_golden_file():
    executor = make_executor(commands=SlurmCommands(prefix=("false",)), max_array_size=1001,
                             python="/opt/astran/bin/python", mem="4G", time="01:00:00", account="aswg",
                             array_throttle=10)
    job = _demo_job()
    handle = executor.new_handle(job)
    script = executor.batch_script(handle, [0, 1, 2], dependency=["4711"]).render()
    golden = GOLDEN / "dl2_array.sh"
    if os.environ.get("ASTRAN_UPDATE_GOLDEN") == "1":
        golden.write_text(script)
    assert script == golden.read_text(), "the batch script changed: check it, then ASTRAN_UPDATE_GOLDEN=1"


def test_submission_names_and_chunks():
    assert submission_name("astran.r1.dl2.1", 0) == "astran.r1.dl2.1"
    assert submission_name("astran.r1.dl2.1", 2) == "astran.r1.dl2.1.2"
    with pytest.raises(ValueError):
        submission_name("has space", 0)
    assert array_chunks(5, 2) == [(0, 2), (2, 2), (4, 1)]
    assert array_chunks(3, 1001) == [(0, 3)]
    with pytest.raises(ValueError):
        array_chunks(0, 10)


def test_resources_are_overridden_per_request_and_grow_on_oom():
    site = Resources(partition="long", time="01:00:00", mem="4G", extra=("--exclusive",))
    mine = site.overridden(StepResources(mem="6G", qos="high", extra=("--constraint=ssd",)))
    assert (mine.partition, mine.mem, mine.qos, mine.time) == ("long", "6G", "high", "01:00:00")
    assert mine.extra == ("--constraint=ssd",)  # the daemon passes the site's and the request's together
    assert site.overridden(StepResources(mem="6G")).extra == ("--exclusive",)
    assert site.overridden({"cpus_per_task": 4}).cpus_per_task == 4
    assert memory_mb("4G") == 4096 and memory_mb("512M") == 512 and memory_mb("2048") == 2048
    assert mine.with_memory_factor(2.0).mem == "12288M"
    with pytest.raises(ValueError):
        memory_mb("four gigs")


def test_sacct_rows_of_arrays_become_task_states():
    rows = [
        {"JobID": "40_0", "State": "COMPLETED", "ExitCode": "0:0"},
        {"JobID": "40_1", "State": "FAILED", "ExitCode": "3:0"},
        {"JobID": "40_[2-4,7%2]", "State": "FAILED", "ExitCode": "0:0"},  # the rest: still pending
        {"JobID": "41_[0-2]", "State": "CANCELLED by 0", "ExitCode": "0:0"},
        {"JobID": "42_3", "State": "TIMEOUT", "ExitCode": "0:15"},
        {"JobID": "43", "State": "RUNNING", "ExitCode": "0:0"},
    ]
    states = parse_rows(rows)
    assert states[("40", 0)].ok and states[("40", 1)].exit_code == 3
    assert [states[("40", i)].state for i in (2, 3, 4, 7)] == ["PENDING"] * 4
    assert {states[("41", i)].state for i in range(3)} == {"CANCELLED"}
    assert states[("42", 3)].state == "TIMEOUT" and states[("42", 3)].signal == 15
    assert states[("43", 0)].live
    assert expand_indices("1-3,5") == [1, 2, 3, 5]


def test_state_map_is_complete():
    for state in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "REQUEUED"):
        assert is_live(state)
    for state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"):
        assert not is_live(state)
    assert {"FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"} <= FAILED_STATES
    assert not LIVE_STATES & FAILED_STATES
    assert normalise_state("CANCELLED by 1000") == "CANCELLED" and is_live("SOMETHING_NEW")


def test_outage_messages_are_told_from_refusals():
    assert is_outage("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)")
    assert is_outage("sacct: error: Problem talking to the database: Connection refused")
    assert not is_outage("sbatch: error: Batch job submission failed: Invalid partition name specified")


def test_retry_policy_and_cleaning(tmp_path):
    policy = RetryPolicy(states=frozenset({"NODE_FAIL", "OUT_OF_MEMORY"}), max_retries=2, mem_factor_on_oom=2.0)
    assert policy.should_retry("NODE_FAIL", 0) and policy.should_retry("NODE_FAIL", 1)
    assert not policy.should_retry("NODE_FAIL", 2) and not policy.should_retry("FAILED", 0)
    assert policy.memory_factor("OUT_OF_MEMORY") == 2.0 and policy.memory_factor("NODE_FAIL") == 1.0
    result, log, out = tmp_path / "r.json", tmp_path / "t.log", tmp_path / "dl2.h5"
    for path in (result, log, out, tmp_path / "r.json.started"):
        path.write_text("x")
    clean_for_retry(result, log, [out, tmp_path / "never-written.h5"], retry=1)
    assert not result.exists() and not out.exists() and not (tmp_path / "r.json.started").exists()
    assert (tmp_path / "t.log.try1").read_text() == "x" and not log.exists()


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_poll_backs_off_while_nothing_changes_and_outages_keep_the_last_states(tmp_path):
    # A "Slurm" whose commands fail as during an outage: sacct and squeue both exit 1.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name in ("sacct", "squeue"):
        (fake_bin / name).write_text("#!/bin/sh\necho 'error: Unable to contact slurm controller' >&2\nexit 1\n")
        (fake_bin / name).chmod(0o755)
    commands = SlurmCommands(prefix=("env", f"PATH={fake_bin}:/usr/bin:/bin"), attempts=1)
    clock = _Clock()
    poller = Poller(commands, base_seconds=5, max_seconds=20, clock=clock)
    poller.last = {("7", 0): parse_rows([{"JobID": "7_0", "State": "RUNNING"}])[("7", 0)]}
    intervals = []
    for _ in range(5):
        assert poller.due()
        result = poller.poll(["7"])
        assert result.outage and result.calls == 2 and not result.states
        intervals.append(poller.interval)
        clock.now = poller.next_time
    assert intervals == [7.5, 11.25, 16.875, 20, 20]
    assert poller.last[("7", 0)].state == "RUNNING"
    poller.hurry()
    assert poller.due() and poller.interval == 5
