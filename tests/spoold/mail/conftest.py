"""Fixtures of the mail tests: processes stopped at the end (the servers and emptied mailboxes,
``mail_servers`` and ``mailboxes``, are tests/spoold/conftest.py's: the flare alerts use them too).

The helpers themselves (:class:`MailServers`, :class:`Process`, ``bridge_argv``) are in
:mod:`tests.helpers.mail`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.mail import Process


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
