"""Which Slurm failures are worth another try, and what a retry cleans and changes.

A task that Slurm ended with a *transient* state (by default ``NODE_FAIL``, ``PREEMPTED``
and ``OUT_OF_MEMORY``; the site's ``slurm.retry_states``) is resubmitted up to
``slurm.max_retries`` times; an out-of-memory task gets ``slurm.mem_factor_on_oom`` times
more memory. Before a resubmission the task's partial outputs go: its result file, the
``--once`` marker, the outputs it declares; its log is kept under a numbered name.
Any other failure is permanent and fails the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from spoold.taskrun import started_file

DEFAULT_RETRY_STATES = ("NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY")


@dataclass(frozen=True)
class RetryPolicy:
    """When to resubmit a task.

    Attributes
    ----------
    states : frozenset of str
        Slurm states after which a task is resubmitted.
    max_retries : int
        Resubmissions per task at most.
    mem_factor_on_oom : float
        Memory multiplier for a task that ran out of memory.
    """

    states: frozenset[str] = frozenset(DEFAULT_RETRY_STATES)
    max_retries: int = 2
    mem_factor_on_oom: float = 2.0

    @classmethod
    def from_settings(cls, settings: object) -> "RetryPolicy":
        """The policy of a site's ``slurm`` settings (``retry_states``, ``max_retries``, ``mem_factor_on_oom``)."""
        return cls(
            states=frozenset(s.upper() for s in getattr(settings, "retry_states", DEFAULT_RETRY_STATES)),
            max_retries=int(getattr(settings, "max_retries", 2)),
            mem_factor_on_oom=float(getattr(settings, "mem_factor_on_oom", 2.0)),
        )

    def should_retry(self, state: str, retries_done: int) -> bool:
        """True when a task that ended in ``state`` after ``retries_done`` retries goes again."""
        return state in self.states and retries_done < self.max_retries

    def memory_factor(self, state: str) -> float:
        """How much more memory the retry of a task that ended in ``state`` asks for."""
        return self.mem_factor_on_oom if state == "OUT_OF_MEMORY" else 1.0


def clean_for_retry(result_file: Path, log_file: Path, outputs: Iterable[Path], retry: int) -> list[Path]:
    """Remove what a failed try left behind so the next try starts clean.

    Parameters
    ----------
    result_file, log_file : Path
        The task's result file (removed, with its ``.started`` marker) and log (renamed
        to ``<log>.try<retry>`` so the failed try's output stays readable).
    outputs : iterable of Path
        Files the task writes; partial ones are removed.
    retry : int
        The number of the try that failed (1 for the first).

    Returns
    -------
    list of Path
        What was removed or renamed.
    """
    touched: list[Path] = []
    for path in (Path(result_file), started_file(Path(result_file)), *map(Path, outputs)):
        try:
            path.unlink()
            touched.append(path)
        except FileNotFoundError:
            pass
    log = Path(log_file)
    if log.exists():
        kept = log.with_name(f"{log.name}.try{retry}")
        log.replace(kept)
        touched.append(kept)
    return touched
