"""What a test does when a peer (a venv, Slurm, the mail servers, Chromium) is missing.

Under ``ASTRAN_REQUIRE_PEERS=1`` (set by ``scripts/test``, and so in CI) a missing peer is a
failure; otherwise, for a quick local run of one file, a skip with the sentence that says how
to install it.
"""

from __future__ import annotations

import os

import pytest


def missing(message: str):
    """Fail (under ASTRAN_REQUIRE_PEERS=1) or skip the test with ``message``."""
    if os.environ.get("ASTRAN_REQUIRE_PEERS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
