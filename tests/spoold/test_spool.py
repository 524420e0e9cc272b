"""The spool's parts on their own: claims, atomic writes, the lock, the watcher's choice, taskrun, local executor."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from spoold import events
from spoold.executors.base import StepJob, Task, TaskState
from spoold.executors.local import LocalExecutor
from spoold.files import write_atomic
from spoold.lock import SpoolLock, SpoolLocked, holder_alive
from spoold.spool import ID_RE, Spool, new_request_id
from spoold.taskrun import EXIT_ALREADY_STARTED, read_result
from spoold.watch import filesystem_type, needs_polling


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    s = Spool(tmp_path / "spool")
    s.init()
    return s


def test_ids_are_unique_and_readable() -> None:
    ids = {new_request_id("Crab Nebula.yaml") for _ in range(200)}
    assert len(ids) > 190  # 4 hex digits per second: collisions are rare and handled at claim
    assert all(ID_RE.match(i) and "-crab-nebula-" in i for i in ids)
    assert ID_RE.match(new_request_id("../../etc/passwd"))


def test_claim_takes_each_file_once_among_racing_claimers(spool: Spool) -> None:
    for i in range(200):
        (spool.dir("incoming") / f"r{i}.yaml").write_text("x")
    got: list = []

    def claimer() -> None:
        for name in sorted(os.listdir(spool.dir("incoming"))):
            claimed = spool.claim(name)
            if claimed is not None:
                got.append(claimed.name)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(f"r{i}.yaml" for i in range(200))
    assert len(spool.list("intake")) == 200
    assert not os.listdir(spool.dir("incoming"))


def test_claim_keeps_the_submit_id_but_trusts_no_sidecar(spool: Spool) -> None:
    rid = new_request_id("req.yaml")
    spool.drop(b"source: Crab\n", rid)
    (spool.dir("incoming") / "mail1.origin.json").write_text('{"from": "boss@example.org"}')
    (spool.dir("incoming") / "mail1.yaml").write_text("source: Crab\n")
    # a sidecar dropped beside a request is just another file: the daemon rejects it with a sentence
    assert set(spool.incoming_names()) == {f"{rid}.yaml", "mail1.yaml", "mail1.origin.json"}
    assert spool.claim(f"{rid}.yaml").request_id == rid
    mail = spool.claim("mail1.yaml")
    assert mail.via == "file" and not (mail.folder / "origin.json").exists()
    assert (spool.dir("incoming") / "mail1.origin.json").exists()


def test_only_the_bridges_folder_in_mailin_carries_an_origin(spool: Spool) -> None:
    rid = new_request_id("mail")
    part = spool.dir("mailin") / f".{rid}.part"
    part.mkdir()
    (part / "request.yaml").write_text("source: Crab\n")
    (part / "origin.json").write_text('{"from": "analyst@example.org"}')
    assert spool.mailin_names() == []  # still being written
    part.rename(spool.dir("mailin") / rid)
    claimed = spool.claim_mail(rid)
    assert claimed.via == "email" and claimed.request_id == rid
    assert (claimed.folder / "origin.json").is_file() and (claimed.folder / "request.yaml").is_file()
    assert oct(spool.dir("mailin").stat().st_mode & 0o777) == "0o755"


def test_a_file_named_after_an_existing_request_gets_an_id_of_its_own(spool: Spool) -> None:
    rid = new_request_id("crab")
    spool.drop(b"source: Crab\n", rid)
    first = spool.claim(f"{rid}.yaml")
    spool.move(first.request_id, "intake", "pending")
    (spool.dir("incoming") / f"{rid}.yaml").write_text("source: Crab\n")
    second = spool.claim(f"{rid}.yaml")
    assert second.request_id != rid and (spool.dir("pending") / rid).is_dir()
    (spool.dir("incoming") / f"{rid}.yml").write_text("source: Crab\n")
    assert spool.claim(f"{rid}.yml").request_id not in (rid, second.request_id)


def test_a_move_never_takes_the_place_of_another_folder(spool: Spool) -> None:
    rid = new_request_id("crab")
    (spool.dir("intake") / rid).mkdir()
    (spool.dir("done") / rid).mkdir()  # empty: a plain rename would replace it silently
    with pytest.raises(FileExistsError):
        spool.move(rid, "intake", "done")
    assert (spool.dir("intake") / rid).is_dir()


def test_dotfiles_and_partial_names_are_not_requests(spool: Spool) -> None:
    for name in (".hidden.yaml", "a.yaml.part", "b.tmp", "c.yaml~", "ok.yaml"):
        (spool.dir("incoming") / name).write_text("x")
    assert spool.incoming_names() == ["ok.yaml"]


def test_settled_waits_for_a_quiet_file(spool: Spool) -> None:
    path = spool.dir("incoming") / "slow.yaml"
    path.write_text("x")
    now = time.time()
    assert not spool.settled("slow.yaml", 0.5, now=now)
    assert spool.settled("slow.yaml", 0.5, now=now + 1.0)


def test_write_atomic_never_shows_half_a_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomic(target, "old")
    stop = threading.Event()
    seen = set()

    def reader() -> None:
        while not stop.is_set():
            seen.add(target.read_text())

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(300):
        write_atomic(target, "new" * 1000 if i % 2 else "old")
    stop.set()
    thread.join()
    assert seen <= {"old", "new" * 1000}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_events_append_once_is_idempotent(tmp_path: Path) -> None:
    record = events.make("step-done", step="dl2", attempt=1)
    assert events.append_once(tmp_path, record)
    assert not events.append_once(tmp_path, events.make("step-done", step="dl2", attempt=1))
    assert events.append_once(tmp_path, events.make("step-done", step="dl2", attempt=2))
    with open(tmp_path / "events.jsonl", "a") as handle:
        handle.write('{"torn": ')  # a crash in the middle of a line
    assert len(events.read(tmp_path)) == 2


def test_lock_refuses_a_second_holder_and_names_the_first(spool: Spool) -> None:
    first = SpoolLock(spool.root)
    first.acquire()
    try:
        with pytest.raises(SpoolLocked, match=f"spoold pid {os.getpid()} on host"):
            SpoolLock(spool.root).acquire()
    finally:
        first.release()
    SpoolLock(spool.root).acquire()  # free again


def test_lock_of_a_dead_process_is_stale(spool: Spool) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (spool.root / "spoold.lock").write_text(json.dumps(
        {"host": socket.gethostname(), "pid": dead.pid, "pid_start": 1, "heartbeat": time.time()}))
    lock = SpoolLock(spool.root)
    lock.acquire()  # no flock held and the pid is gone: stale
    lock.release()
    other_host = {"host": "elsewhere", "pid": 1, "heartbeat": time.time()}
    assert holder_alive(other_host)
    assert not holder_alive({**other_host, "heartbeat": time.time() - 3600})


def test_network_filesystems_are_watched_by_polling(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\nmds@tcp:/fefs /fefs lustre rw 0 0\n"
                      "nas:/home /home/data nfs4 rw 0 0\n")
    assert filesystem_type(Path("/fefs/aswg/spool"), str(mounts)) == "lustre"
    assert filesystem_type(Path("/home/data/x"), str(mounts)) == "nfs4"
    assert filesystem_type(Path("/tmp"), str(mounts)) == "ext4"
    assert needs_polling(Path("/proc")) is False


def test_taskrun_once_never_runs_a_task_twice(tmp_path: Path) -> None:
    result, log, marker = tmp_path / "r.json", tmp_path / "t.log", tmp_path / "ran"
    argv = [sys.executable, "-m", "spoold.taskrun", "--once", "--result", str(result), "--log", str(log),
            "--", "sh", "-c", f"echo run >> {marker}; exit 4"]
    assert subprocess.run(argv).returncode == 4
    assert read_result(result).exit_code == 4
    assert subprocess.run(argv).returncode == EXIT_ALREADY_STARTED
    assert marker.read_text() == "run\n"


def test_taskrun_records_the_peak_memory_of_what_its_command_ran(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    grandchild = f"{sys.executable} -c 'b = bytearray(300 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096])'"
    argv = [sys.executable, "-m", "spoold.taskrun", "--result", str(result), "--log", str(tmp_path / "t.log"),
            "--", "sh", "-c", grandchild]  # the shell runs python: the peak is the grandchild's
    assert subprocess.run(argv).returncode == 0
    assert 300 <= json.loads(result.read_text())["max_rss_mb"] < 600


def _job(tmp_path: Path, seconds: float, n: int = 2) -> StepJob:
    tasks = tuple(
        Task(i, f"t{i}", ("sh", "-c", f"echo {i} >> {tmp_path / 'journal'}; sleep {seconds}"),
             tmp_path / "res" / f"t{i}.json", tmp_path / "logs" / f"t{i}.log")
        for i in range(n)
    )
    return StepJob("rid", "dl2", 1, tasks, tmp_path)


def _poll_until(executor: LocalExecutor, handle: dict, predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = executor.poll([handle])[0]
        if predicate(answer):
            return answer
        time.sleep(0.05)
    raise AssertionError(f"timeout: {answer.tasks}")


def test_local_executor_bounds_its_pool_and_reattaches_after_a_restart(tmp_path: Path) -> None:
    first = LocalExecutor(max_tasks=1)
    handle = first.submit(_job(tmp_path, 1.0))
    answer = _poll_until(first, handle, lambda a: a.tasks[0].state is TaskState.RUNNING)
    assert answer.tasks[1].state is TaskState.QUEUED  # one slot
    handle = json.loads(json.dumps(answer.handle))  # as stored in state.json
    second = LocalExecutor(max_tasks=1)  # a restarted daemon
    answer = _poll_until(second, handle, lambda a: a.finished)
    assert all(s.state is TaskState.SUCCEEDED for s in answer.tasks.values())
    assert sorted((tmp_path / "journal").read_text().split()) == ["0", "1"]  # each ran once
    assert first.poll([handle])[0].finished  # the old one agrees


def test_local_executor_cancel_kills_the_process_group(tmp_path: Path) -> None:
    executor = LocalExecutor(max_tasks=2)
    handle = executor.submit(_job(tmp_path, 60))
    _poll_until(executor, handle, lambda a: all(s.state is TaskState.RUNNING for s in a.tasks.values()))
    t0 = time.monotonic()
    executor.cancel(handle)
    answer = executor.poll([handle])[0]
    assert answer.finished
    assert all(s.state is TaskState.CANCELLED for s in answer.tasks.values()), answer.tasks
    print(f"cancel took {time.monotonic() - t0:.2f} s")
