"""Issue 11, case 5 (part): taskrun's ``--once`` marker is complete or absent, on a really full disk.

The full disk is a 64 KiB tmpfs mounted for the test and filled up (the tests
run as root), so writing the marker fails with the kernel's own ENOSPC, as on
the cluster's disk: no mock, and no RLIMIT_FSIZE (that gives EFBIG and
SIGXFSZ, not a full disk). Before the fix the marker stayed at 0 bytes and the
task never ran again (exit 75 for ever, queued for ever in the executor).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.waiting import wait_for
from spoold.executors.base import StepJob, Task, TaskState
from spoold.executors.local import LocalExecutor
from spoold.taskrun import EXIT_ALREADY_STARTED, EXIT_NO_MARKER, NO_MARKER_LINE, read_started, started_file


@pytest.fixture
def full_disk(tmp_path: Path):
    """A folder ``res/`` on a tiny tmpfs that is full; yields (res folder, filler file)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 and not os.environ.get("ASTRAN_REQUIRE_PEERS"):
        pytest.skip("mounting a tiny tmpfs needs root (the project's CI runs the tests as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        (mount / "res").mkdir()
        filler = mount / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        finally:
            os.close(fd)
        yield mount / "res", filler
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _taskrun(result: Path, log: Path, journal: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "spoold.taskrun", "--once", "--result", str(result), "--log", str(log),
            "--", "sh", "-c", f"echo ran >> {journal}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_a_full_disk_leaves_no_marker_and_says_why(full_disk, tmp_path: Path) -> None:
    res, filler = full_disk
    result, log, journal = res / "t.json", tmp_path / "t.log", tmp_path / "journal"
    first = _taskrun(result, log, journal)
    assert first.returncode == EXIT_NO_MARKER, first.stderr
    assert "the disk is full" in first.stderr and "Traceback" not in first.stderr
    assert f"{NO_MARKER_LINE} in {started_file(result)}: the disk is full" in log.read_text()
    assert os.listdir(res) == []  # no marker, not even an empty one, and no temporary file
    assert not journal.exists()
    filler.unlink()  # room again: the task runs, once
    assert _taskrun(result, log, journal).returncode == 0
    assert read_started(result)["pid"] > 0
    assert _taskrun(result, log, journal).returncode == EXIT_ALREADY_STARTED
    assert journal.read_text() == "ran\n"


def _job(tmp_path: Path, results: Path) -> StepJob:
    task = Task(0, "t0", ("sh", "-c", f"echo ran >> {tmp_path / 'journal'}"), results / "t0.json",
                tmp_path / "logs" / "t0.log")
    return StepJob("rid", "dl2", 1, (task,), tmp_path)


def _final(executor: LocalExecutor, handle: dict):
    """Poll until the task is neither queued nor running; return its status."""
    final = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED, TaskState.LOST)
    return wait_for(lambda: next((s for s in executor.poll([handle])[0].tasks.values() if s.state in final), None),
                    timeout=30, what="the task to end")


def test_the_executor_reports_a_full_disk_as_a_failed_task(full_disk, tmp_path: Path) -> None:
    res, _filler = full_disk
    executor = LocalExecutor(max_tasks=1)
    handle = executor.submit(_job(tmp_path, res))
    status = _final(executor, handle)
    assert status.state is TaskState.FAILED and status.exit_code == EXIT_NO_MARKER
    assert "the disk is full" in status.detail and "did not run" in status.detail
    assert not (tmp_path / "journal").exists()


def test_an_empty_marker_of_an_older_taskrun_is_started_again_once(tmp_path: Path) -> None:
    results = tmp_path / "res"
    results.mkdir()
    job = _job(tmp_path, results)
    started_file(job.tasks[0].result_file).write_bytes(b"")  # an older taskrun failed while writing it
    executor = LocalExecutor(max_tasks=1)
    handle = executor.submit(job)
    assert _final(executor, handle).state is TaskState.SUCCEEDED
    assert [p.name for p in results.iterdir() if ".unreadable." in p.name]  # kept aside, not deleted
    restarted = LocalExecutor(max_tasks=1)  # a new daemon adopts the same handle: nothing runs again
    assert _final(restarted, handle).state is TaskState.SUCCEEDED
    assert (tmp_path / "journal").read_text() == "ran\n"
