"""One bad request never stops the spool (issue 11, cases 1–6, 10, 12).

Each test puts one poison pill into a spool served by the real daemon (as its own
process, with cheap shell steps), beside a good request and one that waits for
its data tonight. After the pill the others end as they would have without it
(done, or waiting with their reason), the daemon is still running, and the
damaged request is failed, held or put aside in ``corrupt/`` with a sentence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.spool import daemon_command, drop, request_yaml, spool_cmd, state_of
from tests.helpers.waiting import wait_for
from tests.helpers.poison import Spool, fill, small_disk, unwritable

TONIGHT = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=12)).date()


def _bystanders(spool: Spool) -> tuple[str, str]:
    """A good request and one waiting for tonight's data: (good id, waiting id)."""
    good = spool.submit(request_yaml(runs=(15864,)).decode(), "good.yaml")
    waiting = spool.submit(request_yaml(runs=(20001,), night=TONIGHT.isoformat()).decode(), "early.yaml")
    return good, waiting


def _bystanders_fine(spool: Spool, good: str, waiting: str) -> None:
    assert spool.wait_state(good, "done") == "done"
    wait_for(lambda: state_of(spool.root, waiting).get("state") == "waiting", what="the waiting request")
    assert "dl2_LST-1.Run20001.h5" in spool.status(waiting)
    assert spool.alive(), spool.log()[-3000:]


def _corrupt_reason(spool: Spool, rid: str) -> str:
    path = spool.root / "corrupt" / f"{rid}.reason.txt"
    return wait_for(lambda: path.is_file() and path.read_text(), what=f"{path}; log:\n{spool.log()[-3000:]}")


# -- case 1 ---------------------------------------------------------------------------------------------
def test_an_output_folder_that_cannot_be_created_fails_that_request_alone(tmp_path: Path) -> None:
    roots = tmp_path / "results"
    locked = roots / "locked"
    locked.mkdir(parents=True)
    spool = Spool(tmp_path, extra_site=f"write_roots: [{roots}]\n")
    spool.start()
    try:
        with unwritable(locked):
            bad = spool.submit(request_yaml(runs=(15864,)).decode() + f"output: {locked / 'crab'}\n", "bad.yaml")
            good, waiting = _bystanders(spool)
            assert spool.wait_state(bad, "failed") == "failed"
            _bystanders_fine(spool, good, waiting)
            error = (spool.root / "failed" / bad / "error.txt").read_text()
            assert f"{locked / 'crab'} cannot be created" in error
            assert "cannot be created" in spool.status(bad)
    finally:
        spool.stop()


# -- case 2 ---------------------------------------------------------------------------------------------
def test_a_request_folder_made_unwritable_is_put_aside_and_the_others_go_on(tmp_path: Path) -> None:
    spool = Spool(tmp_path, seconds=1.5)
    spool.start()
    try:
        victim = spool.submit(request_yaml().decode(), "victim.yaml")
        spool.wait_state(victim, "running")
        wait_for(lambda: (spool.root / "running" / victim / "journal.txt").is_file(), what="the victim's tasks")
        with unwritable(spool.root / "running" / victim):
            good, waiting = _bystanders(spool)
            reason = _corrupt_reason(spool, victim)
            assert "cannot be written" in reason and "still" in reason  # an immutable folder cannot be moved
            _bystanders_fine(spool, good, waiting)
            assert "put aside" in spool.status(victim)
    finally:
        spool.stop()


# -- case 3 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where,damage", [("running", b'{"id": "x", "state": "runn'), ("pending", b"not json\x00")])
def test_a_corrupt_state_json_is_put_aside_and_once_returns(tmp_path: Path, where: str, damage: bytes) -> None:
    spool = Spool(tmp_path)
    rid = "20231208-101500-crab-nebula-3f9a"
    folder = spool.root / where / rid
    folder.mkdir()
    (folder / "request.yaml").write_bytes(request_yaml())
    (folder / "state.json").write_bytes(damage)
    good, waiting = _bystanders(spool)
    once = subprocess.run(daemon_command(spool.root, config=spool.site, once=True, seconds=0.1), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert once.returncode == 0, once.stderr[-3000:]
    assert (spool.root / "corrupt" / rid / "request.yaml").read_bytes() == request_yaml()
    reason = (spool.root / "corrupt" / f"{rid}.reason.txt").read_text()
    assert "state.json is not valid JSON" in reason and f"It was in {where}/" in reason
    assert f"put aside" in once.stderr
    assert spool.where(good) == ["done"]
    assert state_of(spool.root, waiting)["state"] == "waiting"
    shown = spool.status(rid)
    assert "corrupt" in shown and "not valid JSON" in shown


# -- case 4 ---------------------------------------------------------------------------------------------
def _tasks_of(rid: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if rid.encode() in cmdline and b"taskrun" in cmdline:
            found.append(int(pid))
    return found


def test_a_request_folder_deleted_while_its_tasks_run_is_stopped_and_once_returns(tmp_path: Path) -> None:
    spool = Spool(tmp_path, seconds=2.0)
    rid = spool.submit(request_yaml().decode(), "doomed.yaml")  # 3 runs, 2 tasks at a time
    good, waiting = _bystanders(spool)
    once = subprocess.Popen(daemon_command(spool.root, config=spool.site, once=True, seconds=2.0), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "once.log", "wb"))
    try:
        wait_for(lambda: _tasks_of(rid), timeout=60, what="the doomed request's tasks")
        os.rename(spool.root / "running" / rid, tmp_path / "removed")  # as `rm -r` would, but in one step
        shutil.rmtree(tmp_path / "removed", ignore_errors=True)
        assert once.wait(timeout=120) == 0, (tmp_path / "once.log").read_text()[-3000:]
    finally:
        if once.poll() is None:
            once.kill()
    wait_for(lambda: not _tasks_of(rid), timeout=10, what="its tasks to be stopped")
    time.sleep(2.5)  # a task left running would recreate the folder within its 2 s
    assert not (spool.root / "running" / rid).exists()
    log = (tmp_path / "once.log").read_text()
    assert "cancelled its tasks" in log
    assert spool.where(good) == ["done"]
    assert state_of(spool.root, waiting)["state"] == "waiting"


# -- case 5 (the claim) ---------------------------------------------------------------------------------
def test_a_claim_cut_short_by_a_full_disk_leaves_nothing_in_intake(tmp_path: Path) -> None:
    from spoold.spool import Spool as Folders

    with small_disk(tmp_path / "disk"):
        folders = Folders(tmp_path / "disk" / "spool")
        folders.init()
        (folders.dir("incoming") / "crab.yaml").write_bytes(request_yaml())
        filler = fill(folders.root)
        with pytest.raises(OSError) as raised:
            folders.claim("crab.yaml")
        assert raised.value.errno == 28  # ENOSPC
        assert os.listdir(folders.dir("intake")) == []
        assert (folders.dir("incoming") / "crab.yaml").read_bytes() == request_yaml()
        filler.unlink()
        claimed = folders.claim("crab.yaml")
        assert (claimed.folder / "request.yaml").read_bytes() == request_yaml()


def test_a_full_disk_stills_a_running_request_until_there_is_room_and_retry_works(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", size="8m"):
        # the log is not on the full disk; each cheap task takes 3 s, so that the request is still in running/
        # when the test first looks, even when `spool submit` takes seconds to return on a loaded machine
        spool = Spool(tmp_path / "disk", seconds=3.0, log=tmp_path / "daemon.log")
        spool.start()
        try:
            rid = spool.submit(request_yaml().decode(), "crab.yaml")
            try:
                wait_for(lambda: (spool.root / "running" / rid / "journal.txt").is_file(), what="its tasks")
            except AssertionError as error:  # once in a CI-like run (4 Dec 2026): say where the request was
                raise AssertionError(f"{error}\n{spool.status(rid)}\nlog:\n{spool.log()[-3000:]}") from None
            filler = fill(spool.root)
            wait_for(lambda: "The disk is full" in spool.log(), timeout=60,
                     what=f"the daemon to meet the full disk; log:\n{spool.log()[-3000:]}")
            assert spool.alive()
            filler.unlink()
            if spool.wait_state(rid, ("done", "failed")) == "failed":
                # a task hit the full disk itself: the request failed, and a retry works
                spool_cmd("retry", rid, "--spool", str(spool.root), "--config", str(spool.site), cwd=spool.tmp)
                spool.wait_state(rid, "running")
            assert spool.wait_state(rid, ("done", "failed")) == "done", spool.status(rid)
            assert spool.alive()
        finally:
            spool.stop()


# -- case 6 and case 12 -------------------------------------------------------------------------------------
def _write_in_place(path: Path, parts: list[bytes], pause: float) -> None:
    with open(path, "wb") as handle:  # held open the whole time, as an editor or a slow copy does
        for i, part in enumerate(parts):
            if i:
                time.sleep(pause)
            handle.write(part)
            handle.flush()


def test_a_file_written_in_place_is_taken_only_when_its_writer_closes_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.start()
    try:
        time.sleep(1.0)  # the watcher is up
        parts = [b"source: Crab Nebula\nnight: 2023-12-07\n", b"runs: [15865]\nstart_from: dl2\n",
                 b"cuts: {gh_efficiency: 0.7, theta_containment: 0.7}\nproducts: [dl3, theta2]\n"]
        writer = threading.Thread(target=_write_in_place, args=(spool.root / "incoming" / "slow.yaml", parts, 1.5))
        writer.start()
        writer.join()
        rid = wait_for(lambda: next((f.name for s in ("pending", "running", "done", "rejected")
                                     for f in (spool.root / s).iterdir()
                                     if state_of(spool.root, f.name).get("incoming_name") == "slow.yaml"), None),
                       what="slow.yaml to be claimed")
        request = state_of(spool.root, rid)["request"]
        assert request["runs"] == [15865] and request["products"] == ["dl3", "theta2"]
        assert spool.wait_state(rid, ("done", "failed", "rejected")) == "done"
    finally:
        spool.stop()


def test_a_100_mb_file_written_in_place_is_rejected_and_kept_as_it_was(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.start()
    try:
        time.sleep(1.0)
        data = os.urandom(100 * 1024 * 1024)
        third = len(data) // 3
        _write_in_place(spool.root / "incoming" / "big.yaml", [data[:third], data[third:2 * third], data[2 * third:]],
                        1.5)
        folder = wait_for(lambda: next(iter((spool.root / "rejected").iterdir()), None), what="the rejection")
        errors = wait_for(lambda: (folder / "errors.txt").is_file() and (folder / "errors.txt").read_text(),
                          what="errors.txt")
        assert f"{len(data):,} bytes" in errors
        kept = folder / "request.yaml"
        assert kept.stat().st_size == len(data)
        assert hashlib.sha256(kept.read_bytes()).digest() == hashlib.sha256(data).digest()
        assert spool.alive()
    finally:
        spool.stop()


# -- case 10 --------------------------------------------------------------------------------------------
def test_a_file_named_after_an_existing_request_becomes_a_request_of_its_own(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.start()
    try:
        first = spool.submit(request_yaml(runs=(15864,)).decode(), "crab.yaml")
        assert spool.wait_state(first, "done") == "done"
        drop(spool.root, f"{first}.yaml", request_yaml(runs=(15865,)))
        drop(spool.root, "after.yaml", request_yaml(runs=(15866,)))
        wait_for(lambda: len(list((spool.root / "done").iterdir())) == 3, what="three done requests")
        by_runs = {tuple(json.loads((f / "state.json").read_text())["runs"]): f.name
                   for f in (spool.root / "done").iterdir()}
        assert by_runs[(15864,)] == first  # the first keeps its id and its folder
        assert by_runs[(15865,)] != first  # the file named after it became a request of its own
        twin_state = json.loads((spool.root / "done" / by_runs[(15865,)] / "state.json").read_text())
        assert twin_state["incoming_name"] == f"{first}.yaml"
    finally:
        assert spool.stop() == 0
    # a spool left with one id in two folders by an older spoold: a restart neither crashes nor merges them
    twin = spool.root / "intake" / first
    twin.mkdir()
    (twin / "request.yaml").write_bytes(request_yaml(runs=(15866,)))
    (twin / "incoming-name").write_text("twin.yaml")
    once = subprocess.run(daemon_command(spool.root, config=spool.site, once=True), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert once.returncode == 0, once.stderr[-3000:]
    assert len(list((spool.root / "done").iterdir())) == 4
    assert json.loads((spool.root / "done" / first / "state.json").read_text())["runs"] == [15864]
