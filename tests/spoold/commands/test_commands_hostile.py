"""Issue 11, case 9 and the refusals: ids checked before any path is built; refused actions exit non-zero.

``spool cancel|hold|release|retry|status ID`` with an id that is a path
(``../rejected/<id>/request``) or too long for a file name must say what an id
looks like and exit 2 without writing anything; the daemon sets aside a control
file whose name is not ``<id>.<action>``. An action the request's state does
not allow exits 1, whether the command applies it itself (no daemon: it takes
the lock) or the daemon answers it through ``control/``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers.spool import drop, request_yaml, spool_cmd, where
from tests.helpers.waiting import wait_for
from tests.helpers.spool import once_command, request_id_of, terminal

ACTIONS = ("cancel", "hold", "release", "retry")


def _tree(root: Path) -> set[str]:
    """Every path under ``root`` (files and folders), relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _run_once(spool: Path, *extra: str) -> None:
    """Run the cheap daemon with ``--once`` until the spool is drained."""
    subprocess.run(once_command(spool) + list(extra), check=True, timeout=120)


def _spool(spool: Path, *args: str) -> subprocess.CompletedProcess:
    return spool_cmd(*args, "--spool", str(spool), cwd=spool.parent, check=False)


def test_ids_that_are_paths_or_too_long_are_refused_before_any_path_is_built(spool: Path) -> None:
    drop(spool, "bad.yaml", b"sorce: Crab\n")
    _run_once(spool)
    rejected = next((spool / "rejected").iterdir()).name
    assert (spool / "rejected" / rejected / "request.yaml").is_file()
    before = _tree(spool.parent)
    for bad_id in (f"../rejected/{rejected}/request", "x" * 300, f"{rejected}/../../x"):
        for command in (*ACTIONS, "status"):
            proc = _spool(spool, command, bad_id)
            assert proc.returncode == 2, (command, bad_id, proc.stderr)
            assert "is not a request id: an id looks like" in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr + proc.stdout
            assert len(proc.stderr) < 400  # a 300-character id is not repeated in full
    assert _tree(spool.parent) == before  # nothing written, inside control/ or out of it


def test_the_daemon_sets_aside_control_files_that_name_no_request_id(spool: Path) -> None:
    control = spool / "control"
    names = ("x" * 240 + ".cancel", "not-an-id.retry", "20231208-101500-a-3f9a.x.hold")
    for name in names:
        (control / name).write_text("{}")
    log = spool.parent / "once.log"
    with open(log, "wb") as out:
        # before: the 240-character one could never be answered (its answer's name is too long),
        # so it stayed and --once never returned
        subprocess.run(once_command(spool), check=True, timeout=60, stdout=out, stderr=subprocess.STDOUT)
    assert sorted(os.listdir(control)) == [".set-aside"]
    assert sorted(os.listdir(control / ".set-aside")) == sorted(names)
    assert log.read_text().count("names no valid request id: set aside") == len(names)


def _finished_and_failed(spool: Path) -> tuple[str, str]:
    """A done request and a failed one, made by --once daemons."""
    drop(spool, "ok.yaml", request_yaml(runs=(15864,)))
    _run_once(spool)
    done = request_id_of(spool, "ok.yaml")
    drop(spool, "fails.yaml", request_yaml(runs=(15865,)))
    _run_once(spool, "--fail-step", "index")
    failed = request_id_of(spool, "fails.yaml")
    assert where(spool, done) == ["done"] and where(spool, failed) == ["failed"]
    return done, failed


def _refused(spool: Path, action: str, rid: str, sentence: str, code: int = 1) -> None:
    """The action exits ``code`` (1: refused for the request's state; 2: no such request) with ``sentence``."""
    proc = _spool(spool, action, rid)
    assert proc.returncode == code, (action, proc.stdout, proc.stderr)
    assert sentence in proc.stderr and "is hold" not in proc.stderr + proc.stdout, proc.stderr
    assert "Traceback" not in proc.stderr


def _done(spool: Path, action: str, rid: str, sentence: str) -> None:
    proc = _spool(spool, action, rid)
    assert proc.returncode == 0, (action, proc.stdout, proc.stderr)
    assert sentence in proc.stdout, proc.stdout


def _refusals_of_a_done_request(spool: Path, done: str) -> None:
    _refused(spool, "retry", done, f"{done} is done: only failed or cancelled requests can be retried.")
    _refused(spool, "cancel", done, f"{done} is done: only pending, running or held requests can be cancelled.")
    _refused(spool, "hold", done, f"{done} is done: only pending or running requests can be held.")
    _refused(spool, "release", done, f"{done} is done, not held")
    _refused(spool, "retry", "20991231-235959-nothing-0000", "There is no request 20991231-235959-nothing-0000", code=2)


def test_refusals_exit_non_zero_when_the_command_applies_them(spool: Path) -> None:
    done, failed = _finished_and_failed(spool)
    _refusals_of_a_done_request(spool, done)
    _refused(spool, "release", failed, f"{failed} is failed, not held")
    _done(spool, "retry", failed, "pending again (attempt 2)")
    _refused(spool, "retry", failed, f"{failed} is pending: only failed or cancelled")
    _refused(spool, "release", failed, f"{failed} is pending, not held")
    _done(spool, "hold", failed, f"{failed} is held")
    _refused(spool, "hold", failed, f"{failed} is held already")
    _refused(spool, "retry", failed, f"{failed} is held: only failed or cancelled")
    _done(spool, "release", failed, f"{failed} is released")
    _done(spool, "cancel", failed, f"{failed} is cancelled")
    _refused(spool, "cancel", failed, f"{failed} is cancelled: only pending, running or held")
    assert where(spool, failed) == ["cancelled"] and where(spool, done) == ["done"]


def test_refusals_exit_non_zero_when_the_daemon_answers_them(spool: Path, daemon) -> None:
    done, failed = _finished_and_failed(spool)
    proc = daemon(seconds=30)  # the retried request's first task runs for long: it stays running
    wait_for(lambda: "served by spoold" in _spool(spool, "status").stdout, what="the daemon")
    _refusals_of_a_done_request(spool, done)
    _refused(spool, "release", failed, f"{failed} is failed, not held")
    _done(spool, "retry", failed, "pending again (attempt 2)")
    results = spool / "running" / failed / "logs" / "index" / ".results"  # dl3 is skipped: its outputs exist
    wait_for(lambda: results.is_dir() and list(results.glob("*.attempt2.json.started")),
             what="the retried request's task to start")
    _refused(spool, "retry", failed, f"{failed} is running: only failed or cancelled")
    _refused(spool, "release", failed, f"{failed} is running, not held")
    _done(spool, "hold", failed, f"{failed} will be held when its running step ends")
    _done(spool, "release", failed, f"{failed} is no longer to be held")
    _done(spool, "cancel", failed, f"{failed} is cancelled")
    assert terminal(spool, failed) == "cancelled"
    _refused(spool, "hold", failed, f"{failed} is cancelled: only pending or running")
    assert proc.poll() is None  # the daemon answered every one and still serves
    assert not [n for n in os.listdir(spool / "control") if not n.startswith(".set-aside")]
