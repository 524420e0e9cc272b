"""Helpers for the spoold tests: a small data tree, requests, and the real daemon as a process.

The daemon always runs as its own process (``spoold`` itself, or this file run
as a script, which starts the same :class:`spoold.daemon.Daemon` with cheap
shell steps instead of the analysis, so that crash tests take seconds). The
cheap steps append one line per task to the request's ``journal.txt``: a
task that ran twice shows up there.

Run as a script::

    python tests/spoold/conftest.py --spool DIR --data DIR [--seconds S] [--once] [--poll]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
NIGHT = "20231207"
RUNS = (15864, 15865, 15866)
SOURCE = "Crab Nebula"


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


# -- cheap steps for the daemon's own tests --------------------------------------------------------
def cheap_steps(seconds: float = 0.2, fail_step: str | None = None):
    """Steps dl3/index/report that append to journal.txt and sleep; ``fail_step`` exits 3."""
    from spoold.pipeline.base import Context, Step, TaskPlan

    class Cheap(Step):
        def __init__(self, name: str, per_run: bool) -> None:
            self.name, self.per_run = name, per_run

        def _out(self, ctx: Context, label: str) -> Path:
            return ctx.products / "out" / f"{self.name}.{label}"

        def labels(self, ctx: Context) -> list[str]:
            return [f"run{r:05d}" for r in ctx.runs] if self.per_run else [self.name]

        def done_already(self, ctx: Context) -> str | None:
            if all(self._out(ctx, label).exists() for label in self.labels(ctx)):
                return "outputs exist"
            return None

        def tasks(self, ctx: Context) -> list[TaskPlan]:
            plans = []
            for label in self.labels(ctx):
                out = self._out(ctx, label)
                line = f"{self.name} {label} $$"
                code = 3 if fail_step == self.name else 0
                script = (
                    f"mkdir -p {shlex.quote(str(out.parent))}; echo {shlex.quote(line)} >> "
                    f"{shlex.quote(str(ctx.folder / 'journal.txt'))}; echo working on {label}; "
                    f"sleep {seconds}; [ {code} = 0 ] || exit {code}; touch {shlex.quote(str(out))}"
                )
                plans.append(TaskPlan(label, ("sh", "-c", script)))
            return plans

        def verify(self, ctx: Context) -> str | None:
            missing = [label for label in self.labels(ctx) if not self._out(ctx, label).exists()]
            return f"missing outputs {missing}" if missing else None

    return [Cheap("dl3", True), Cheap("index", False), Cheap("report", False)]


def daemon_command(spool: Path, *, seconds: float = 0.2, once: bool = False, poll: bool = False,
                   fail_step: str | None = None, config: Path | None = None) -> list[str]:
    """The command line that runs the daemon with cheap steps (this file as a script)."""
    argv = [PYTHON, str(Path(__file__).resolve()), "--spool", str(spool), "--seconds", str(seconds)]
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


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a true value; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


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


def _main() -> int:
    parser = argparse.ArgumentParser(description="spoold with cheap steps, for the tests")
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--poll", action="store_true")
    parser.add_argument("--fail-step")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s spoold[%(process)d] %(levelname)s %(message)s")
    from spoold.daemon import Daemon
    from spoold.lock import SpoolLocked
    from spoold.site import load_site

    site = load_site(args.config, spool_root=args.spool)
    daemon = Daemon(site, steps=cheap_steps(args.seconds, args.fail_step), once=args.once,
                    poll=True if args.poll else None)
    daemon.install_signal_handlers()
    try:
        return daemon.run()
    except SpoolLocked as error:
        print(f"spoold: {error}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(_main())
