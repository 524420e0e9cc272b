"""Fixtures of the Slurm tests: the real single-node cluster of scripts/slurm-up and a shared scratch folder.

``slurm_cluster`` FAILS when ``ASTRAN_REQUIRE_PEERS=1`` (scripts/test, CI) and Slurm is not
up, and skips otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from spoold.executors.slurm.commands import SlurmCommands
from tests.helpers.require import missing
from tests.helpers.slurm import counter, slurm_answers
from tests.helpers.spool import make_tree, spool_cmd


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCommands:
    """The real Slurm started by scripts/slurm-up (its commands, as the current user)."""
    if not slurm_answers():
        missing("Slurm is not up: run scripts/slurm-up (scripts/test does it).")
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


#: The site file of the daemon's Slurm tests.
SLURM_SITE = """\
executor: slurm
limits: {reconcile_seconds: 0.3, settle_seconds: 0.1}
slurm: {mem: 100M, time: "00:05:00", poll_seconds: 0.5, poll_max_seconds: 2, array_throttle: 2}
"""


@pytest.fixture
def spool(tmp_path: Path, slurm_cluster) -> Path:
    # Slurm's jobs write into the spool: keep it where every node (here: this one) sees it.
    make_tree(tmp_path / "data")
    root = tmp_path / "spool"
    spool_cmd("init", str(root), cwd=tmp_path)
    (tmp_path / "site.yaml").write_text(SLURM_SITE)
    return root
