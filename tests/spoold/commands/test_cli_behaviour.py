"""The ``spool`` and ``spoold`` command lines, tried as a new user would (issue 14, the command-line list).

Exit codes: 0 done, 1 refused or an invalid request, 2 usage, a missing file or a bad
site/spool. No traceback on a closed pipe; typed ``--json``; ``spoold -v`` logs every
journal event; the site file is found by ``$ASTRAN_SITE`` when no ``--config`` is given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.spool import PYTHON, daemon_command, make_tree, request_yaml, spool_cmd, state_of
from tests.helpers.waiting import wait_for
from tests.helpers.poison import Spool


def _spool(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "spoold.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_status_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool_cmd("init", str(spool), cwd=tmp_path)
    for i in range(3000):
        (spool / "incoming" / f"r{i:04d}.yaml").write_bytes(b"x")
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m spoold.cli status --spool {spool} | head -2; "
                                         "echo \"exit ${PIPESTATUS[0]}\""],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.stdout.splitlines()[-1] == "exit 0"


def test_the_site_file_is_found_by_astran_site_and_the_sentence_names_config(tmp_path: Path) -> None:
    spool = tmp_path / "elsewhere" / "spool"
    site = tmp_path / "site.yaml"
    site.write_text(f"spool: {spool}\n")
    spool_cmd("init", "--config", str(site), cwd=tmp_path)
    shown = _spool("status", cwd=tmp_path, env={"ASTRAN_SITE": str(site)})
    assert shown.returncode == 0 and f"spool {spool}:" in shown.stdout
    lost = _spool("status", cwd=tmp_path, env={"ASTRAN_SITE": ""})
    assert lost.returncode == 2 and "--config" in lost.stderr and "ASTRAN_SITE" in lost.stderr


def test_validate_tells_a_missing_file_from_an_invalid_request(tmp_path: Path) -> None:
    spool_cmd("init", str(tmp_path / "spool"), cwd=tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("sorce: Crab\n")
    invalid = _spool("validate", str(bad), "--spool", str(tmp_path / "spool"), cwd=tmp_path)
    missing = _spool("validate", str(tmp_path / "nothing.yaml"), "--spool", str(tmp_path / "spool"), cwd=tmp_path)
    assert invalid.returncode == 1 and "did you mean 'source'" in invalid.stdout
    assert missing.returncode == 2 and "is not there" in missing.stdout


def test_status_json_is_typed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    rid = spool.submit(request_yaml(runs=(15864,)).decode(), "crab.yaml")
    once = subprocess.run(daemon_command(spool.root, config=spool.site, once=True), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert once.returncode == 0, once.stderr[-2000:]
    (spool.root / "incoming" / "later.yaml").write_bytes(request_yaml())
    rows = json.loads(_spool("status", "--json", "--spool", str(spool.root), cwd=tmp_path).stdout)
    by_file = {row["file"]: row for row in rows}
    waiting = by_file["later.yaml"]
    assert waiting["id"] is None and waiting["state"] == "incoming" and waiting["runs"] is None
    done = next(row for row in rows if row["id"] == rid)
    assert done["runs"] == 1 and done["night"] == "2023-12-07" and done["progress"] is None
    assert done["file"] == f"{rid}.yaml" and "" not in done.values()


def test_spoold_verbose_logs_every_journal_event(tmp_path: Path) -> None:
    make_tree(tmp_path / "data")
    spool = tmp_path / "spool"
    spool_cmd("init", str(spool), cwd=tmp_path)
    rid = spool_cmd("submit", str(_write(tmp_path / "crab.yaml", request_yaml(runs=(15864,)))), "--spool",
                    str(spool), cwd=tmp_path).stdout.strip()
    once = subprocess.run([PYTHON, "-m", "spoold.daemon.cli", "--spool", str(spool), "--once", "-v"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert once.returncode == 0, once.stderr[-3000:]
    journal = [json.loads(line) for line in (spool / "failed" / rid / "events.jsonl").read_text().splitlines()]
    assert len(journal) >= 3  # accepted, step-done resolve, failed dl3 (the placeholder DL2 is no DL2)
    logged = [line for line in once.stderr.splitlines() if f" {rid} " in line]
    for event in journal:
        assert any(f"{rid} {event['event']}" in line for line in logged), (event, logged)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_cancelled_running_task_is_shown_cancelled(tmp_path: Path) -> None:
    spool = Spool(tmp_path, seconds=20.0)
    spool.start()
    try:
        rid = spool.submit(request_yaml().decode(), "long.yaml")
        wait_for(lambda: any(t.get("state") == "running" for t in
                             state_of(spool.root, rid).get("steps", {}).get("dl3", {}).get("tasks", {}).values()),
                 what="a running task")
        spool_cmd("cancel", rid, "--spool", str(spool.root), "--config", str(spool.site), cwd=tmp_path)
        tasks = state_of(spool.root, rid)["steps"]["dl3"]["tasks"].values()
        assert {t["state"] for t in tasks} == {"cancelled"}
        shown = spool.status(rid)
        assert "running" not in shown.split("events:")[0].split("step dl3")[1]
    finally:
        spool.stop()


def test_an_action_on_a_request_still_in_incoming_with_no_daemon_is_left_at_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    rid = spool.submit(request_yaml().decode(), "crab.yaml")  # in incoming; no daemon runs
    for action in ("hold", "cancel"):
        asked = _spool(action, rid, "--spool", str(spool.root), cwd=tmp_path)
        assert asked.returncode == 0, asked.stderr
        assert "no daemon serves" in asked.stdout and "has not answered" not in asked.stdout
        assert (spool.root / "control" / f"{rid}.{action}").is_file()


def test_status_shows_every_night_of_a_several_night_request(tmp_path: Path) -> None:
    """A request with ``nights:`` has no single ``night``: status names its nights, in the table and the detail."""
    from spoold import state as st
    from spoold.spool import Spool as Folders

    folders = Folders(tmp_path / "spool")
    folders.init()
    rid = "20261202-120000-crab-0a1b"
    folder = folders.dir("pending") / rid
    folder.mkdir()
    nights = ["2023-12-05", "2023-12-06", "2023-12-07"]
    st.save(folder, st.new_state(rid, request={"source": "Crab", "night": None, "nights": nights,
                                               "products": ["dl3"]}))
    row = json.loads(spool_cmd("status", "--json", "--spool", str(folders.root), cwd=tmp_path).stdout)
    row = row[0] if isinstance(row, list) else next(r for r in row["requests"] if r["id"] == rid)
    assert row["nights"] == nights and row["night"] == "2023-12-05…2023-12-07 (3)"
    detail = spool_cmd("status", rid, "--spool", str(folders.root), cwd=tmp_path).stdout
    assert "nights    2023-12-05, 2023-12-06, 2023-12-07" in detail
