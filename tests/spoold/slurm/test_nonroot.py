"""An ordinary (non-root) user runs the executor: its jobs run as that user, as on a real
cluster where the daemon runs under a service or personal account."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest


pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[3]
TEST_USER = os.environ.get("ASTRAN_SLURM_TEST_USER", "astran-test")


def test_ordinary_user_submits_and_its_tasks_run_as_that_user(slurm_cluster, workdir):
    if os.geteuid() != 0:
        pytest.skip("the tests already run as an ordinary user")
    try:
        user = pwd.getpwnam(TEST_USER)
    except KeyError:
        pytest.fail(f"the user {TEST_USER} is missing: scripts/slurm-up creates it", pytrace=False)
    os.chown(workdir, user.pw_uid, user.pw_gid)
    # The daemon's venv python lives under /root here; the user gets Debian's python3.11 with
    # the project and its venv's packages on PYTHONPATH (the same 3.11 ABI).
    python = shutil.which("python3.11", path="/usr/bin") or "/usr/bin/python3"
    site_packages = next((REPO / ".venv" / "lib").glob("python3*/site-packages"), None)
    pythonpath = os.pathsep.join(str(p) for p in (REPO, site_packages) if p)
    program = textwrap.dedent(f"""
        import json, os
        from pathlib import Path
        from tests.helpers.slurm import make_executor, run_until_final, shell_job
        workdir = Path({str(workdir)!r})
        executor = make_executor()
        job = shell_job(workdir, ["id -un", "exit 3"])
        polls = run_until_final(executor, [executor.submit(job)])
        print(json.dumps({{"user": os.getuid(), "job": polls[0].handle["job_id"],
                           "states": [s.state.value for s in polls[0].tasks.values()],
                           "codes": [s.exit_code for s in polls[0].tasks.values()]}}))
    """)
    done = subprocess.run(["runuser", "-u", TEST_USER, "--", "env", f"PYTHONPATH={pythonpath}",
                           f"HOME={user.pw_dir}", python, "-c", program],
                          capture_output=True, text=True, timeout=300, cwd="/tmp")
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["user"] == user.pw_uid
    assert answer["states"] == ["succeeded", "failed"] and answer["codes"] == [0, 3]
    assert TEST_USER in (workdir / "logs" / "dl2" / "0.log").read_text()
    # slurmctld's record (sacct may lag a few seconds behind it)
    rows = subprocess.run(["squeue", "-h", "-t", "all", "-j", answer["job"], "-o", "%i|%u|%T"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert rows and all(row.split("|")[1] == TEST_USER for row in rows), rows
    assert Path(workdir / "results" / "dl2" / "0.json").stat().st_uid == user.pw_uid
