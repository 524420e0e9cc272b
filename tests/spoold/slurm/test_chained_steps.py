"""The daemon chains a request's steps in Slurm with ``--dependency=afterok`` (real Slurm),
and the chain outlives a 30-s stop of slurmctld.

The steps are the daemon tests' cheap shell steps (dl3 per run, index, report): each task
appends a line to the request's journal.txt, sleeps and writes its output.
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest

from tests.helpers.slurm import slurm_up, stop_slurm_daemon
from tests.helpers import spool as H

pytestmark = pytest.mark.slurm


def _handle(spool: Path, rid: str, step: str) -> dict:
    return (H.state_of(spool, rid).get("steps", {}).get(step) or {}).get("handle") or {}


def _journal(spool: Path, rid: str) -> list[str]:
    for state in H.where(spool, rid):
        path = spool / state / rid / "journal.txt"
        if path.exists():
            return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    return []


def test_later_steps_wait_in_slurm_behind_afterok(spool: Path, daemon, slurm_cluster) -> None:
    daemon(seconds=15)
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = H.request_id_of(spool, "crab.yaml")
    report = H.wait_for(lambda: _handle(spool, rid, "report").get("job_id"), timeout=60,
                        what="the whole chain to be submitted")
    dl3, index = _handle(spool, rid, "dl3")["job_id"], _handle(spool, rid, "index")["job_id"]
    # the chain is in Slurm while the first step still runs
    assert not (spool / "running" / rid / "out" / "dl3.run15864").exists()
    assert _journal(spool, rid).count("index") == 0
    shown = {job: slurm_cluster.control("show", "job", job) for job in (index, report)}
    assert re.search(rf"Dependency=afterok:{dl3}(_\*)?\(unfulfilled\)", shown[index]), shown[index]
    assert re.search(rf"Dependency=afterok:{index}(_\*)?\(unfulfilled\)", shown[report]), shown[report]
    assert H.terminal(spool, rid, timeout=180) == "done", (spool.parent / "daemon.log").read_text()[-3000:]
    journal = _journal(spool, rid)
    assert journal == ["dl3"] * 3 + ["index", "report"], journal
    state = H.state_of(spool, rid)
    assert [state["steps"][s]["status"] for s in ("dl3", "index", "report")] == ["done"] * 3
    assert state["steps"]["report"]["after"] == [_handle(spool, rid, "index")["name"]]
    log = (spool / "done" / rid / "log").read_text()
    assert f"to start when {dl3} succeeded" in log, log


def test_a_failing_first_step_is_blamed_and_its_dependents_never_run(spool: Path, daemon, slurm_cluster) -> None:
    daemon(seconds=3, fail_step="dl3")
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = H.request_id_of(spool, "crab.yaml")
    H.wait_for(lambda: _handle(spool, rid, "report").get("job_id"), timeout=60, what="the chain to be submitted")
    assert H.terminal(spool, rid, timeout=180) == "failed"
    error = (spool / "failed" / rid / "error.txt").read_text()
    assert error.startswith("The request failed in step dl3:"), error
    assert "exit code 3" in error, error
    state = H.state_of(spool, rid)
    for step in ("index", "report"):
        assert state["steps"][step]["status"] == "cancelled", state["steps"][step]
        assert state["steps"][step]["note"] == "not run: step dl3 failed"
    assert set(_journal(spool, rid)) == {"dl3"}
    for step in ("index", "report"):
        job = state["steps"][step]["handle"]["job_id"]
        rows = H.wait_for(lambda: [r for r in slurm_cluster.sacct(job_ids=[job]) if r["State"] != "PENDING"],
                          timeout=60, what=f"Slurm to end the {step} job")
        assert {r["State"].split()[0] for r in rows} == {"CANCELLED"}, rows


def test_daemon_killed_after_the_chain_is_submitted_submits_nothing_twice(spool: Path, daemon,
                                                                          slurm_cluster) -> None:
    first = daemon(seconds=10)
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = H.request_id_of(spool, "crab.yaml")
    H.wait_for(lambda: _handle(spool, rid, "report").get("job_id"), timeout=60, what="the chain to be submitted")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=20)
    daemon(seconds=10)
    assert H.terminal(spool, rid, timeout=180) == "done", (spool.parent / "daemon.log").read_text()[-3000:]
    for step in ("dl3", "index", "report"):
        rows = slurm_cluster.sacct(names=[f"astran.{rid}.{step}.1"])
        assert len({r["JobID"].split("_")[0].split(".")[0] for r in rows}) == 1, (step, rows)
    assert _journal(spool, rid) == ["dl3"] * 3 + ["index", "report"]
    state = json.loads((spool / "done" / rid / "state.json").read_text())
    assert all(state["steps"][s]["status"] == "done" for s in ("dl3", "index", "report"))


@pytest.mark.slow
def test_request_completes_through_a_30_s_slurmctld_outage(spool: Path, daemon, slurm_cluster) -> None:
    """slurmctld stopped for 30 s while dl3 runs (throttled to 2 of its 3 tasks) and index and
    report wait behind afterok: the request stays running, then ends in done with each step
    submitted once."""
    daemon(seconds=20)
    H.drop(spool, "crab.yaml", H.request_yaml())
    rid = H.request_id_of(spool, "crab.yaml")
    H.wait_for(lambda: _handle(spool, rid, "report").get("job_id"), timeout=60, what="the chain to be submitted")
    dl3 = _handle(spool, rid, "dl3")["job_id"]
    H.wait_for(lambda: sum(r["State"] == "RUNNING" for r in slurm_cluster.squeue(job_ids=[dl3])) == 2,
               timeout=60, what="two dl3 tasks to run")
    stop_slurm_daemon("slurmctld")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert H.where(spool, rid) == ["running"], (spool.parent / "daemon.log").read_text()[-3000:]
            time.sleep(1.0)
    finally:
        slurm_up()
    assert H.terminal(spool, rid, timeout=300) == "done", (spool.parent / "daemon.log").read_text()[-3000:]
    assert _journal(spool, rid) == ["dl3"] * 3 + ["index", "report"]
    state = H.state_of(spool, rid)
    assert all(state["steps"][s]["status"] == "done" for s in ("dl3", "index", "report"))
    for step in ("dl3", "index", "report"):
        rows = slurm_cluster.sacct(names=[f"astran.{rid}.{step}.1"])
        assert len({r["JobID"].split("_")[0].split(".")[0] for r in rows}) == 1, (step, rows)
