"""Hostile input dropped into a running daemon: every case rejected with its reason, the daemon lives on.

Drives engineer "request"'s corpus (:mod:`tests.helpers.hostile`) end to end: each case
ends in ``rejected/<id>/`` with the original bytes (or the entry itself: folder,
link, FIFO) kept and ``errors.txt`` containing the expected phrase; the odd but
valid requests and good ones dropped among them complete.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.helpers.spool import drop, make_tree, request_yaml, spool_cmd, start_daemon, stop_daemon
from tests.helpers.waiting import wait_for
from tests.helpers.hostile import HOSTILE_CASES, VALID_CASES, create_case, prepare_data


def _claimed(spool: Path) -> dict[str, tuple[str, Path]]:
    """incoming name -> (state folder, request folder) for everything the daemon took."""
    found = {}
    for state in ("pending", "running", "done", "failed", "rejected", "cancelled"):
        for folder in (spool / state).iterdir():
            try:
                name = json.loads((folder / "state.json").read_text())["incoming_name"]
            except (OSError, ValueError, KeyError):
                continue
            found[name] = (state, folder)
    return found


def test_hostile_corpus_is_rejected_and_good_requests_complete(tmp_path: Path) -> None:
    assert len(HOSTILE_CASES) >= 40
    make_tree(tmp_path / "data")
    prepare_data(tmp_path / "data")
    spool = tmp_path / "spool"
    spool_cmd("init", str(spool), cwd=tmp_path)
    site = tmp_path / "site.yaml"
    site.write_text("limits: {reconcile_seconds: 0.5, settle_seconds: 0.5}\n")
    proc = start_daemon(spool, tmp_path / "daemon.log", seconds=0.05, config=site)
    try:
        writers = []
        goods = []
        for i, case in enumerate(HOSTILE_CASES):
            thread = create_case(case, spool / "incoming")
            if thread is not None:
                writers.append(thread)
            if i % 10 == 0:
                name = f"good-{i:02d}.yaml"
                drop(spool, name, request_yaml(runs=(15864,)))
                goods.append(name)
        for name, data in VALID_CASES:
            drop(spool, f"valid-{name}.yaml", data)
            goods.append(f"valid-{name}.yaml")
        for thread in writers:
            thread.join()
        expected = {f"{c.name}.yaml" for c in HOSTILE_CASES} | set(goods)

        def all_terminal():
            claimed = _claimed(spool)
            return set(claimed) >= expected and all(
                s in ("done", "failed", "rejected") for s, _ in claimed.values())

        wait_for(all_terminal, timeout=240, interval=0.2, what="every case to be handled")
        assert proc.poll() is None, "the daemon died"
        claimed = _claimed(spool)
        problems = []
        for case in HOSTILE_CASES:
            state, folder = claimed[f"{case.name}.yaml"]
            if state != "rejected":
                problems.append(f"{case.name}: ended {state}")
                continue
            errors = (folder / "errors.txt").read_text()
            if case.phrase not in errors:
                problems.append(f"{case.name}: {case.phrase!r} not in {errors!r}")
            kept = folder / "request.yaml"
            mode = os.lstat(kept).st_mode
            if case.kind in ("file", "oversize", "slow"):
                if kept.read_bytes() != case.bytes_for():
                    problems.append(f"{case.name}: the original bytes were not kept")
            elif case.kind == "directory":
                ok = stat.S_ISDIR(mode) and (kept / "request.yaml").read_bytes() == case.content
                problems += [] if ok else [f"{case.name}: the folder was not kept as it was"]
            elif case.kind == "symlink":
                ok = stat.S_ISLNK(mode) and os.readlink(kept) == "/etc/passwd"
                problems += [] if ok else [f"{case.name}: the link was not kept as it was"]
            elif case.kind == "fifo" and not stat.S_ISFIFO(mode):
                problems.append(f"{case.name}: the FIFO was not kept")
        for name in goods:
            state, folder = claimed[name]
            if state != "done":
                problems.append(f"{name}: a good request ended {state}: "
                                f"{(folder / 'errors.txt').read_text() if state == 'rejected' else ''}")
        assert not problems, "\n".join(problems)
        assert not os.listdir(spool / "incoming")
        # still serving after all that
        drop(spool, "after.yaml", request_yaml(runs=(15865,)))
        wait_for(lambda: _claimed(spool).get("after.yaml", ("",))[0] == "done", timeout=60, what="after.yaml")
        print(f"\n{len(HOSTILE_CASES)} hostile cases rejected, {len(goods)} good requests done")
    finally:
        stop_daemon(proc)
