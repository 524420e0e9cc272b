"""The real daemon as its own process: drop, submit, status, cancel, retry, hold, waiting, two daemons."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.spool import (
    PYTHON, drop, make_tree, once_command, request_id_of, request_yaml, spool_cmd, start_daemon, state_of,
    stop_daemon, terminal, where,
)
from tests.helpers.waiting import wait_for

def test_drop_runs_to_done_with_every_file(spool: Path, daemon) -> None:
    proc = daemon()
    drop(spool, "crab.yaml", request_yaml())
    rid = request_id_of(spool, "crab.yaml")
    assert terminal(spool, rid) == "done"
    folder = spool / "done" / rid
    assert where(spool, rid) == ["done"]
    assert (folder / "request.yaml").read_bytes() == request_yaml()
    for name in ("state.json", "events.jsonl", "log", "summary.json"):
        assert (folder / name).is_file(), name
    # every task ran exactly once
    journal = (folder / "journal.txt").read_text().splitlines()
    labels = [" ".join(line.split()[:2]) for line in journal]
    assert sorted(labels) == sorted(["dl3 run15864", "dl3 run15865", "dl3 run15866", "index index", "report report"])
    for step in ("dl3", "index", "report"):
        assert (folder / "logs" / step).is_dir()
    assert "working on run15864" in (folder / "logs" / "dl3" / "run15864.log").read_text()
    events = [json.loads(line)["event"] for line in (folder / "events.jsonl").read_text().splitlines()]
    assert events[:2] == ["claimed", "accepted"] and events[-1] == "done"
    assert events.count("step-done") == 4  # resolve, dl3, index, report
    state = json.loads((folder / "state.json").read_text())
    assert state["state"] == "done" and state["runs"] == [15864, 15865, 15866]
    assert state["steps"]["dl3"]["tasks"]["0"]["job_id"].startswith("pid ")
    assert proc.poll() is None  # still serving


def test_submit_status_and_detail(spool: Path, daemon) -> None:
    request = spool.parent / "req.yaml"
    request.write_bytes(request_yaml(runs=(15864,)))
    rid = spool_cmd("submit", str(request), "--spool", str(spool), cwd=spool.parent).stdout.strip()
    assert (spool / "incoming" / f"{rid}.yaml").is_file()
    table = spool_cmd("status", "--spool", str(spool), cwd=spool.parent).stdout
    assert rid in table and "incoming" in table
    daemon()
    assert terminal(spool, rid) == "done"
    table = spool_cmd("status", "--spool", str(spool), cwd=spool.parent).stdout
    line = next(line for line in table.splitlines() if line.startswith(rid))
    assert "done" in line and "Crab Nebula" in line
    assert "served by spoold pid" in table
    detail = spool_cmd("status", rid, "--spool", str(spool), cwd=spool.parent).stdout
    assert "step dl3" in detail and "run15864" in detail and "pid " in detail and "succeeded" in detail


def test_submit_refuses_an_invalid_request(spool: Path) -> None:
    bad = spool.parent / "bad.yaml"
    bad.write_text("sorce: Crab\nnight: 2023-12-07\n")
    proc = spool_cmd("submit", str(bad), "--spool", str(spool), cwd=spool.parent, check=False)
    assert proc.returncode == 2
    assert "did you mean 'source'" in proc.stderr and "Nothing was submitted" in proc.stderr
    assert not list((spool / "incoming").iterdir())


def test_rejected_keeps_original_bytes_and_reasons(spool: Path, daemon) -> None:
    daemon()
    raw = b"source: Crab\nnight: 2023-12-07\nproducts: [dl3, sky_map]\n"
    drop(spool, "typo.yaml", raw)
    rid = request_id_of(spool, "typo.yaml")
    assert terminal(spool, rid) == "rejected"
    folder = spool / "rejected" / rid
    assert (folder / "request.yaml").read_bytes() == raw
    assert "sky_map" in (folder / "errors.txt").read_text()


def test_cancel_stops_the_tasks(spool: Path, daemon) -> None:
    daemon(seconds=60)
    drop(spool, "long.yaml", request_yaml())
    rid = request_id_of(spool, "long.yaml")
    results = spool / "running" / rid / "logs" / "dl3" / ".results"
    markers = wait_for(lambda: list(results.glob("*.started")) if results.is_dir() else None,
                       what="tasks to start")
    pids = [json.loads(m.read_text())["pid"] for m in markers]
    assert all(_alive(pid) for pid in pids)
    out = spool_cmd("cancel", rid, "--spool", str(spool), cwd=spool.parent).stdout
    assert "cancelled" in out
    assert where(spool, rid) == ["cancelled"]
    wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=15, what="the tasks to end")
    state = state_of(spool, rid)
    assert state["state"] == "cancelled" and state["steps"]["dl3"]["status"] == "cancelled"


def test_failure_then_retry_keeps_history(spool: Path, daemon) -> None:
    proc = daemon(fail_step="index")
    drop(spool, "fails.yaml", request_yaml(runs=(15864,)))
    rid = request_id_of(spool, "fails.yaml")
    assert terminal(spool, rid) == "failed"
    error = (spool / "failed" / rid / "error.txt").read_text()
    assert "step index" in error and "working on index" in error  # the step and its log's tail
    stop_daemon(proc)
    daemon()  # a daemon whose index step works
    out = spool_cmd("retry", rid, "--spool", str(spool), cwd=spool.parent).stdout
    assert "attempt 2" in out
    assert terminal(spool, rid) == "done"
    state = state_of(spool, rid)
    assert state["attempt"] == 2
    assert state["history"][0]["state"] == "failed" and state["history"][0]["step"] == "index"
    assert state["steps"]["dl3"]["status"] == "skipped"  # its outputs were there already
    assert (spool / "done" / rid / "error.attempt1.txt").is_file()
    events = [json.loads(x)["event"] for x in (spool / "done" / rid / "events.jsonl").read_text().splitlines()]
    assert events.count("failed") == 1 and "retried" in events and events[-1] == "done"


def test_hold_and_release(spool: Path, daemon) -> None:
    drop(spool, "held.yaml", request_yaml(runs=(15864,)))
    # a --once daemon runs a first request through; then a second is held while a daemon serves
    subprocess.run(once_command(spool), check=True, timeout=60)
    rid = request_id_of(spool, "held.yaml")
    assert where(spool, rid) == ["done"]  # the --once daemon ran it through
    drop(spool, "held2.yaml", request_yaml(runs=(15865,)))
    proc = daemon(seconds=2)
    rid2 = request_id_of(spool, "held2.yaml")
    out = spool_cmd("hold", rid2, "--spool", str(spool), cwd=spool.parent).stdout
    assert "held" in out
    wait_for(lambda: where(spool, rid2) == ["hold"], timeout=30, what="the hold")
    time.sleep(1.0)
    assert where(spool, rid2) == ["hold"]  # stays held
    assert "held" in spool_cmd("status", "--spool", str(spool), cwd=spool.parent).stdout
    spool_cmd("release", rid2, "--spool", str(spool), cwd=spool.parent)
    assert terminal(spool, rid2) == "done"
    assert proc.poll() is None


def test_waiting_for_data_then_resuming(spool: Path, daemon) -> None:
    tonight = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=12)).date()
    folder = spool.parent / "data" / "DL2" / tonight.strftime("%Y%m%d") / "v0.10" / "tailcut84"
    daemon()
    drop(spool, "early.yaml", request_yaml(runs=(20001, 20002), night=tonight.isoformat()))
    rid = request_id_of(spool, "early.yaml")
    wait_for(lambda: state_of(spool, rid).get("state") == "waiting", what="waiting")
    detail = spool_cmd("status", rid, "--spool", str(spool), cwd=spool.parent).stdout
    assert "waiting" in detail and "dl2_LST-1.Run20001.h5" in detail and "until" in detail
    table = spool_cmd("status", "--spool", str(spool), cwd=spool.parent).stdout
    assert "waiting for 2 file(s)" in table
    folder.mkdir(parents=True, exist_ok=True)
    for run in (20001, 20002):
        (folder / f"dl2_LST-1.Run{run:05d}.h5").write_bytes(b"x")
    assert terminal(spool, rid) == "done"
    events = [json.loads(x)["event"] for x in (spool / "done" / rid / "events.jsonl").read_text().splitlines()]
    assert "waiting" in events and "resumed" in events


def test_once_exits_when_only_waiting_requests_remain(spool: Path) -> None:
    tonight = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=12)).date()
    drop(spool, "early.yaml", request_yaml(runs=(20003,), night=tonight.isoformat()))
    drop(spool, "ready.yaml", request_yaml(runs=(15864,)))
    proc = subprocess.run(once_command(spool), timeout=120, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(list((spool / "done").iterdir())) == 1
    running = list((spool / "running").iterdir())
    assert len(running) == 1 and json.loads((running[0] / "state.json").read_text())["state"] == "waiting"


def test_a_second_daemon_refuses(spool: Path, daemon) -> None:
    first = daemon()
    wait_for(lambda: _lock_text(spool), what="the lock")
    second = subprocess.run([PYTHON, "-m", "spoold.daemon.cli", "--spool", str(spool)], capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 3
    assert "already served by spoold pid" in second.stderr and str(first.pid) in second.stderr
    drop(spool, "one.yaml", request_yaml(runs=(15864,)))
    rid = request_id_of(spool, "one.yaml")
    assert terminal(spool, rid) == "done"
    journal = (spool / "done" / rid / "journal.txt").read_text().splitlines()
    assert len(journal) == 3  # dl3 of one run, index, report: nothing twice


def test_a_dead_daemons_lock_is_stale(spool: Path, daemon) -> None:
    first = daemon()
    wait_for(lambda: _lock_text(spool), what="the lock")
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = daemon()
    drop(spool, "after.yaml", request_yaml(runs=(15864,)))
    rid = request_id_of(spool, "after.yaml")
    assert terminal(spool, rid) == "done"
    assert second.poll() is None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _lock_text(spool: Path) -> str:
    try:
        return (spool / "spoold.lock").read_text().strip()
    except FileNotFoundError:
        return ""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop a file owned by another user")
def test_shared_account_records_the_owner_and_keeps_products_per_user(tmp_path: Path) -> None:
    make_tree(tmp_path / "data")
    spool = tmp_path / "spool"
    products = tmp_path / "products"
    site = tmp_path / "site.yaml"
    site.write_text(f"output_root: {products}\nshared_account: {{enabled: true, products_per_user: true}}\n"
                    "limits: {reconcile_seconds: 0.3, settle_seconds: 0.1}\n")
    spool_cmd("init", str(spool), "--config", str(site), cwd=tmp_path)
    mode = os.stat(spool / "incoming").st_mode
    assert mode & 0o020 and mode & 0o1000  # group-writable, sticky
    proc = start_daemon(spool, tmp_path / "daemon.log", config=site)
    try:
        tmp = spool / "tmp" / ".nobody.part"
        tmp.write_bytes(request_yaml(runs=(15864,)))
        os.chown(tmp, 65534, 65534)
        os.rename(tmp, spool / "incoming" / "nobody.yaml")
        rid = request_id_of(spool, "nobody.yaml")
        assert terminal(spool, rid) == "done"
    finally:
        stop_daemon(proc)
    state = state_of(spool, rid)
    import pwd

    user = pwd.getpwuid(65534).pw_name
    assert state["submitter"] == user
    assert (products / user / rid / "out" / "dl3.run15864").is_file()
    summary = json.loads((spool / "done" / rid / "summary.json").read_text())
    assert summary["products_dir"] == str(products / user / rid)
