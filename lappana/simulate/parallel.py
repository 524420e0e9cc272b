"""The runs of a simulated night written side by side, one process per CPU.

Writing a run is bound by the blosc:zstd compression of its DL1 and DL2 tables
(lstchain's own filters, which the simulator keeps so that readers meet what lstchain
writes). At LST-1's cosmic-ray rate an 8-minute run is ~4 million events, so the runs
of a night are written in parallel: each run has its own random stream
(``numpy.random.default_rng([seed, run_id])``) and its own files, so the result does
not depend on how many processes wrote it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lappana.env import offline_astropy
from lappana.simulate.events import RunSettings
from lappana.simulate.irf import IrfSet
from lappana.simulate.observation import RunPlan
from lappana.simulate.run import RunTruth, write_run


@dataclass
class RunJob:
    """Everything :func:`write_run` needs for one run of the night."""

    plan: RunPlan
    settings: RunSettings
    seed: int
    dl1_path: Path | None
    dl2_path: Path | None
    cuts: IrfSet | None
    dl2_compressed: bool = True
    #: events per subrun DL1 file written beside the run's (None: no subrun files)
    subrun_events: int | None = None


def available_cpus() -> int:
    """CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _write(job: RunJob, progress=None) -> RunTruth:
    truth = write_run(job.plan, job.settings, seed=job.seed, dl1_path=job.dl1_path, dl2_path=job.dl2_path,
                      cuts=job.cuts, progress=progress, dl2_compressed=job.dl2_compressed)
    if job.subrun_events and job.dl1_path is not None:
        from lappana.simulate.subruns import write_subrun_files

        truth.n_subruns = len(write_subrun_files(job.dl1_path, job.subrun_events))
    return truth


def write_runs(jobs: Sequence[RunJob], *, workers: int | None = None, progress=None,
               on_done: Callable[[RunJob, RunTruth], None] | None = None) -> list[RunTruth]:
    """Write the runs of ``jobs``, in ``workers`` processes; return their truths in the jobs' order.

    Parameters
    ----------
    jobs : sequence of RunJob
        The runs.
    workers : int, optional
        Processes to use (default: one per available CPU, at most one per run). With one,
        the runs are written in this process, one after the other.
    progress : tqdm.tqdm, optional
        Updated with the simulated seconds (per chunk with one worker, per run otherwise).
    on_done : callable, optional
        Called in this process with each job and its truth as soon as the run is written.

    Raises
    ------
    ValueError
        ``workers`` is below 1.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"The number of processes must be at least 1, not {workers}.")
    n = min(len(jobs), workers or available_cpus())
    truths: list[RunTruth] = []
    if n <= 1:
        for job in jobs:
            if progress is not None:
                progress.set_postfix_str(f"run {job.plan.run_id}")
            truths.append(_write(job, progress))
            if on_done is not None:
                on_done(job, truths[-1])
        return truths
    # fork where there is one: the workers start at once with what this process imported.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=context, initializer=offline_astropy) as pool:
        futures = [pool.submit(_write, job) for job in jobs]
        for job, future in zip(jobs, futures):
            try:
                truths.append(future.result())
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
            if progress is not None:
                progress.update(job.plan.duration_s)
            if on_done is not None:
                on_done(job, truths[-1])
    return truths
