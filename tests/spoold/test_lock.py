"""Issue 11, case 11: one daemon per spool, even when ``spoold.lock`` is removed by hand.

The lock is ``flock`` on the spool folder; ``spoold.lock`` is only the holder's
record, written again by the holder when it is removed, and a record that
names another live holder (another host, where flock is not shared) stops the
daemon with exit 3.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.helpers.spool import daemon_command, drop, request_yaml
from tests.helpers.waiting import wait_for
from spoold.lock import SpoolLock, read_holder
from tests.helpers.spool import request_id_of, terminal


def _record(spool: Path) -> dict:
    return read_holder(spool) or {}


def test_a_removed_lock_file_does_not_let_a_second_daemon_in(spool: Path, daemon) -> None:
    first = daemon()
    wait_for(lambda: _record(spool).get("pid") == first.pid, what="the first daemon's record")
    (spool / "spoold.lock").unlink()
    second = subprocess.Popen(daemon_command(spool, config=spool.parent / "site.yaml"), cwd=spool.parent,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        drop(spool, "one.yaml", request_yaml(runs=(15864,)))  # wakes the first, which writes its record again
        _out, err = second.communicate(timeout=60)
    finally:
        if second.poll() is None:  # before the fix it served the spool beside the first
            second.kill()
            second.wait()
    assert second.returncode == 3, err
    assert f"already served by spoold pid {first.pid} on host {socket.gethostname()}" in err
    rid = request_id_of(spool, "one.yaml")
    assert terminal(spool, rid) == "done"
    assert len((spool / "done" / rid / "journal.txt").read_text().splitlines()) == 3  # nothing ran twice
    assert _record(spool).get("pid") == first.pid  # the record is back
    assert first.poll() is None
    assert "was removed; writing it again" in (spool.parent / "daemon.log").read_text()


def test_a_record_naming_another_live_holder_stops_the_daemon(spool: Path, daemon) -> None:
    first = daemon()
    wait_for(lambda: _record(spool).get("pid") == first.pid, what="the daemon's record")
    # what a daemon on another host writes where flock is not shared between hosts
    other = spool / ".other.lock"
    other.write_text(json.dumps({"what": "spoold", "host": "elsewhere", "pid": 4242, "heartbeat": time.time()}))
    os.replace(other, spool / "spoold.lock")
    drop(spool, "wake.yaml", request_yaml(runs=(15864,)))
    assert first.wait(timeout=60) == 3
    log = (spool.parent / "daemon.log").read_text()
    assert "now names spoold pid 4242 on host elsewhere" in log and "this one stops" in log
    assert _record(spool).get("host") == "elsewhere"  # the other's record is left as it is


def test_a_daemon_waits_for_a_command_holding_the_lock(tmp_path: Path) -> None:
    command = SpoolLock(tmp_path, what="spool cancel")
    command.acquire()
    released = threading.Event()

    def release_soon() -> None:
        time.sleep(0.5)
        released.set()
        command.release()

    thread = threading.Thread(target=release_soon)
    thread.start()
    daemon_lock = SpoolLock(tmp_path)
    try:
        daemon_lock.acquire(wait_for_commands=30.0)
        assert released.is_set()
        assert _record(tmp_path)["what"] == "spoold"
    finally:
        thread.join()
        daemon_lock.release()
