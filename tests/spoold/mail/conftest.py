"""Fixtures of the mail tests: the servers, emptied mailboxes, processes stopped at the end.

The helpers themselves (:class:`MailServers`, :class:`Process`, ``bridge_argv``) are in
:mod:`tests.helpers.mail`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.mail import ENV_FILE, MailServers, Process, answers
from tests.helpers.require import missing


@pytest.fixture(scope="session")
def mail_servers() -> MailServers:
    """The running loopback mail servers (fails under ASTRAN_REQUIRE_PEERS=1 when they are down)."""
    if not ENV_FILE.is_file():
        missing(f"the mail servers are not set up ({ENV_FILE} is missing): run scripts/mail-up "
                 "(scripts/test does it).")
    env = json.loads(ENV_FILE.read_text())
    if not (answers(env["imaps_port"]) and answers(env["submission_port"])):
        missing("the mail servers do not answer: run scripts/mail-up (scripts/test does it).")
    return MailServers(env)


@pytest.fixture
def mailboxes(mail_servers: MailServers) -> MailServers:
    """The mail servers with every test user's mailbox emptied."""
    mail_servers.clear()
    yield mail_servers
    if not (answers(mail_servers.env["imaps_port"]) and answers(mail_servers.env["smtp_port"])):
        mail_servers.start()  # a test that stopped a server and failed: leave them up for the others


@pytest.fixture
def processes():
    """Start processes with ``processes(argv, log, cwd)``; all are stopped at the end."""
    started: list[Process] = []

    def start(argv: list[str], log: Path, cwd: Path) -> Process:
        process = Process(argv, log, cwd)
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()
