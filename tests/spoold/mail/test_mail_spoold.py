"""The email round trip through the real ``spoold`` command and its real analysis steps.

A simulated night with DL2 (``lappana simulate``), a request by email asking for
DL3 and the high-level products from DL2: the bridge writes it, ``spoold --once``
runs resolve, dl3, index and report with lappana, and the analyst's inbox gets
the accepted and the done reply, the done reply giving the detection's numbers,
saying where the DL3 files and the report are, with the theta² plot and the sky
map attached.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from tests.helpers.mail import BIN, bridge_argv
from tests.helpers.waiting import wait_for

from spoold.spool import Spool

REQUEST = """\
source: Crab Nebula
night: 2023-12-07
runs: [15864, 15865]
start_from: dl2
cuts: {gh_efficiency: 0.7, theta_containment: 0.7}
products: [dl3, theta2, skymap, diagnostics, report]
"""


@pytest.fixture(scope="module")
def night_with_dl2(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mail-night-dl2") / "data"
    subprocess.run([str(BIN / "lappana"), "simulate", str(out), "--runs", "2", "--minutes", "1",
                    "--levels", "dl2", "--no-mc", "--quiet"], check=True, timeout=300)
    return out


def test_email_to_report_with_the_real_spoold(tmp_path, mailboxes, processes, night_with_dl2):
    (tmp_path / "data").symlink_to(night_with_dl2)
    spool = tmp_path / "spool"
    Spool(spool).init()
    site = mailboxes.site_file(tmp_path, spool)
    bridge = processes(bridge_argv(site), tmp_path / "bridge.log", tmp_path)
    wait_for(lambda: "watching INBOX" in bridge.text(), timeout=30, what="the bridge to log in")
    request = mailboxes.message("analyst", "ASTRAN-LAUNCH Crab DL3", REQUEST)
    started = time.monotonic()
    mailboxes.send("analyst", request)
    wait_for(lambda: list((spool / "mailin").glob("*/request.yaml")), timeout=30, what="the request in mailin")
    daemon = subprocess.run([str(BIN / "spoold"), "--config", str(site), "--once", "-v"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert daemon.returncode == 0, daemon.stderr[-3000:]
    replies = mailboxes.wait_messages("analyst", 2, timeout=60, match=lambda m: m["From"] == "astran@example.test")
    print(f"\nreal spoold round trip: {time.monotonic() - started:.1f} s from sending to the done reply")
    assert [m["X-Astran-Event"] for m in replies] == ["accepted", "done"], [
        m.get_body(("plain",)).get_content() for m in replies]
    rid = replies[0]["X-Astran-Request"]
    dl3 = spool / "done" / rid / "dl3"
    assert sorted(p.name for p in dl3.glob("dl3_*.fits*")) == ["dl3_LST-1.Run15864.fits.gz",
                                                               "dl3_LST-1.Run15865.fits.gz"]
    body = replies[1].get_body(("plain",)).get_content()
    assert f"DL3 files: {dl3}" in body
    assert "significance" in body and str(spool / "done" / rid / "report.html") in body
    attached = [part.get_filename() for part in replies[1].iter_attachments()]
    assert attached[:2] == ["theta2.png", "skymap.png"], attached
    for part in replies[1].iter_attachments():
        if part.get_filename().endswith(".png"):
            assert part.get_content().startswith(b"\x89PNG"), part.get_filename()
    assert all(m["In-Reply-To"] == request["Message-ID"] for m in replies)
