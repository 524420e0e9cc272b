"""Helpers for the Slurm executor's tests, against the real single-node cluster of scripts/slurm-up.

They build StepJobs of small shell tasks and drive the executor until every task is final,
as the daemon would; the fixtures (``slurm_cluster``, ``workdir``) are in
``tests/spoold/slurm/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from spoold.executors.base import StepJob, StepPoll, Task
from spoold.executors.slurm import SlurmExecutor
from spoold.site import SlurmSettings

@dataclass(frozen=True)
class FakeSite:
    """The part of spoold.site.Site the executor reads."""

    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    executor: str = "slurm"


def settings(**overrides) -> SlurmSettings:
    """Slurm settings fit for tests: small memory, short polls."""
    values = dict(mem="100M", time="00:05:00", poll_seconds=0.5, poll_max_seconds=2.0)
    values.update(overrides)
    return SlurmSettings(**values)


def make_executor(**overrides) -> SlurmExecutor:
    extra = {k: overrides.pop(k) for k in ("commands", "max_array_size", "python") if k in overrides}
    return SlurmExecutor(FakeSite(slurm=settings(**overrides)), **extra)


counter = iter(range(1, 1_000_000))


def shell_job(workdir: Path, scripts: list[str], *, step: str = "dl2", request_id: str | None = None,
              after: tuple = (), attempt: int = 1, outputs: list[tuple[Path, ...]] | None = None,
              **job_fields) -> StepJob:
    """A StepJob whose task i runs ``bash -c scripts[i]`` and writes ``outputs[i]``."""
    request_id = request_id or f"t{os.getpid()}x{next(counter)}x{int(time.time() * 1000) % 10_000_000}"
    outputs = outputs or [()] * len(scripts)
    tasks = tuple(
        Task(index=i, label=f"task {i}", argv=("bash", "-c", script),
             result_file=workdir / "results" / step / f"{i}.json", log_file=workdir / "logs" / step / f"{i}.log",
             outputs=tuple(outputs[i]))
        for i, script in enumerate(scripts))
    return StepJob(request_id=request_id, step=step, attempt=attempt, tasks=tasks, workdir=workdir,
                   after=after, **job_fields)


def run_until_final(executor: SlurmExecutor, handles: list[dict], timeout: float = 180.0,
                    on_poll=None) -> list[StepPoll]:
    """Poll like the daemon (storing the returned handles) until every task is final."""
    deadline = time.monotonic() + timeout
    polls: list[StepPoll] = []
    while time.monotonic() < deadline:
        polls = executor.poll(handles)
        handles[:] = [p.handle for p in polls]
        if on_poll is not None:
            on_poll(polls)
        if all(p.finished for p in polls):
            return polls
        time.sleep(0.3)
    states = {p.handle["name"]: {i: (s.state.value, s.detail) for i, s in p.tasks.items()} for p in polls}
    raise AssertionError(f"tasks not final after {timeout} s: {states}")


REPO = Path(__file__).resolve().parents[2]
PREFIX = Path(os.environ.get("ASTRAN_SLURM_PREFIX", "/var/lib/astran-slurm"))
TEST_USER = os.environ.get("ASTRAN_SLURM_TEST_USER", "astran-test")


def stop_slurm_daemon(name: str) -> None:
    """Stop one of scripts/slurm-up's daemons (``slurmctld``, ``slurmdbd``) by its pid file."""
    pid = int((PREFIX / "run" / f"{name}.pid").read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return
        if state in ("Z", "X"):  # dead daemons linger as zombies here
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def slurm_up() -> None:
    """Start again what :func:`stop_slurm_daemon` stopped (scripts/slurm-up is idempotent)."""
    subprocess.run([str(REPO / "scripts" / "slurm-up")], check=True, capture_output=True, timeout=300)


def slurm_answers() -> bool:
    if not shutil.which("sinfo"):
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    # Up means slurmctld answers and the node is not down (it may be busy or completing).
    states = [s.strip(" *~#$@^-+") for s in out.stdout.split()]
    return out.returncode == 0 and any(s and not s.startswith(("down", "drain", "fail", "unk")) for s in states)
