"""Reading request emails: keyword, replies, senders, token, body/HTML/attachment (no servers)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
import yaml

from spoold.mail import message as msg

REQUEST = "source: Crab Nebula\nnight: 2023-12-07\nruns: [15864, 15865]\n"


def _raw(subject="ASTRAN-LAUNCH Crab", body: str | None = REQUEST, *, html=None, attachment=None,
         headers=None, message_id="<m1@example.test>") -> bytes:
    message = EmailMessage()
    message["From"] = "Ana Lyst <Analyst@Example.TEST>"
    message["To"] = "astran@example.test"
    message["Subject"] = subject
    message["Date"] = "Thu, 07 Dec 2023 22:15:00 +0000"
    if message_id:
        message["Message-ID"] = message_id
    for key, value in (headers or {}).items():
        message[key] = value
    if body is not None:
        message.set_content(body)
    if html is not None:
        if body is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    if attachment is not None:
        message.add_attachment(attachment[1].encode(), maintype="application", subtype="octet-stream",
                               filename=attachment[0])
    return message.as_bytes()


@pytest.mark.parametrize("subject, expected", [
    ("ASTRAN-LAUNCH", True),
    ("astran-launch crab tonight", True),
    ("[ASTRAN-LAUNCH] Crab", True),
    ("Crab: ASTRAN-LAUNCH.", True),
    ("ASTRAN-LAUNCHED Crab", False),
    ("XASTRAN-LAUNCH", False),
    ("ASTRAN-LAUNCH-2", False),
    ("ASTRAN LAUNCH", False),
    ("", False),
])
def test_keyword_is_a_whole_word(subject, expected):
    assert msg.has_keyword(subject, "ASTRAN-LAUNCH") is expected


@pytest.mark.parametrize("subject, headers, reply", [
    ("Re: ASTRAN-LAUNCH Crab", {}, True),
    ("RE:ASTRAN-LAUNCH Crab", {}, True),
    ("Fwd: ASTRAN-LAUNCH Crab", {}, True),
    ("AW: ASTRAN-LAUNCH Crab", {}, True),
    ("WG: ASTRAN-LAUNCH Crab", {}, True),
    ("Re[2]: ASTRAN-LAUNCH Crab", {}, True),
    ("ASTRAN-LAUNCH Crab", {"In-Reply-To": "<x@y>"}, True),
    ("ASTRAN-LAUNCH Crab (Re: last night)", {}, False),
    ("ASTRAN-LAUNCH Crab", {}, False),
])
def test_replies_and_forwards_are_recognised(subject, headers, reply):
    assert msg.parse(_raw(subject, headers=headers)).is_reply is reply


def test_parse_reads_sender_date_and_message_id():
    mail = msg.parse(_raw())
    assert mail.sender == "analyst@example.test"
    assert mail.message_id == "<m1@example.test>"
    assert mail.date == "2023-12-07T22:15:00+00:00"
    assert not mail.auto_submitted


def test_message_without_id_gets_a_stable_one_from_its_bytes():
    raw = _raw(message_id=None)
    assert msg.parse(raw).message_id == msg.parse(raw).message_id
    assert msg.parse(raw).message_id.startswith("<sha256:")
    assert msg.parse(raw).message_id != msg.parse(_raw(message_id=None, body="source: Mrk 421\n")).message_id


@pytest.mark.parametrize("headers", [{"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"}])
def test_automatic_messages_are_flagged(headers):
    assert msg.parse(_raw(headers=headers)).auto_submitted


@pytest.mark.parametrize("sender, allowed", [
    ("analyst@example.org", True),
    ("ANALYST@example.org", True),
    ("someone@lst.example.net", True),
    ("someone@sub.lst.example.net", False),
    ("other@example.org", False),
    ("analyst@example.org.evil", False),
    ("", False),
    ("no-at-sign", False),
])
def test_allow_list_takes_addresses_and_domains(sender, allowed):
    allow = ["analyst@example.org", "@lst.example.net"]
    assert msg.sender_allowed(sender, allow) is allowed


def test_empty_allow_list_allows_nobody():
    assert not msg.sender_allowed("analyst@example.org", [])


def test_plain_body_is_the_request():
    text, source = msg.extract_request(msg.parse(_raw()).message)
    assert yaml.safe_load(text) == yaml.safe_load(REQUEST)
    assert source == "plain-text body"


def test_html_only_mail_is_converted_keeping_lines_and_indentation():
    html = ("<html><head><style>p {color: red}</style></head><body>"
            "<div>source: Crab&nbsp;Nebula</div><div>night: 2023-12-07</div>"
            "<div>cuts:</div><div>&nbsp; gh_efficiency: 0.7</div><div>&nbsp; theta_containment: 0.7<br></div>"
            "</body></html>")
    text, source = msg.extract_request(msg.parse(_raw(body=None, html=html)).message)
    assert source == "HTML body"
    assert yaml.safe_load(text) == {"source": "Crab Nebula", "night": __import__("datetime").date(2023, 12, 7),
                                    "cuts": {"gh_efficiency": 0.7, "theta_containment": 0.7}}


def test_plain_part_wins_over_html_alternative():
    text, source = msg.extract_request(msg.parse(_raw(html="<p>source: Mrk 421</p>")).message)
    assert "Crab" in text and source == "plain-text body"


def test_yaml_attachment_wins_over_the_body():
    raw = _raw(body="Please run the attached request, thanks!\n", attachment=("crab.yml", REQUEST))
    text, source = msg.extract_request(msg.parse(raw).message)
    assert yaml.safe_load(text) == yaml.safe_load(REQUEST)
    assert source == "attachment crab.yml"


def test_signature_crlf_tabs_and_odd_spaces_are_cleaned():
    body = "source: Crab\u00a0Nebula\r\ncuts:\r\n\tgh_efficiency: 0.7\r\n\r\n-- \r\nAna, on shift\r\n"
    text = msg.clean_text(body)
    assert yaml.safe_load(text) == {"source": "Crab Nebula", "cuts": {"gh_efficiency": 0.7}}
    assert "on shift" not in text


def test_empty_message_gives_empty_request():
    text, _source = msg.extract_request(msg.parse(_raw(body=None)).message)
    assert text == ""


def test_token_line_or_subject_word():
    mail = msg.parse(_raw("ASTRAN-LAUNCH Crab"))
    assert msg.token_ok(mail, "token: s3cret-token\n" + REQUEST, "s3cret-token") == (True, REQUEST)
    assert msg.token_ok(mail, REQUEST, "s3cret-token") == (False, REQUEST)
    assert msg.token_ok(mail, "token: wrong-token\n" + REQUEST, "s3cret-token")[0] is False
    with_subject = msg.parse(_raw("ASTRAN-LAUNCH s3cret-token Crab"))
    assert msg.token_ok(with_subject, REQUEST, "s3cret-token") == (True, REQUEST)
    # without a configured token a token line is still removed (it is no request key)
    assert msg.token_ok(mail, "token: anything\n" + REQUEST, None) == (True, REQUEST)
