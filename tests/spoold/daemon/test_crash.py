"""Crash safety: SIGKILL the daemon at ≥ 50 random moments across a burst of ≥ 20 requests.

After every kill the daemon is restarted. At the end every request is in
exactly one terminal folder, none is lost or duplicated, no task ran twice
(each cheap task appends one line to its request's journal.txt) and no step
was journalled as completed twice (``step-done`` in events.jsonl).
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.helpers.spool import drop, make_tree, request_yaml, spool_cmd, start_daemon, stop_daemon
from tests.helpers.waiting import wait_for

REQUESTS = 24
KILLS = 60
TERMINAL = ("done", "failed", "rejected", "cancelled")
ALL = ("intake", "pending", "running", "hold", *TERMINAL)


def _census(spool: Path) -> dict[str, list[str]]:
    """request id -> the folders holding it."""
    found: dict[str, list[str]] = collections.defaultdict(list)
    for state in ALL:
        for folder in (spool / state).iterdir():
            if folder.is_dir():
                found[folder.name].append(state)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("products", ["in the spool", "in output_root"])
def test_sigkill_at_random_moments_loses_nothing_and_runs_nothing_twice(tmp_path: Path, products: str) -> None:
    """With ``output_root`` the kills also hit the move of the products out of the spool."""
    rng = random.Random(int(os.environ.get("ASTRAN_CRASH_SEED", "20231207")))
    make_tree(tmp_path / "data")
    spool = tmp_path / "spool"
    spool_cmd("init", str(spool), cwd=tmp_path)
    site = tmp_path / "site.yaml"
    output_root = tmp_path / "products" if products == "in output_root" else None
    site.write_text("limits: {reconcile_seconds: 0.3, settle_seconds: 0.05, max_tasks_in_flight: 3, "
                    "max_requests_in_flight: 4}\n" + (f"output_root: {output_root}\n" if output_root else ""))
    log = tmp_path / "daemon.log"
    names = []
    bad = set()
    for i in range(REQUESTS):
        name = f"r{i:02d}.yaml"
        if i % 8 == 5:
            data, _ = b"source: Crab\nnigth: 2023-12-07\n", bad.add(name)
        else:
            runs = rng.sample([15864, 15865, 15866], k=rng.randint(1, 3))
            data = request_yaml(runs=sorted(runs))
        names.append((name, data))

    proc = start_daemon(spool, log, seconds=0.15, config=site)
    kills = 0
    dropped = 0
    t0 = time.monotonic()
    while kills < KILLS:
        # drop the burst in a few waves, so kills also hit intake
        while dropped < len(names) and (dropped < kills // 2 + 4 or kills > KILLS // 2):
            drop(spool, *names[dropped])
            dropped += 1
        time.sleep(rng.uniform(0.05, 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        proc = start_daemon(spool, log, seconds=0.15, config=site)
    assert dropped == len(names)
    print(f"\n{kills} SIGKILLs in {time.monotonic() - t0:.1f} s")

    def settled() -> bool:
        census = _census(spool)
        return len(census) == REQUESTS and all(
            len(v) == 1 and v[0] in TERMINAL for v in census.values()) and not os.listdir(spool / "incoming")

    wait_for(settled, timeout=300, interval=0.2, what="every request to finish")
    stop_daemon(proc)
    print(f"all {REQUESTS} requests terminal {time.monotonic() - t0:.1f} s after the first drop")

    census = _census(spool)
    assert len(census) == REQUESTS, "a request was lost or duplicated"
    assert all(len(states) == 1 for states in census.values()), census
    by_name = {}
    for rid, (state,) in census.items():
        folder = spool / state / rid
        record = json.loads((folder / "state.json").read_text())
        by_name[record["incoming_name"]] = (state, folder)
    assert sorted(by_name) == sorted(n for n, _ in names), "a request was lost or duplicated"
    for name, (state, folder) in by_name.items():
        if name in bad:
            assert state == "rejected" and "nigth" in (folder / "errors.txt").read_text()
            continue
        assert state == "done", f"{name} ended {state}: {(folder / 'error.txt').read_text() if state == 'failed' else ''}"
        runs = json.loads((folder / "state.json").read_text())["runs"]
        journal = [" ".join(line.split()[:2]) for line in (folder / "journal.txt").read_text().splitlines()]
        expected = [f"dl3 run{r:05d}" for r in runs] + ["index index", "report report"]
        assert sorted(journal) == sorted(expected), f"{name}: a task ran twice or never: {journal}"
        events = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
        done = collections.Counter(e["step"] for e in events if e["event"] == "step-done")
        assert done == {"resolve": 1, "dl3": 1, "index": 1, "report": 1}, f"{name}: {done}"
        assert [e["event"] for e in events].count("done") == 1
        assert [e["event"] for e in events].count("accepted") == 1
        if output_root is not None:  # every product moved out once, none left behind, the summary says where
            import pwd

            mine = output_root / pwd.getpwuid(os.getuid()).pw_name / folder.name  # products_per_user
            moved = mine / "out"
            assert sorted(p.name for p in moved.iterdir()) == sorted(
                [f"dl3.run{r:05d}" for r in runs] + ["index.index", "report.report"]), name
            assert not (folder / "products").exists() or not any((folder / "products").rglob("*")), name
            summary = json.loads((folder / "summary.json").read_text())
            assert summary["products_dir"] == str(mine), name
