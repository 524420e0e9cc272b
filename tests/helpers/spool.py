"""Helpers for the spoold tests: a small data tree, requests, and the real daemon as a process.

The daemon always runs as its own process (``spoold`` itself, or
``tests/helpers/cheap_daemon.py``, which starts the same :class:`spoold.daemon.Daemon`
with cheap shell steps instead of the analysis, so that crash tests take seconds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.waiting import wait_for


REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
NIGHT = "20231207"
RUNS = (15864, 15865, 15866)
SOURCE = "Crab Nebula"
#: The site file of the daemon tests (``DAEMON_SITE.format(tasks=N)``).
DAEMON_SITE = """\
limits: {{reconcile_seconds: 0.3, settle_seconds: 0.1, max_tasks_in_flight: {tasks}}}
"""
CHEAP_DAEMON = Path(__file__).resolve().with_name("cheap_daemon.py")


# -- a data tree the default site reads -------------------------------------------------------------
def make_tree(data_root: Path, *, night: str = NIGHT, runs=RUNS, source: str = SOURCE,
              dl1: bool = False, dl2: bool = True) -> Path:
    """Write a run catalogue, placeholder DL1/DL2 files and an IRF folder under ``data_root``."""
    catalog = data_root / "monitoring" / "RunCatalog" / f"RunCatalog_{night}.ecsv"
    catalog.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# %ECSV 1.0", "# ---", "# datatype:", "# - {name: run_id, datatype: int64}",
        "# - {name: source_name, datatype: string}", "# - {name: source_ra, datatype: float64}",
        "# - {name: source_dec, datatype: float64}", "# schema: astropy-2.0", "run_id source_name source_ra source_dec",
    ]
    lines += [f'{run} "{source}" 83.633 22.014' for run in runs]
    catalog.write_text("\n".join(lines) + "\n")
    for level, wanted in (("DL1", dl1), ("DL2", dl2)):
        if wanted:
            folder = data_root / level / night / "v0.10" / "tailcut84"
            folder.mkdir(parents=True, exist_ok=True)
            for run in runs:
                (folder / f"{level.lower()}_LST-1.Run{run:05d}.h5").write_bytes(b"placeholder\n")
    (data_root / "IRF" / "eff_gh0.70_th0.70").mkdir(parents=True, exist_ok=True)
    return data_root


def request_yaml(*, runs=RUNS, night: str = "2023-12-07", start_from: str = "dl2",
                 products=("dl3",), source: str = SOURCE) -> bytes:
    """A valid request (for the tree :func:`make_tree` writes)."""
    text = f"source: {source}\nnight: {night}\n"
    if runs is not None:
        text += f"runs: [{', '.join(str(r) for r in runs)}]\n"
    text += f"start_from: {start_from}\ncuts: {{gh_efficiency: 0.7, theta_containment: 0.7}}\n"
    text += f"products: [{', '.join(products)}]\n"
    return text.encode()


def drop(spool: Path, name: str, data: bytes) -> Path:
    """Drop a request into incoming the way users should: write aside, then rename."""
    tmp = spool / "tmp" / f".{name}.part"
    tmp.write_bytes(data)
    final = spool / "incoming" / name
    os.rename(tmp, final)
    return final


def daemon_command(spool: Path, *, seconds: float = 0.2, once: bool = False, poll: bool = False,
                   fail_step: str | None = None, config: Path | None = None) -> list[str]:
    """The command line that runs the daemon with cheap steps (``cheap_daemon.py`` as a script)."""
    argv = [PYTHON, str(CHEAP_DAEMON), "--spool", str(spool), "--seconds", str(seconds)]
    if once:
        argv.append("--once")
    if poll:
        argv.append("--poll")
    if fail_step:
        argv += ["--fail-step", fail_step]
    if config:
        argv += ["--config", str(config)]
    return argv


def start_daemon(spool: Path, log: Path, **kwargs) -> subprocess.Popen:
    """Start the daemon with cheap steps as its own process (cwd: the spool's parent)."""
    handle = open(log, "ab")
    return subprocess.Popen(daemon_command(spool, **kwargs), cwd=spool.parent, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_daemon(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    """Stop a daemon started by :func:`start_daemon` and return its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=timeout)


def where(spool: Path, request_id: str) -> list[str]:
    """The state folders holding a request (exactly one when all is well)."""
    states = ("intake", "pending", "running", "hold", "done", "failed", "rejected", "cancelled")
    return [s for s in states if (spool / s / request_id).is_dir()]


def state_of(spool: Path, request_id: str) -> dict:
    """The request's state.json, wherever it is."""
    for folder in where(spool, request_id):
        try:
            return json.loads((spool / folder / request_id / "state.json").read_text())
        except (OSError, ValueError):
            pass
    return {}


def spool_cmd(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run the ``spool`` command."""
    proc = subprocess.run([PYTHON, "-m", "spoold.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"spool {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def request_id_of(spool: Path, name: str) -> str:
    """The id the daemon gave a file dropped as ``name``."""
    def found():
        for state in ("pending", "running", "done", "failed", "rejected", "cancelled", "hold"):
            for folder in (spool / state).iterdir():
                data = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
                if data.get("incoming_name") == name:
                    return folder.name
        return None
    return wait_for(found, what=f"{name} to be claimed")


def terminal(spool: Path, request_id: str, states=("done", "failed", "rejected", "cancelled"), timeout: float = 90) -> str:
    """Wait until a request is in a terminal folder; return which."""
    return wait_for(lambda: next((s for s in where(spool, request_id) if s in states), None),
                    timeout=timeout, what=f"{request_id} to finish")


def once_command(spool: Path) -> list[str]:
    """The cheap daemon's command line for one pass over the spool (the site file beside it)."""
    return daemon_command(spool, once=True, seconds=0.1, config=spool.parent / "site.yaml")
