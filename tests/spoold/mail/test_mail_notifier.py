"""The replies: composed from a request folder, sent over real SMTP, queued while it is down."""

from __future__ import annotations

import json
import time
import types
from pathlib import Path

from tests.helpers.waiting import wait_for

from spoold import events
from spoold.mail.bodies import key_numbers
from spoold.mail.compose import compose
from spoold.mail.folder import Folder
from spoold.mail.notifier import Notifier
from spoold.site import MailSettings, load_site

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RID = "20231208-101500-crab-nebula-3f9a"


def _folder(spool: Path, state: str = "running", *, email: bool = True, notify=("analyst2@example.test",)) -> Path:
    folder = spool / state / RID
    folder.mkdir(parents=True)
    if email:
        (folder / "origin.json").write_text(json.dumps({
            "via": "email", "from": "analyst@example.test", "message_id": "<req-1@example.test>",
            "date": "2023-12-08T10:15:00+00:00", "subject": "ASTRAN-LAUNCH Crab"}))
    (folder / "state.json").write_text(json.dumps({"id": RID, "state": state, "request": {
        "source": "Crab Nebula", "ra_deg": 83.633, "dec_deg": 22.0145, "night": "2023-12-07",
        "runs": [15864, 15865], "start_from": "dl1", "cuts": {"gh_efficiency": 0.7, "theta_containment": 0.7},
        "irf_set": "eff_gh0.70_th0.70", "products": ["dl3", "theta2", "skymap"], "notify": list(notify)}}))
    return folder


def _finish(folder: Path) -> None:
    (folder / "summary.json").write_text(json.dumps({
        "request": RID, "source": "Crab Nebula", "livetime_h": 0.5, "n_on": 310, "n_off": 120, "alpha": 0.333,
        "excess": 270.0, "significance_sigma": 21.73, "flags": {"quality": "good"}}))
    (folder / "report.html").write_text("<html>report</html>")
    (folder / "dl3").mkdir()
    for name in ("diagnostics.png", "skymap.png", "theta2.png"):
        (folder / name).write_bytes(PNG)


def _message(folder: Path, event: str, **fields):
    record = events.make(event, **fields)
    return compose(Folder.read(folder), record, f"0001-{event}-a1", from_address="astran@example.test")


# -- composing (no servers) ---------------------------------------------------------------------------
def test_accepted_reply_says_what_runs_and_how_to_follow(tmp_path):
    message = _message(_folder(tmp_path), "accepted")
    body = message.get_body(("plain",)).get_content()
    assert message["To"] == "analyst@example.test" and message["Cc"] == "analyst2@example.test"
    assert message["In-Reply-To"] == "<req-1@example.test>" and message["References"] == "<req-1@example.test>"
    assert message["Subject"].startswith("Re: ASTRAN-LAUNCH Crab")
    assert message["Auto-Submitted"] == "auto-replied"
    assert RID in body and f"spool status {RID}" in body
    assert "dl2 (lstchain DL1 to DL2" in body and "report (" in body
    assert "15864, 15865" in body and "eff_gh0.70_th0.70" in body


def test_rejected_reply_lists_each_error_and_carries_the_template(tmp_path):
    folder = tmp_path / "rejected" / RID
    folder.mkdir(parents=True)
    (folder / "origin.json").write_text(json.dumps({"from": "analyst@example.test", "message_id": "<r@x>",
                                                     "subject": "ASTRAN-LAUNCH"}))
    (folder / "request.yaml").write_text("sourse: Crab\nnotify: [analyst2@example.test]\n")
    (folder / "errors.txt").write_text("Unknown key 'sourse' (line 1); did you mean 'source'?\n"
                                       "The key 'source' is missing.\n")
    message = _message(folder, "rejected")
    body = message.get_body(("plain",)).get_content()
    assert "1. Unknown key 'sourse' (line 1); did you mean 'source'?" in body
    assert "2. The key 'source' is missing." in body
    assert "source: Crab Nebula" in body  # the annotated template, inline
    assert [p.get_filename() for p in message.iter_attachments()] == ["request-template.yaml"]
    assert message["Cc"] == "analyst2@example.test"  # notify read leniently from the rejected YAML


def test_done_reply_has_key_numbers_paths_and_the_pictures(tmp_path):
    folder = _folder(tmp_path, "done")
    _finish(folder)
    message = _message(folder, "done")
    body = message.get_body(("plain",)).get_content()
    assert "significance_sigma: 21.73" in body and "excess: 270" in body and "flags.quality: good" in body
    assert str(folder / "report.html") in body and str(folder / "dl3") in body
    names = [p.get_filename() for p in message.iter_attachments()]
    assert names == ["theta2.png", "skymap.png", "diagnostics.png"]
    assert all(p.get_content_type() == "image/png" for p in message.iter_attachments())


def test_failed_reply_names_the_step_and_attaches_the_log_tail(tmp_path):
    folder = _folder(tmp_path, "failed")
    (folder / "error.txt").write_text("The request failed in step dl3: task run15864 exited with 3.\n")
    log = folder / "logs" / "dl3" / "run15864.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {n}\n" for n in range(500)) + "Traceback: IRF file not found\n")
    message = _message(folder, "failed", step="dl3", detail="task run15864 exited with 3.")
    body = message.get_body(("plain",)).get_content()
    assert "failed in step dl3" in body and f"spool retry {RID}" in body
    attachments = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert "exited with 3" in attachments["error.txt"]
    tail = attachments["dl3-run15864.log-tail.txt"]
    assert tail.rstrip().endswith("Traceback: IRF file not found") and "line 100\n" not in tail


def test_nobody_to_tell_means_no_message(tmp_path):
    assert _message(_folder(tmp_path, email=False, notify=()), "accepted") is None


def test_request_from_the_spool_with_notify_threads_under_its_own_first_reply(tmp_path):
    folder = _folder(tmp_path, email=False, notify=("analyst2@example.test",))
    accepted, done = _message(folder, "accepted"), _message(folder, "done")
    assert accepted["To"] == "analyst2@example.test" and accepted["In-Reply-To"] is None
    assert done["In-Reply-To"] == accepted["Message-ID"]
    assert accepted["Subject"] == f"[astran] {RID}: accepted: {RID}"


def test_key_numbers_skip_nested_lists_and_long_text():
    assert key_numbers({"a": 1.23456, "b": [1, 2], "c": "x" * 500, "d": {"e": 2}, "f": True}) == [
        ("a", "1.235"), ("d.e", "2")]


def test_key_numbers_put_the_detection_first_and_leave_out_versions_and_paths():
    summary = {"source": "Crab Nebula", "cuts": {"gh_efficiency": 0.7}, "versions": {"lappana": "0.1"},
               "products": {"report": "/x/report.html"}, "dl3_dir": "/x/dl3", "livetime_h": 0.5,
               "n_on": 310, "significance_sigma": 21.7}
    assert [k for k, _v in key_numbers(summary)] == ["significance_sigma", "n_on", "livetime_h", "source",
                                                     "cuts.gh_efficiency"]


def test_waiting_is_queued_once_and_unknown_events_not_at_all(tmp_path):
    folder = _folder(tmp_path)
    site = types.SimpleNamespace(mail=MailSettings(imap_host="h", imap_user="u", smtp_host="h", from_address="a@b.c"))
    notifier = Notifier(site)
    for name in ("waiting", "waiting", "step-done", "held", "accepted"):
        notifier.event(folder, events.make(name, detail="run 15864 missing"))
    queued = sorted(p.name.split("-", 1)[1] for p in (folder / "mail" / "outbox").iterdir())
    assert queued == ["accepted-a1.json", "waiting-a1.json"]
    notifier.event(Path("/nonexistent/folder"), events.make("done"))  # never raises


# -- sending over the real servers ----------------------------------------------------------------------
def _notifier(tmp_path, mailboxes) -> tuple[Notifier, Path]:
    spool = tmp_path / "spool"
    site = load_site(mailboxes.site_file(tmp_path, spool), spool_root=spool)
    return Notifier(site), spool


def test_replies_reach_sender_and_notify_list_threaded_with_pictures(tmp_path, mailboxes):
    notifier, spool = _notifier(tmp_path, mailboxes)
    folder = _folder(spool)
    notifier.event(folder, events.make("accepted"))
    notifier.event(folder, events.make("waiting", detail="the DL1 file of run 15865 is not there yet"))
    assert notifier.flush(spool) == 2
    done = spool / "done" / RID  # the daemon moves the folder between event and flush
    done.parent.mkdir()
    folder.rename(done)
    _finish(done)
    notifier.event(done, events.make("done", step="report"))
    assert notifier.flush(spool) == 1
    for user in ("analyst", "analyst2"):
        inbox = mailboxes.wait_messages(user, 3)
        assert [m["X-Astran-Event"] for m in inbox] == ["accepted", "waiting", "done"]
        assert all(m["In-Reply-To"] == "<req-1@example.test>" for m in inbox)
        assert [p.get_filename() for p in inbox[2].iter_attachments()] == ["theta2.png", "skymap.png",
                                                                           "diagnostics.png"]
        assert inbox[2].get_payload()[1].get_content() == PNG
    assert sorted(p.suffix for p in (done / "mail" / "sent").iterdir()) == [".eml"] * 3
    assert notifier.flush(spool) == 0  # nothing is sent twice


def test_smtp_down_while_a_request_finishes_reply_goes_out_once_it_is_back(tmp_path, mailboxes):
    notifier, spool = _notifier(tmp_path, mailboxes)
    folder = _folder(spool, "done")
    _finish(folder)
    mailboxes.stop("postfix")
    try:
        notifier.event(folder, events.make("done", step="report"))
        assert notifier.flush(spool) == 0
        assert [p.suffix for p in (folder / "mail" / "outbox").iterdir()] == [".eml"]
        assert notifier.flush(spool) == 0  # still down (or backing off): still queued
    finally:
        mailboxes.start()
    wait_for(lambda: notifier.flush(spool) == 1, timeout=90, interval=0.5, what="the queued reply to go out")
    assert list((folder / "mail" / "outbox").iterdir()) == []
    inbox = mailboxes.wait_messages("analyst", 1)
    assert notifier.flush(spool) == 0
    time.sleep(1.0)
    assert len(mailboxes.messages("analyst")) == len(inbox) == 1


def test_retried_and_cancelled_replies(tmp_path):
    folder = _folder(tmp_path)
    retried = _message(folder, "retried", detail="attempt 2")
    assert "runs again (attempt 2)" in retried.get_body(("plain",)).get_content()
    cancelled = _message(folder, "cancelled", detail="cancelled by spool cancel")
    assert f"spool retry {RID}" in cancelled.get_body(("plain",)).get_content()
    assert retried["Message-ID"] != cancelled["Message-ID"]


def test_broken_folder_files_still_give_a_reply(tmp_path):
    folder = _folder(tmp_path, "done")
    (folder / "summary.json").write_text("[1, 2")  # torn
    (folder / "state.json").write_text("[]")  # not a mapping
    message = _message(folder, "done")
    assert message["To"] == "analyst@example.test"  # the sender from origin.json
    assert f"Your request {RID} is done." in message.get_body(("plain",)).get_content()
    (folder / "origin.json").write_text('"just a string"')
    assert _message(folder, "done") is None  # nobody known to tell


def test_done_reply_says_the_flux_in_crab_units_and_attaches_sed_and_light_curve(tmp_path):
    folder = _folder(tmp_path, "done")
    _finish(folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["spectrum"] = {"detected": True, "integral_above_tev": 0.2, "crab_units": 0.981, "crab_units_error": 0.034,
                           "integral_flux_cm2_s": 2.01e-10, "integral_flux_error_cm2_s": 7e-12, "significance": 40.0}
    summary["lightcurve"] = {"bin": "night", "crab_units": [0.5, 1.0, 2.0], "constancy": {"p_value": 1e-9}}
    (folder / "summary.json").write_text(json.dumps(summary))
    for name in ("sed.png", "lightcurve.png", "zz_run_15864.png"):
        (folder / name).write_bytes(PNG)
    body = _message(folder, "done").get_body(("plain",)).get_content()
    assert "flux: 0.981 ± 0.034 Crab above 0.2 TeV (2.01e-10 ± 7e-12 cm⁻² s⁻¹)" in body
    assert "light curve: 3 bins (night), constant flux p = 1e-09" in body
    assert body.index("flux:") < body.index("significance_sigma")
    names = [p.get_filename() for p in _message(folder, "done").iter_attachments()]
    assert names[:5] == ["theta2.png", "skymap.png", "sed.png", "lightcurve.png", "diagnostics.png"]
    summary["spectrum"] = {"detected": False, "integral_above_tev": 0.2, "crab_units_ul": 0.05,
                           "integral_flux_ul_cm2_s": 1e-11, "significance": 0.4}
    (folder / "summary.json").write_text(json.dumps(summary))
    body = _message(folder, "done").get_body(("plain",)).get_content()
    assert "flux: not detected (0.4 σ): < 0.05 Crab above 0.2 TeV" in body
