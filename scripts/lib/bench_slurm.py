"""Benchmark of the Slurm executor's polling (run by scripts/bench-slurm).

Submits REQUESTS steps of TASKS tasks each (``sleep``) to the real Slurm, so that
REQUESTS x TASKS array elements are in flight at once, then polls them POLLS times the
way the daemon does (one ``executor.poll`` with every handle) and prints, per poll, the
Slurm commands run and the CPU time spent by the polling process and by the commands it
ran. Everything it submitted is cancelled at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from spoold.executors.base import StepJob, Task
from spoold.executors.slurm import SlurmExecutor
from spoold.site import SlurmSettings


@dataclass(frozen=True)
class _Site:
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    executor: str = "slurm"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--polls", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/slurm-bench"))
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    settings = SlurmSettings(mem="50M", time="00:30:00", poll_seconds=0.1, poll_max_seconds=0.1,
                             max_jobs_in_flight=args.requests * args.tasks + 10, array_throttle=10)
    executor = SlurmExecutor(_Site(slurm=settings))
    stamp = time.strftime("%H%M%S")
    handles = []
    t0 = time.monotonic()
    for r in range(args.requests):
        folder = args.workdir / f"req{r:03d}"
        tasks = tuple(Task(index=i, label=f"run{i}", argv=("sleep", "600"),
                           result_file=folder / "results" / f"{i}.json", log_file=folder / "logs" / f"{i}.log")
                      for i in range(args.tasks))
        job = StepJob(request_id=f"bench{stamp}r{r:03d}", step="dl2", attempt=1, tasks=tasks, workdir=folder)
        handles.append(executor.submit(job))
    submit_seconds = time.monotonic() - t0
    sbatch_calls = executor.commands.calls["sbatch"]
    print(f"submitted {args.requests} steps x {args.tasks} tasks = {args.requests * args.tasks} array elements "
          f"with {sbatch_calls} sbatch calls in {submit_seconds:.1f} s")
    try:
        calls, cpu_self, cpu_children, wall, live = [], [], [], [], []
        for _ in range(args.polls):
            time.sleep(0.2)
            before_calls = sum(executor.commands.calls.values())
            c0, k0, w0 = time.process_time(), _children_cpu(), time.monotonic()
            polls = executor.poll(handles)
            c1, k1, w1 = time.process_time(), _children_cpu(), time.monotonic()
            handles = [p.handle for p in polls]
            calls.append(sum(executor.commands.calls.values()) - before_calls)
            cpu_self.append(c1 - c0)
            cpu_children.append(k1 - k0)
            wall.append(w1 - w0)
            live.append(sum(1 for p in polls for s in p.tasks.values() if not s.state.final))
        print(f"{args.polls} polls of {len(handles)} handles, {live[-1]} tasks in flight at the last one")
        print(f"Slurm calls per poll: {statistics.mean(calls):.2f} (min {min(calls)}, max {max(calls)})")
        print(f"daemon CPU per poll: {1000 * statistics.mean(cpu_self):.1f} ms "
              f"(max {1000 * max(cpu_self):.1f} ms); Slurm commands' CPU per poll: "
              f"{1000 * statistics.mean(cpu_children):.1f} ms; wall per poll: {1000 * statistics.mean(wall):.0f} ms")
        size = sum(len(repr(h)) for h in handles)
        print(f"handles (stored in state.json): {size / len(handles) / 1024:.1f} KiB per step")
    finally:
        for handle in handles:
            executor.cancel(handle)
        print(f"cancelled; scancel calls: {executor.commands.calls['scancel']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
