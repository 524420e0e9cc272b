"""``spool/status.html`` and ``spool status --page`` (issue 16, point 4), on a spool with a request in every
state, made by the real daemon (cheap steps) and the ``spool`` command: done, failed, rejected, waiting for
data, running (its tasks killed with the daemon mid-step), held, cancelled, pending and a file not yet
picked up; a standing order. The page is checked in headless Chromium at a phone's and a desktop's width:
a screenshot of each, no horizontal scrolling on the phone, and in the DOM each request with its state,
its tasks' job ids and links that lead to files that are there.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from tests.helpers.browser import console_lines, run_chromium
from tests.helpers.spool import (daemon_command, make_tree, request_id_of, request_yaml, spool_cmd, start_daemon,
                                 state_of, where)
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

PROBE = """<script>window.addEventListener("load", () => {
  const p = document.createElement("pre"); p.id = "probe";
  p.textContent = [document.documentElement.scrollWidth, window.innerWidth].join(",");
  document.body.appendChild(p);
});</script>"""


def _submit(tmp_path: Path, site: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return spool_cmd("submit", str(path), "--config", str(site), cwd=tmp_path).stdout.strip()


def _once(tmp_path: Path, site: Path, **options) -> None:
    ran = subprocess.run(daemon_command(tmp_path / "spool", once=True, config=site, **options), cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]


@pytest.fixture(scope="module")
def spool(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("status-page")
    make_tree(tmp / "data")
    make_tree(tmp / "data", night="20231209", runs=(15900,), dl2=False)  # its run's DL2 never comes
    site = tmp / "site.yaml"
    site.write_text(f"spool: {tmp / 'spool'}\ndata: {{root: {tmp / 'data'}}}\n"
                    "limits: {data_wait_hours: 24, data_settle_seconds: 0, settle_seconds: 0.05, "
                    "max_requests_in_flight: 1}\n")
    spool_cmd("init", str(tmp / "spool"), "--config", str(site), cwd=tmp)
    ids = {"done": _submit(tmp, site, "good.yaml", request_yaml())}
    _once(tmp, site, seconds=0.1)
    ids["failed"] = _submit(tmp, site, "bad-step.yaml", request_yaml(runs=[15864]))
    _once(tmp, site, seconds=0.1, fail_step="dl3")
    (tmp / "spool" / "incoming" / "typo.yaml").write_bytes(b"source: Crab\nnigth: 2023-12-07\n")
    ids["waiting"] = _submit(tmp, site, "tonight.yaml", request_yaml(night="2023-12-09", runs=[15900]))
    _once(tmp, site, seconds=0.1)
    ids["rejected"] = request_id_of(tmp / "spool", "typo.yaml")
    # one request runs at a time: the long one runs, the three submitted after it wait in pending/
    ids["running"] = _submit(tmp, site, "long.yaml", request_yaml(runs=[15864, 15865]))
    daemon = start_daemon(tmp / "spool", tmp / "daemon.log", seconds=60, config=site)
    wait_for(lambda: any(t.get("state") == "running" and t.get("job_id")
                         for rec in (state_of(tmp / "spool", ids["running"]).get("steps") or {}).values()
                         for t in (rec.get("tasks") or {}).values()), timeout=60, what="a task of the long request to run")
    for kind in ("held", "cancelled", "pending"):
        ids[kind] = _submit(tmp, site, f"{kind}.yaml", request_yaml())
    wait_for(lambda: all(where(tmp / "spool", ids[k]) == ["pending"] for k in ("held", "cancelled", "pending")),
             timeout=60, what="the other requests to be accepted")
    daemon.send_signal(signal.SIGKILL)  # it leaves the request running, with its tasks
    daemon.wait()
    spool_cmd("hold", ids["held"], "--config", str(site), cwd=tmp)
    spool_cmd("cancel", ids["cancelled"], "--config", str(site), cwd=tmp)
    order = tmp / "crab-health.yaml"
    order.write_text("source: Crab Nebula\nsince: 2023-12-06\nstart_from: dl2\nproducts: [dl3]\n")
    spool_cmd("standing", "add", str(order), "--config", str(site), cwd=tmp)
    from spoold.site import load_site
    from spoold.spool import Spool
    from spoold.status_page import write_page

    # a file not yet taken, dropped while no daemon runs; the page is then written as the daemon writes it
    (tmp / "spool" / "incoming" / "just-dropped.yaml").write_bytes(request_yaml())
    daemon_page = (tmp / "spool" / "status.html").stat().st_mtime  # written by the daemons above
    page = write_page(Spool(tmp / "spool"), load_site(site))
    return {"root": tmp, "site": site, "ids": ids, "page": page, "daemon_page": daemon_page}


def test_the_daemon_writes_the_page(spool):
    assert spool["daemon_page"] > 0
    text = spool["page"].read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text  # self-contained, offline


def test_spool_status_page_gives_the_same_data_typed(spool):
    data = json.loads(spool_cmd("status", "--page", "--config", str(spool["site"]), cwd=spool["root"]).stdout)
    by_id = {r["id"]: r for r in data["requests"] if r["id"]}
    states = {kind: by_id[rid]["state"] for kind, rid in spool["ids"].items()}
    assert states == {"done": "done", "failed": "failed", "rejected": "rejected", "waiting": "waiting",
                      "running": "running", "held": "held", "cancelled": "cancelled", "pending": "pending"}
    assert [r["file"] for r in data["requests"] if r["state"] == "incoming"] == ["just-dropped.yaml"]
    (waiting,) = data["waiting"]
    assert waiting["id"] == spool["ids"]["waiting"] and waiting["missing"] == 1 and waiting["deadline"]
    running = by_id[spool["ids"]["running"]]
    (step,) = [s for s in running["steps"] if s["tasks"]]
    assert all(t["job_id"].startswith("pid ") for t in step["tasks"] if t["state"] == "running")
    done = by_id[spool["ids"]["done"]]
    for step in done["steps"]:
        for task in step["tasks"]:
            assert task["state"] == "succeeded" and task["exit_code"] == 0 and isinstance(task["seconds"], float)
            assert (spool["root"] / "spool" / task["log"]).is_file()
    assert by_id[spool["ids"]["failed"]]["error"] and isinstance(done["age_seconds"], float)
    (order,) = data["standing"]
    assert order == {"name": "crab-health", "valid": True, "errors": [], "sources": ["Crab Nebula"],
                     "since": "2023-12-06", "requests_made": 0, "last_night": None, "last_request": None}
    assert data["alerts"] == [] and data["version"] == 1


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_page_in_chromium(spool, chromium, tmp_path, width, height):
    page = spool["page"]
    shot = tmp_path / "status.png"
    done = run_chromium(chromium, tmp_path, f"--screenshot={shot}", f"--window-size={width},{height}", page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    pixels = mpimg.imread(shot)
    assert pixels.shape[1] == width and float(np.std(pixels[..., :3])) > 0.01
    assert console_lines(done.stderr) == []
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    done = run_chromium(chromium, tmp_path, "--dump-dom", f"--window-size={width},{height}", probe.as_uri())
    dom = done.stdout
    scroll, inner = map(int, re.search(r'<pre id="probe">(\d+),(\d+)</pre>', dom).groups())
    print(f"{width}x{height}: document {scroll} px wide in a {inner} px window")
    assert scroll <= inner, "the page scrolls sideways"
    for kind, rid in spool["ids"].items():
        found = re.search(rf'<details class="req" id="r-{re.escape(rid)}" data-state="([^"]+)"', dom)
        assert found and found.group(1) == kind, (kind, rid)
    assert 'data-state="incoming"' in dom and "just-dropped.yaml" in dom
    running = re.search(rf'id="r-{re.escape(spool["ids"]["running"])}".*?</details>', dom, re.S).group(0)
    assert re.search(r"pid \d+", running) and 'data-state="running" open' in running  # shown unfolded
    links = re.findall(r'href="([^"#]+)"', dom)
    assert links, "no links"
    for link in links:
        assert (spool["root"] / "spool" / link).exists(), link
    assert '<h2 id="waiting-for-data">' in dom and spool["ids"]["waiting"] in dom.split('<h2 id="requests">')[0]
    assert re.search(r"<b>crab-health</b>", dom) and "No alerts sent." in dom
