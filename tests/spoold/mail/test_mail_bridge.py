"""The bridge: request emails become request folders in mailin, once, and nothing else does."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage
from pathlib import Path

from tests.helpers.mail import bridge_argv
from tests.helpers.waiting import wait_for

from spoold.mail.bridge import Bridge
from spoold.site import MailSettings
from spoold.spool import Spool

REQUEST = "source: Crab Nebula\nnight: 2023-12-07\nruns: [15864]\n"


def _settings(**overrides) -> MailSettings:
    values = dict(imap_host="127.0.0.1", imap_user="astran@example.test", smtp_host="127.0.0.1",
                  from_address="astran@example.test", allow=["analyst@example.test", "@lst.example.net"])
    values.update(overrides)
    return MailSettings(**values)


def _raw(sender="analyst@example.test", subject="ASTRAN-LAUNCH Crab", body=REQUEST, message_id="<r1@example.test>"):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "astran@example.test", subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return message.as_bytes()


def _spool(tmp_path: Path) -> Path:
    spool = tmp_path / "spool"
    Spool(spool).init()
    return spool


def _mailin(spool: Path) -> list[str]:
    """The bridge's request folders in mailin (and nothing in incoming, where a drop could forge them)."""
    assert not list((spool / "incoming").iterdir())
    return sorted(p.name for p in (spool / "mailin").iterdir())


# -- the decisions, on message bytes -------------------------------------------------------------
def test_request_is_written_as_one_folder_with_its_origin(tmp_path):
    spool = _spool(tmp_path)
    decision = Bridge(_settings(), spool).handle(_raw())
    assert decision.action == "request"
    rid = decision.request_id
    assert _mailin(spool) == [rid]
    assert sorted(p.name for p in (spool / "mailin" / rid).iterdir()) == ["origin.json", "request.yaml"]
    assert (spool / "mailin" / rid / "request.yaml").read_text() == REQUEST
    origin = json.loads((spool / "mailin" / rid / "origin.json").read_text())
    assert origin["via"] == "email" and origin["from"] == "analyst@example.test"
    assert origin["message_id"] == "<r1@example.test>" and origin["subject"] == "ASTRAN-LAUNCH Crab"
    assert "crab" in rid


def test_same_message_id_makes_one_request(tmp_path):
    spool = _spool(tmp_path)
    bridge = Bridge(_settings(), spool)
    first, second = bridge.handle(_raw()), bridge.handle(_raw())
    assert (first.action, second.action) == ("request", "duplicate")
    assert second.request_id == first.request_id
    assert len(_mailin(spool)) == 1
    # a new bridge (a restart) remembers too
    assert Bridge(_settings(), spool).handle(_raw()).action == "duplicate"


def test_bridge_stopped_between_record_and_files_writes_the_same_request_again(tmp_path):
    spool = _spool(tmp_path)
    bridge = Bridge(_settings(), spool)
    bridge.seen.begin("<r1@example.test>", "20231207-221500-crab-beef")  # crashed here
    decision = bridge.handle(_raw())
    assert decision.action == "request" and decision.request_id == "20231207-221500-crab-beef"
    assert _mailin(spool) == ["20231207-221500-crab-beef"]


def test_outsiders_replies_and_other_mail_are_set_aside_without_files(tmp_path):
    spool = _spool(tmp_path)
    bridge = Bridge(_settings(), spool)
    cases = {
        "outsider": _raw(sender="outsider@example.test", message_id="<o@x>"),
        "reply": _raw(subject="Re: ASTRAN-LAUNCH Crab", message_id="<re@x>"),
        "no keyword": _raw(subject="Crab tonight?", message_id="<nk@x>"),
        "keyword inside a word": _raw(subject="ASTRAN-LAUNCHED", message_id="<kw@x>"),
    }
    for what, raw in cases.items():
        decision = bridge.handle(raw)
        assert decision.action == "ignored", what
        assert decision.folder == "ignored"
    assert _mailin(spool) == []
    assert "not in the allow-list" in bridge.handle(cases["outsider"]).reason


def test_unwritable_mailin_raises_and_records_nothing_as_written(tmp_path):
    spool = _spool(tmp_path)
    bridge = Bridge(_settings(), spool)
    (spool / "mailin").rename(spool / "mailin.away")
    try:
        bridge.handle(_raw())
    except Exception as error:  # noqa: BLE001
        assert "cannot write request" in str(error)
    else:
        raise AssertionError("writing into a missing mailin must fail")
    (spool / "mailin.away").rename(spool / "mailin")
    again = bridge.handle(_raw())  # the message is still in the mailbox: the next pass writes it
    assert again.action == "request" and _mailin(spool) == [again.request_id]


def test_domain_allow_list_entry(tmp_path):
    assert Bridge(_settings(), _spool(tmp_path)).handle(_raw(sender="shift@lst.example.net")).action == "request"


def test_token_required_when_configured(tmp_path):
    spool = _spool(tmp_path)
    bridge = Bridge(_settings(token="lst1-shift-2023"), spool)
    assert bridge.handle(_raw(message_id="<t1@x>")).action == "ignored"
    ok = bridge.handle(_raw(body="token: lst1-shift-2023\n" + REQUEST, message_id="<t2@x>"))
    assert ok.action == "request"
    assert (spool / "mailin" / ok.request_id / "request.yaml").read_text() == REQUEST
    assert bridge.handle(_raw(subject="ASTRAN-LAUNCH lst1-shift-2023", message_id="<t3@x>")).action == "request"


# -- against the real servers ----------------------------------------------------------------------
def _bridge(tmp_path, mailboxes, processes, **mail):
    spool = _spool(tmp_path)
    site = mailboxes.site_file(tmp_path, spool, **mail)
    process = processes(bridge_argv(site), tmp_path / "bridge.log", tmp_path)
    wait_for(lambda: "watching INBOX" in process.text(), timeout=30, what="the bridge to log in")
    time.sleep(0.3)  # from its first look at the mailbox into IDLE
    return spool, process


def _delivered_at(mailboxes, message_id: str) -> float:
    """When Dovecot's LMTP saved a message into the bridge's INBOX (its log, microseconds)."""
    from datetime import datetime

    def find():
        for line in Path(mailboxes.env["dovecot_log"]).read_text(errors="replace").splitlines():
            if f"msgid={message_id}" in line and "saved mail to INBOX" in line:
                return datetime.strptime(" ".join(line.split()[:2]), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        return None

    return wait_for(find, timeout=10, what="Dovecot's delivery line")


def _requests(spool: Path) -> list[Path]:
    """The request files the bridge wrote (one folder each in mailin; not its ``.<id>.part`` folder, which
    pathlib's ``*`` matches too, caught while it is being written)."""
    return sorted(p for p in (spool / "mailin").glob("*/request.yaml") if not p.parent.name.startswith("."))


def test_bridge_picks_up_a_request_by_idle_and_moves_it_to_processed(tmp_path, mailboxes, processes):
    spool, bridge = _bridge(tmp_path, mailboxes, processes)
    message = mailboxes.message("analyst", "ASTRAN-LAUNCH Crab tonight", REQUEST)
    sent_at = mailboxes.send("analyst", message)
    names = wait_for(lambda: _requests(spool), timeout=30, interval=0.01, what="the request in mailin")
    latency = time.monotonic() - sent_at
    # IDLE and polling periods are 600 s: only the server's IDLE notification can have woken the bridge
    written = names[0].parent.stat().st_mtime
    delivered = _delivered_at(mailboxes, str(message["Message-ID"]))
    print(f"\nbridge pickup: {(written - delivered) * 1000:.0f} ms from Dovecot saving the mail (LMTP) to the "
          f"request folder in mailin; {latency * 1000:.0f} ms from the end of the SMTP submission")
    assert len(names) == 1
    assert names[0].read_text() == REQUEST
    processed = mailboxes.wait_messages("astran", 1, folder="processed", timeout=30)
    assert processed[0]["Subject"] == "ASTRAN-LAUNCH Crab tonight"
    assert mailboxes.messages("astran", "INBOX") == []


def test_outsider_gets_nothing_but_a_log_line_and_duplicates_make_one_request(tmp_path, mailboxes, processes):
    spool, bridge = _bridge(tmp_path, mailboxes, processes)
    mailboxes.send("outsider", mailboxes.message("outsider", "ASTRAN-LAUNCH Crab", REQUEST))
    twice = mailboxes.message("analyst", "ASTRAN-LAUNCH Mrk 421", REQUEST.replace("Crab Nebula", "Mrk 421"))
    mailboxes.send("analyst", twice)
    mailboxes.send("analyst", twice)  # the same Message-ID delivered twice
    mailboxes.wait_messages("astran", 2, folder="processed", timeout=30)
    mailboxes.wait_messages("astran", 1, folder="ignored", timeout=30)
    assert len(_requests(spool)) == 1
    assert "Mrk 421" in _requests(spool)[0].read_text()
    log = bridge.text()
    assert log.count("not in the allow-list") == 1 and "outsider@example.test" in log
    assert "duplicate" in log
    # nobody answered the outsider (the bridge never sends; nothing reached the outsider's inbox)
    time.sleep(1.0)
    assert mailboxes.messages("outsider") == []


def test_imap_down_the_bridge_retries_and_loses_nothing(tmp_path, mailboxes, processes):
    spool, bridge = _bridge(tmp_path, mailboxes, processes)
    mailboxes.send("analyst", mailboxes.message("analyst", "ASTRAN-LAUNCH before", REQUEST))
    wait_for(lambda: len(_requests(spool)) == 1, timeout=30, what="the first request")
    mailboxes.stop("dovecot")
    try:
        wait_for(lambda: "trying again" in bridge.text(), timeout=60, what="the bridge to notice IMAP is down")
        # mail arriving while Dovecot (IMAP, LMTP, SASL) is down waits in Postfix's queue
        mailboxes.send("analyst", mailboxes.message("analyst", "ASTRAN-LAUNCH during", REQUEST), relay=True)
        time.sleep(2.0)
        assert len(_requests(spool)) == 1
    finally:
        mailboxes.start()
    mailboxes.flush_queue()
    wait_for(lambda: len(_requests(spool)) == 2, timeout=90, what="the request sent while IMAP was down")
    assert bridge.proc.poll() is None, "the bridge must survive the outage"
    assert "connected to" in bridge.text()
    mailboxes.wait_messages("astran", 2, folder="processed", timeout=30)


def test_idle_is_reissued_and_still_wakes_the_bridge(tmp_path, mailboxes, processes):
    spool = _spool(tmp_path)
    site = mailboxes.site_file(tmp_path, spool)
    bridge = processes(bridge_argv(site, idle_seconds=0.5), tmp_path / "bridge.log", tmp_path)
    wait_for(lambda: "watching INBOX" in bridge.text(), timeout=30, what="the bridge to log in")
    time.sleep(2.0)  # a few IDLEs ended and re-issued
    mailboxes.send("analyst", mailboxes.message("analyst", "ASTRAN-LAUNCH after re-issues", REQUEST))
    wait_for(lambda: len(_requests(spool)) == 1, timeout=30, what="the request")
    assert bridge.proc.poll() is None and "failed" not in bridge.text()


def test_mangled_messages_never_crash_the_bridge(tmp_path):
    """1,000 seeded random edits of a MIME request: each is a request or set aside, never an exception."""
    import random

    spool = _spool(tmp_path)
    bridge = Bridge(_settings(), spool)
    base = (b"From: analyst@example.test\r\nTo: astran@example.test\r\nSubject: ASTRAN-LAUNCH x\r\n"
            b"Message-ID: <%d@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            b"c291cmNlOiBDcmFi\r\n--XX\r\nContent-Type: application/yaml; name=\"r.yaml\"\r\n"
            b"Content-Disposition: attachment; filename=\"r.yaml\"\r\nContent-Transfer-Encoding: quoted-printable"
            b"\r\n\r\nsource: =C3=A9=\r\n--XX--\r\n")
    inserts = [b"\r\n", b"=?utf-8?b?", b"charset=x-unknown", b"--XX", b"\x00", b"=?", b"base64", b":", b"<", b"\"",
               b"Content-Type: multipart/mixed; boundary=YY\r\n", b"From: (x) <a@b>, y:;\r\n"]
    rng = random.Random(20231207)
    actions = {"request": 0, "ignored": 0, "duplicate": 0}
    for number in range(1000):
        raw = bytearray(base.replace(b"%d", str(number).encode()))
        for _ in range(rng.randint(1, 8)):
            pos, op = rng.randrange(len(raw)), rng.random()
            if op < 0.4:
                raw[pos] = rng.randrange(256)
            elif op < 0.7:
                del raw[pos:pos + rng.randint(1, 20)]
            else:
                raw[pos:pos] = rng.choice(inserts)
        decision = bridge.handle(bytes(raw))
        actions[decision.action] += 1
        if decision.action == "request":
            assert (spool / "mailin" / decision.request_id / "request.yaml").is_file()
    print(f"\nmangled messages: {actions}")
    assert actions["request"] > 100 and actions["ignored"] > 10


def test_polling_fallback_finds_mail_without_idle(tmp_path, mailboxes, processes):
    spool = _spool(tmp_path)
    site = mailboxes.site_file(tmp_path, spool)
    argv = bridge_argv(site, poll_seconds=0.5) + ["--no-idle"]
    bridge = processes(argv, tmp_path / "bridge.log", tmp_path)
    wait_for(lambda: "polling every 0.5 s" in bridge.text(), timeout=30, what="the bridge to log in")
    for n in range(2):
        mailboxes.send("analyst", mailboxes.message("analyst", f"ASTRAN-LAUNCH polled {n}", REQUEST))
    wait_for(lambda: len(_requests(spool)) == 2, timeout=30, what="both requests")
    mailboxes.wait_messages("astran", 2, folder="processed", timeout=30)
