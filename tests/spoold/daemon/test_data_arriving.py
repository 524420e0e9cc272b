"""DL1 still arriving (issue 15 point 7), through the real daemon: wait for it, say why, fail at the deadline.

A DL1 file written slowly by another process (copied in pieces, or appended to
by lappana's DL1 writer), a truncated copy, and a file that then becomes
complete. The daemon runs with cheap steps after ``resolve``; ``resolve`` and the
look at the files are the real ones.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.arriving import start_slow_writer, write_dl1
from tests.helpers.spool import (drop, once_command, request_id_of, request_yaml, spool_cmd, state_of, terminal,
                                 where)
from tests.helpers.waiting import wait_for

RUN = 15864
SETTLE = 1.5
SITE = ("limits: {{reconcile_seconds: 0.3, settle_seconds: 0.1, max_tasks_in_flight: 2, "
        "data_settle_seconds: {settle}, data_wait_hours: {hours}}}\n")
#: the ``--once`` tests' settle time: longer than submitting and starting ``spoold --once`` take
ONCE_SETTLE = 5.0


@pytest.fixture(scope="module")
def complete(tmp_path_factory) -> Path:
    """A complete DL1 file of run 15864 (lappana's writer), left by its writer an hour ago."""
    path = write_dl1(tmp_path_factory.mktemp("dl1") / f"dl1_LST-1.Run{RUN:05d}.h5", RUN)
    then = time.time() - 3600
    os.utime(path, (then, then))
    return path


def _dl1_path(spool: Path) -> Path:
    folder = spool.parent / "data" / "DL1" / "20231207" / "v0.10" / "tailcut84"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"dl1_LST-1.Run{RUN:05d}.h5"


def _start(spool: Path, daemon, hours: float = 1.0) -> None:
    (spool.parent / "site.yaml").write_text(SITE.format(settle=SETTLE, hours=hours))
    daemon()


#: the request of every test here: run 15864 from DL1 to DL3
REQUEST = request_yaml(runs=(RUN,), start_from="dl1", products=("dl3",))


def _submit(spool: Path, name: str = "arriving.yaml") -> str:
    drop(spool, name, REQUEST)
    return request_id_of(spool, name)


def _reason(spool: Path, rid: str) -> str:
    return ((state_of(spool, rid).get("waiting") or {}).get("reasons") or {}).get(str(_dl1_path(spool)), "")


def _status(spool: Path, rid: str, *args: str) -> str:
    return spool_cmd("status", rid, *args, "--spool", str(spool), cwd=spool.parent).stdout


def _resolved_at(spool: Path, rid: str) -> float:
    finished = json.loads((spool / "done" / rid / "state.json").read_text())["steps"]["resolve"]["finished"]
    return dt.datetime.fromisoformat(finished).timestamp()


@pytest.mark.parametrize("mode", ["copy", "append"])
def test_a_dl1_file_being_written_makes_the_request_wait_until_it_is_complete(
        spool: Path, daemon, complete: Path, tmp_path: Path, mode: str) -> None:
    target, marker = _dl1_path(spool), tmp_path / "written"
    writer = start_slow_writer(mode, target, source=complete, run=RUN, done=marker, pieces=10, pause=0.6)
    try:
        wait_for(target.exists, timeout=60, what="the writer to begin")
        _start(spool, daemon)
        rid = _submit(spool)
        wait_for(lambda: "still being written" in _reason(spool, rid), timeout=60,
                 what="the request to wait for the growing file")
        assert state_of(spool, rid)["state"] == "waiting"
        text = _status(spool, rid)
        assert target.name in text and f"still being written: it changed less than {SETTLE:g} s ago" in text
        shown = json.loads(_status(spool, rid, "--json"))
        assert "still being written" in shown["waiting"]["reasons"][str(target)]
        assert writer.wait(timeout=120) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
    assert terminal(spool, rid) == "done"
    finished_writing = float(marker.read_text())
    assert _resolved_at(spool, rid) >= int(finished_writing)  # never taken while still being written
    events = [json.loads(x)["event"] for x in (spool / "done" / rid / "events.jsonl").read_text().splitlines()]
    assert "waiting" in events and "resumed" in events


def test_a_truncated_dl1_file_waits_and_goes_on_once_it_is_complete(
        spool: Path, daemon, complete: Path) -> None:
    target = _dl1_path(spool)
    target.write_bytes(complete.read_bytes()[: complete.stat().st_size // 2])
    then = time.time() - 600  # left like this long ago: not growing, truncated
    os.utime(target, (then, then))
    _start(spool, daemon)
    rid = _submit(spool)
    wait_for(lambda: "truncated" in _reason(spool, rid), timeout=60, what="the request to wait for the truncated file")
    assert state_of(spool, rid)["state"] == "waiting"
    assert "cannot be opened" in _status(spool, rid)
    part = target.with_name(f".{target.name}.part")
    shutil.copy2(complete, part)  # the complete file arrives the way rsync puts it: beside, then renamed
    os.rename(part, target)
    assert terminal(spool, rid) == "done"
    assert state_of(spool, rid)["inputs"] == {str(RUN): str(target)}


def test_a_dl1_file_still_truncated_at_the_deadline_fails_naming_it_and_why(
        spool: Path, daemon, complete: Path) -> None:
    target = _dl1_path(spool)
    target.write_bytes(complete.read_bytes()[:4096])
    then = time.time() - 600
    os.utime(target, (then, then))
    _start(spool, daemon, hours=0.001)  # ~4 s
    rid = _submit(spool)
    assert terminal(spool, rid) == "failed"
    error = state_of(spool, rid)["error"]
    assert f"{target.name} is an HDF5 file that cannot be opened" in error and "truncated" in error, error
    assert "did not appear within 0.001 hours" in error and "spool retry" in error


def _submit_now(spool: Path) -> str:
    """``spool submit`` the request (no daemon runs to claim a dropped file); its id."""
    path = spool.parent / "arriving.yaml"
    path.write_bytes(REQUEST)
    return spool_cmd("submit", str(path), "--spool", str(spool), cwd=spool.parent).stdout.strip()


def _once(spool: Path, timeout: float = 120) -> None:
    """Run ``spoold --once`` (cheap steps) over the spool."""
    done = subprocess.run(once_command(spool), cwd=spool.parent, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_once_takes_a_dl1_file_written_just_before_it(spool: Path, complete: Path) -> None:
    """A night simulated, then ``spoold --once`` (the demo): the file changed under a second ago settles
    during the run, which ends with the request done."""
    (spool.parent / "site.yaml").write_text(SITE.format(settle=ONCE_SETTLE, hours=1.0))
    target = _dl1_path(spool)
    shutil.copy(complete, target)  # its time is now
    rid = _submit_now(spool)
    _once(spool)
    assert where(spool, rid) == ["done"], state_of(spool, rid)
    assert _resolved_at(spool, rid) >= target.stat().st_mtime + ONCE_SETTLE - 1.0  # it waited for the file to settle


def test_once_leaves_a_file_that_keeps_growing_waiting(spool: Path, complete: Path, tmp_path: Path) -> None:
    """A file written for 45 s, longer than the ONCE_SETTLE_TIMES settle times (15 s) ``--once`` gives it:
    ``--once`` returns while it is written, with the request waiting, for the next run."""
    (spool.parent / "site.yaml").write_text(SITE.format(settle=ONCE_SETTLE, hours=1.0))
    target = _dl1_path(spool)
    writer = start_slow_writer("copy", target, source=complete, run=RUN, done=tmp_path / "written", pieces=90,
                               pause=0.5)
    try:
        wait_for(target.exists, timeout=60, what="the writer to begin")
        rid = _submit_now(spool)
        _once(spool)
        assert writer.poll() is None, "the writer ended before --once: the file did not keep growing"
    finally:
        writer.kill()
        writer.wait()
    assert where(spool, rid) == ["running"] and state_of(spool, rid)["state"] == "waiting"
    assert "still being written" in _reason(spool, rid)
