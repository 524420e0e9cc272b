"""spoold's own inotify reader (spoold/inotify.py) and the watcher on it, against the real kernel."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from spoold.inotify import IN_CLOSE_WRITE, IN_CREATE, IN_MODIFY, IN_MOVED_FROM, IN_MOVED_TO, Inotify, InotifyReader
from spoold.wakeup import Wakeup
from spoold.watch import Watcher


def _drain(inotify: Inotify, until: float = 1.0) -> list:
    events, deadline = [], time.monotonic() + until
    while time.monotonic() < deadline:
        got = inotify.read()
        events += got
        if not got and events:
            break
        time.sleep(0.01)
    return events


def test_a_rename_in_and_a_write_in_place_are_told_apart(tmp_path: Path) -> None:
    watched = tmp_path / "incoming"
    watched.mkdir()
    inotify = Inotify()
    try:
        inotify.add(watched)
        (tmp_path / "a.yaml").write_text("source: Crab\n")
        os.rename(tmp_path / "a.yaml", watched / "a.yaml")
        with open(watched / "b.yaml", "w") as handle:
            handle.write("source: ")
            handle.flush()
            handle.write("Crab\n")
        os.rename(watched / "b.yaml", tmp_path / "b.yaml")
        events = _drain(inotify)
    finally:
        inotify.close()
    seen = [(e.name, e.mask & (IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM)) for e in events]
    assert seen[0] == ("a.yaml", IN_MOVED_TO)
    assert [mask for name, mask in seen if name == "b.yaml"][:1] == [IN_CREATE]
    assert IN_CLOSE_WRITE in [mask for name, mask in seen if name == "b.yaml"]
    assert seen[-1] == ("b.yaml", IN_MOVED_FROM)
    assert all(e.folder == watched for e in events)


def test_a_full_kernel_queue_is_reported_as_an_overflow(tmp_path: Path) -> None:
    watched = tmp_path / "incoming"
    watched.mkdir()
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    inotify = Inotify()
    try:
        inotify.add(watched)
        for i in range(limit // 2 + 10):  # two events each (create, close): more than the queue holds
            (watched / f"f{i}").touch()
        events = []
        while True:
            got = inotify.read()
            if not got:
                break
            events += got
    finally:
        inotify.close()
    assert events[-1].overflow and events[-1].folder is None
    assert len(events) == limit + 1


def test_watching_a_missing_folder_is_an_error_with_the_folder_named(tmp_path: Path) -> None:
    inotify = Inotify()
    try:
        try:
            inotify.add(tmp_path / "nowhere")
        except OSError as error:
            assert "nowhere" in str(error)
        else:
            raise AssertionError("watching a missing folder succeeded")
    finally:
        inotify.close()


def test_the_reader_thread_survives_a_failing_handler_and_a_removed_folder(tmp_path: Path) -> None:
    watched = tmp_path / "incoming"
    watched.mkdir()
    seen: list[str] = []
    arrived = threading.Event()

    def handler(event) -> None:
        seen.append(event.name)
        arrived.set()
        if event.name == "bad":
            raise RuntimeError("a handler bug")

    reader = InotifyReader([watched], handler)
    reader.start()
    try:
        (watched / "bad").touch()
        assert arrived.wait(2)
        arrived.clear()
        (watched / "good").touch()
        assert arrived.wait(2)
        assert reader.is_alive()
        (watched / "bad").unlink()
        (watched / "good").unlink()
        watched.rmdir()
        time.sleep(0.2)
        assert reader.is_alive()
    finally:
        reader.stop()
    assert not reader.is_alive()
    assert "good" in seen


def test_the_watcher_claims_each_drop_that_follows_a_claim(tmp_path: Path) -> None:
    """Drops interleaved with claims (moves out of incoming, which watchdog held back to pair):
    every drop reaches the watcher's claim, in order. How fast is bench-intake's figure."""
    incoming, claimed = tmp_path / "incoming", tmp_path / "claimed"
    incoming.mkdir()
    claimed.mkdir()
    order: list[str] = []
    took = threading.Event()

    def on_complete(name: str) -> None:
        os.rename(incoming / name, claimed / name)  # a claim: a move out of the watched folder
        order.append(name)
        took.set()

    watcher = Watcher([incoming], Wakeup(), poll=False, incoming=incoming, on_complete=on_complete)
    watcher.start()
    try:
        assert watcher.mode == "inotify"
        for i in range(20):
            tmp = tmp_path / f".r{i}.part"
            tmp.write_text("source: Crab\n")
            took.clear()
            os.rename(tmp, incoming / f"r{i}.yaml")
            assert took.wait(30), f"r{i}.yaml was not claimed"  # a guard against a hang, not a speed test
    finally:
        watcher.stop()
    assert order == [f"r{i}.yaml" for i in range(20)]
    assert not os.listdir(incoming)
