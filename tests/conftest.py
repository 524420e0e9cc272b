"""Fixtures shared by the whole suite: where the peers and servers are.

A test that needs a peer (the lstchain or gammapy venv, Slurm, the mail servers,
Chromium) asks for its fixture. When ``ASTRAN_REQUIRE_PEERS=1`` (set by
``scripts/test``, and so in CI) a missing peer is a failure; otherwise, for a quick
local run of one file, it is a skip with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lappana.env import offline_astropy
from tests.helpers.require import missing

# The suite is an entry point: no network here, astropy must not try to download (lappana.env).
offline_astropy()

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("ASTRAN_PEERS", Path.home() / ".cache" / "astran" / "peers"))


def _missing(what: str, how: str):
    missing(f"{what} is not available: run {how} (scripts/test does it).")


@pytest.fixture(scope="session")
def lstchain_env() -> Path:
    """The lstchain 0.12.3 venv: its ``bin/`` holds lstchain's commands."""
    env = Path(os.environ.get("ASTRAN_LSTCHAIN_ENV", PEERS / "lstchain-0.12.3"))
    if not (env / "bin" / "lstchain_create_dl3_file").exists():
        _missing(f"lstchain in {env}", "scripts/setup-lstchain")
    return env


@pytest.fixture(scope="session")
def gammapy_python() -> Path:
    """The python of the gammapy 2.1 venv."""
    python = Path(os.environ.get("ASTRAN_GAMMAPY_PYTHON", PEERS / "gammapy-2.1" / "bin" / "python"))
    if not python.exists():
        _missing(f"gammapy's python {python}", "scripts/setup-gammapy")
    return python


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's headless Chromium."""
    found = shutil.which("chromium")
    if not found:
        _missing("chromium", "scripts/setup-browser")
    return Path(found)
