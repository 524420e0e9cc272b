"""Fixtures for the Slurm executor's tests: the real single-node cluster of scripts/slurm-up.

``slurm_cluster`` FAILS when ``ASTRAN_REQUIRE_PEERS=1`` (scripts/test, CI) and Slurm is not
up, and skips otherwise. Helpers build StepJobs of small shell tasks and drive the executor
until every task is final, as the daemon would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from spoold.executors.slurm.commands import SlurmCommands
from slurm_helpers import counter

REPO = Path(__file__).resolve().parents[3]
PREFIX = Path(os.environ.get("ASTRAN_SLURM_PREFIX", "/var/lib/astran-slurm"))
TEST_USER = os.environ.get("ASTRAN_SLURM_TEST_USER", "astran-test")


def _slurm_answers() -> bool:
    if not shutil.which("sinfo"):
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and any(s.strip(" *~#") in ("idle", "mixed", "allocated") for s in out.stdout.split())


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCommands:
    """The real Slurm started by scripts/slurm-up (its commands, as the current user)."""
    if not _slurm_answers():
        message = "Slurm is not up: run scripts/slurm-up (scripts/test does it)."
        if os.environ.get("ASTRAN_REQUIRE_PEERS") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return SlurmCommands()


@pytest.fixture
def workdir() -> Path:
    """A scratch request folder every user can write (the non-root test shares it)."""
    base = Path("/tmp/slurm-tests")
    base.mkdir(exist_ok=True)
    base.chmod(0o1777)
    target = base / f"req-{os.getpid()}-{next(counter)}"
    target.mkdir()
    target.chmod(0o777)
    yield target
    shutil.rmtree(target, ignore_errors=True)
