"""Fixtures of the spoold tests: a fresh spool beside its data tree, and the daemon with cheap steps.

The helpers they use are in :mod:`tests.helpers.spool`; ``tests/spoold/slurm/conftest.py``
gives the Slurm tests their own ``spool`` (a site with ``executor: slurm``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.mail import ENV_FILE, MailServers, answers
from tests.helpers.require import missing
from tests.helpers.spool import DAEMON_SITE, make_tree, spool_cmd, start_daemon, stop_daemon


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    """A fresh spool with the data tree beside it (the default site's layout)."""
    make_tree(tmp_path / "data")
    root = tmp_path / "spool"
    spool_cmd("init", str(root), cwd=tmp_path)
    (tmp_path / "site.yaml").write_text(DAEMON_SITE.format(tasks=2))
    return root


@pytest.fixture
def daemon(spool: Path):
    """Start the daemon (cheap steps) and stop it after the test."""
    procs = []

    def start(**kwargs) -> subprocess.Popen:
        kwargs.setdefault("config", spool.parent / "site.yaml")
        proc = start_daemon(spool, spool.parent / "daemon.log", **kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            stop_daemon(proc)


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
