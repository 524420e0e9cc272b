"""End to end: email → bridge → daemon (simulated night) → replies in the user's inbox.

Real Postfix and Dovecot (scripts/mail-up), the real bridge ``spool-mail`` and
the real daemon as processes; the daemon's analysis steps are quick stand-ins
(``tests/helpers/mail_daemon.py``) so that the mail side is tested in seconds, on a night
written by ``lappana simulate``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.helpers.mail import BIN, bridge_argv
from tests.helpers.waiting import wait_for

from spoold.spool import Spool

MAIL_DAEMON = Path(__file__).resolve().parents[2] / "helpers" / "mail_daemon.py"
REQUEST = """\
source: Crab Nebula
night: 2023-12-07
runs: [15864, 15865]
start_from: dl1
cuts: {gh_efficiency: 0.7, theta_containment: 0.7}
products: [dl3, theta2, skymap]
notify: [analyst2@example.test]
"""


@pytest.fixture(scope="session")
def simulated_night(tmp_path_factory) -> Path:
    """A two-run night (DL1, run catalogue, IRFs) from ``lappana simulate``, written an hour ago.

    The next morning's case: the night's files were finished hours before the request, so none
    is taken for one still being written (``data_settle_seconds``; copies keep the times).
    """
    out = tmp_path_factory.mktemp("mail-night") / "data"
    subprocess.run([str(BIN / "lappana"), "simulate", str(out), "--runs", "2", "--minutes", "0.1",
                    "--levels", "dl1", "--no-mc", "--quiet"], check=True, timeout=300)
    then = time.time() - 3600
    for path in out.rglob("*"):
        os.utime(path, (then, then))
    return out


@pytest.fixture(scope="session")
def pictures(tmp_path_factory) -> Path:
    """A theta² plot and a sky map (small PNGs made with matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    folder = tmp_path_factory.mktemp("mail-pictures")
    rng = np.random.default_rng(1)
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.hist(rng.exponential(0.05, 300), bins=20)
    ax.set_xlabel("theta² [deg²]")
    fig.savefig(folder / "theta2.png", dpi=50)
    ax.clear()
    ax.imshow(rng.normal(size=(20, 20)))
    fig.savefig(folder / "skymap.png", dpi=50)
    plt.close(fig)
    return folder


#: the daemon waits this long for missing data before the request fails in resolve (~4 s)
DATA_WAIT_HOURS = 0.001


def _add_night_without_data(data: Path) -> None:
    """A catalogue for the night of 2023-12-09 listing run 15900, whose DL1 file never comes."""
    catalogs = data / "monitoring" / "RunCatalog"
    text = (catalogs / "RunCatalog_20231207.ecsv").read_text()
    header = [line for line in text.splitlines() if not line[:1].isdigit()]
    (catalogs / "RunCatalog_20231209.ecsv").write_text(
        "\n".join(header + ["15900 Crab 83.633 22.014 83.633 22.414 0.0 2023-12-10T01:39:56.000 "
                             "2023-12-10T02:00:00.000 6.3"]) + "\n")


@pytest.fixture
def service(request, tmp_path, mailboxes, processes, simulated_night, pictures):
    """The bridge and the daemon running on a fresh spool next to a copy of the night.

    Parametrize indirectly with the hours the daemon waits for missing data.
    """
    shutil.copytree(simulated_night, tmp_path / "data")
    _add_night_without_data(tmp_path / "data")
    spool = tmp_path / "spool"
    Spool(spool).init()
    hours = getattr(request, "param", DATA_WAIT_HOURS)
    site = mailboxes.site_file(tmp_path, spool, extra={"limits": {"data_wait_hours": hours}})
    bridge = processes(bridge_argv(site), tmp_path / "bridge.log", tmp_path)
    daemon = processes([sys.executable, str(MAIL_DAEMON), "--config", str(site), "--spool", str(spool),
                        "--pictures", str(pictures)], tmp_path / "daemon.log", tmp_path)
    wait_for(lambda: "watching INBOX" in bridge.text(), timeout=30, what="the bridge to log in")
    return mailboxes, spool, bridge, daemon


def _from_astran(message) -> bool:
    return message["From"] == "astran@example.test"


def test_round_trip_accepted_and_done_replies_threaded_with_pictures(service):
    mailboxes, spool, bridge, daemon = service
    request = mailboxes.message("analyst", "ASTRAN-LAUNCH Crab 2023-12-07", REQUEST)
    started = time.monotonic()
    mailboxes.send("analyst", request)
    inbox = mailboxes.wait_messages("analyst", 2, timeout=90, match=_from_astran)
    print(f"\nround trip: {time.monotonic() - started:.1f} s from sending the request to the done reply")
    accepted, done = inbox
    assert (accepted["X-Astran-Event"], done["X-Astran-Event"]) == ("accepted", "done")
    for reply in inbox:
        assert reply["In-Reply-To"] == request["Message-ID"]
        assert request["Message-ID"] in reply["References"]
        assert reply["Subject"].startswith("Re: ASTRAN-LAUNCH Crab 2023-12-07")
    rid = accepted["X-Astran-Request"]
    assert (spool / "done" / rid / "summary.json").is_file()
    assert f"spool status {rid}" in accepted.get_body(("plain",)).get_content()
    body = done.get_body(("plain",)).get_content()
    assert "significance_sigma: 6.12" in body and str(spool / "done" / rid / "report.html") in body
    attached = {p.get_filename(): p.get_content() for p in done.iter_attachments()}
    assert list(attached) == ["theta2.png", "skymap.png"]
    assert all(data.startswith(b"\x89PNG") for data in attached.values())
    # the notify list got the same replies
    assert [m["X-Astran-Event"] for m in mailboxes.wait_messages("analyst2", 2, match=_from_astran)] == [
        "accepted", "done"]
    # the replies did not come back to the bridge as requests
    assert len(list((spool / "done").iterdir())) == 1


def test_misspelt_request_gets_a_rejected_reply_naming_the_key(service):
    mailboxes, spool, bridge, daemon = service
    request = mailboxes.message("analyst", "ASTRAN-LAUNCH typo", REQUEST.replace("source:", "sourse:"))
    mailboxes.send("analyst", request)
    reply = mailboxes.wait_messages("analyst", 1, timeout=60, match=_from_astran)[0]
    assert reply["X-Astran-Event"] == "rejected"
    assert reply["In-Reply-To"] == request["Message-ID"]
    body = reply.get_body(("plain",)).get_content()
    assert "sourse" in body and "source" in body.split("sourse", 1)[1].split("\n", 1)[0]
    assert "request-template.yaml" in [p.get_filename() for p in reply.iter_attachments()]
    assert len(list((spool / "rejected").iterdir())) == 1


def test_a_failure_in_each_step_gets_a_failed_reply_with_the_log_tail(service):
    mailboxes, spool, bridge, daemon = service
    # resolve fails when the data of a night do not appear in time (here ~4 s; at a site 36 h):
    # the night of 2023-12-09 lists run 15900, whose DL1 file never comes
    cases = {"dl2": REQUEST, "dl3": REQUEST, "index": REQUEST, "report": REQUEST,
             "resolve": REQUEST.replace("2023-12-07", "2023-12-09").replace("15864, 15865", "15900")}
    sent = {}
    for step, text in cases.items():
        marker = "" if step == "resolve" else f"# fail: {step}\n"
        message = mailboxes.message("analyst", f"ASTRAN-LAUNCH fail {step}", marker + text)
        mailboxes.send("analyst", message)
        sent[message["Message-ID"]] = step
    replies = mailboxes.wait_messages("analyst", len(cases), timeout=120,
                                      match=lambda m: _from_astran(m) and m["X-Astran-Event"] == "failed")
    assert sorted(sent[m["In-Reply-To"]] for m in replies) == sorted(cases)
    for reply in replies:
        step = sent[reply["In-Reply-To"]]
        body = reply.get_body(("plain",)).get_content()
        assert f"failed in step {step}" in body
        attached = {p.get_filename(): p.get_content() for p in reply.iter_attachments()}
        assert "error.txt" in attached
        if step != "resolve":
            tails = [v for k, v in attached.items() if k.startswith(f"{step}-")]
            assert tails and f"ERROR: injected failure in {step}" in tails[0]
        else:
            assert "did not appear within" in attached["error.txt"]
            assert "dl1_LST-1.Run15900.h5" in attached["error.txt"]
    # the resolve case waited first, and said so once
    waiting = mailboxes.messages("analyst", "INBOX")
    assert [sent.get(m["In-Reply-To"]) for m in waiting if m["X-Astran-Event"] == "waiting"] == ["resolve"]


@pytest.mark.parametrize("service", [24.0], indirect=True)
def test_waiting_then_cancelled_each_told_once(service):
    mailboxes, spool, bridge, daemon = service
    text = REQUEST.replace("2023-12-07", "2023-12-09").replace("15864, 15865", "15900")
    request = mailboxes.message("analyst", "ASTRAN-LAUNCH tomorrow", text)
    mailboxes.send("analyst", request)
    replies = mailboxes.wait_messages("analyst", 2, timeout=60, match=_from_astran)
    assert [m["X-Astran-Event"] for m in replies] == ["accepted", "waiting"]
    assert "1 input file(s) missing" in replies[1].get_body(("plain",)).get_content()
    rid = replies[0]["X-Astran-Request"]
    cancel = subprocess.run([str(BIN / "spool"), "cancel", rid, "--spool", str(spool)], capture_output=True,
                            text=True, timeout=60, cwd=spool.parent)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    replies = mailboxes.wait_messages("analyst", 3, timeout=60, match=_from_astran)
    assert [m["X-Astran-Event"] for m in replies] == ["accepted", "waiting", "cancelled"]
    assert all(m["In-Reply-To"] == request["Message-ID"] for m in replies)
    assert f"spool retry {rid}" in replies[2].get_body(("plain",)).get_content()
    time.sleep(2.0)  # the daemon keeps looking at nothing: no second waiting or cancelled reply
    assert len(mailboxes.messages("analyst")) == 3


def test_smtp_down_when_the_request_finishes_the_done_reply_goes_out_once_it_is_back(service):
    mailboxes, spool, bridge, daemon = service
    request = mailboxes.message("analyst", "ASTRAN-LAUNCH slow", "# sleep: 1\n" + REQUEST)
    mailboxes.send("analyst", request)
    accepted = mailboxes.wait_messages("analyst", 1, timeout=60, match=_from_astran)[0]
    rid = accepted["X-Astran-Request"]
    mailboxes.stop("postfix")
    try:
        wait_for(lambda: (spool / "done" / rid).is_dir(), timeout=120, what="the request to finish")
        outbox = spool / "done" / rid / "mail" / "outbox"
        wait_for(lambda: [p.name for p in outbox.glob("*-done-*.eml")], timeout=30, what="the queued done reply")
        wait_for(lambda: "stay queued" in daemon.text(), timeout=30, what="the daemon to report SMTP down")
    finally:
        mailboxes.start()
    replies = mailboxes.wait_messages("analyst", 2, timeout=120, match=_from_astran)
    assert [m["X-Astran-Event"] for m in replies] == ["accepted", "done"]
    assert [p.name for p in outbox.iterdir()] == []
    time.sleep(2.0)
    assert len(mailboxes.messages("analyst")) == 2  # sent once
