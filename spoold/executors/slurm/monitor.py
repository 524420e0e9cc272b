"""Slurm's job states and one batched poll for every job of every request.

A poll is one ``sacct -X -P -j <every array id>`` call: it knows live and finished jobs
alike and gives exit codes. When slurmdbd does not answer, the same question goes to
slurmctld (``squeue -t all``); when neither answers, the poll reports an outage and the
last known states stand, so an outage is waited out and never taken as a failure. Array
elements that Slurm has not split off yet show as one row (``12_[1-3%2]``) and are
expanded here. Polls back off while nothing changes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from .commands import SlurmCommands, SlurmUnavailable

#: States in which a job may still run to completion.
LIVE_STATES = frozenset({
    "PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
    "RESIZING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "SPECIAL_EXIT", "RESV_DEL_HOLD",
    "POWER_UP_NODE", "UNKNOWN",
})
#: The state of a job that ended well.
OK_STATES = frozenset({"COMPLETED"})
#: States of a job that ended badly.
FAILED_STATES = frozenset({
    "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
    "DEADLINE", "REVOKED",
})

_ARRAY_ROW = re.compile(r"^(\d+)_(\d+)$")
_ARRAY_RANGE = re.compile(r"^(\d+)_\[([0-9,\-]+)(?:%\d+)?\]$")


def normalise_state(raw: str) -> str:
    """``"CANCELLED by 0"`` → ``"CANCELLED"``; ``"completed"`` → ``"COMPLETED"``."""
    word = raw.strip().split(" ")[0].upper() if raw.strip() else "UNKNOWN"
    return word.rstrip("+")


def is_live(state: str) -> bool:
    """True for states in which the job may still finish (unknown states count as live)."""
    return state in LIVE_STATES or (state not in OK_STATES and state not in FAILED_STATES)


@dataclass(frozen=True)
class TaskState:
    """What Slurm says about one array element.

    Attributes
    ----------
    state : str
        Slurm's state word (``RUNNING``, ``FAILED``, ``TIMEOUT`` ...); ``VANISHED`` when
        an element of a known array is in no record any more (cancelled before it started).
    exit_code : int or None
        The task's exit code from ``ExitCode`` (``3:0`` → 3), None when unknown.
    signal : int or None
        The signal that ended it (``0:9`` → 9), None when none.
    reason : str
        squeue's reason when known (``Dependency``, ``DependencyNeverSatisfied`` ...).
    node : str
        Where it ran, when known.
    """

    state: str
    exit_code: int | None = None
    signal: int | None = None
    reason: str = ""
    node: str = ""

    @property
    def live(self) -> bool:
        """True while the task may still finish."""
        return is_live(self.state)

    @property
    def ok(self) -> bool:
        """True when the task completed with exit code 0."""
        return self.state in OK_STATES


def expand_indices(spec: str) -> list[int]:
    """``"1-3,5"`` → ``[1, 2, 3, 5]`` (array index lists as squeue and sacct print them)."""
    indices: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            indices.extend(range(int(low), int(high) + 1))
        elif part:
            indices.append(int(part))
    return indices


def parse_exit_code(text: str) -> tuple[int | None, int | None]:
    """sacct's ``ExitCode`` ``"3:0"`` → ``(3, None)``; ``"0:9"`` → ``(0, 9)``."""
    try:
        code, _, sig = text.partition(":")
        signal = int(sig) if sig else 0
        return int(code), (signal or None)
    except ValueError:
        return None, None


def parse_rows(rows: Iterable[Mapping[str, str]]) -> dict[tuple[str, int], TaskState]:
    """Rows of sacct or squeue → the state of each array element, keyed ``(array id, index)``.

    A row for one element (``12_3``) wins over a row for a range that still lists it.
    """
    single: dict[tuple[str, int], TaskState] = {}
    ranged: dict[tuple[str, int], TaskState] = {}
    for row in rows:
        job_id = row.get("JobID", "").strip()
        exit_code, signal = parse_exit_code(row.get("ExitCode", ""))
        state = TaskState(state=normalise_state(row.get("State", "")), exit_code=exit_code, signal=signal,
                          reason=row.get("Reason", "").strip(), node=row.get("NodeList", "").strip())
        if match := _ARRAY_ROW.match(job_id):
            single[(match.group(1), int(match.group(2)))] = state
        elif match := _ARRAY_RANGE.match(job_id):
            # The rest of an array that has not started. Its row carries the state of the
            # array's first record, which the last element to run reuses (a FAILED there
            # belongs to that element): only a cancellation is about the rest.
            if state.state not in ("CANCELLED", "DEADLINE", "REVOKED"):
                state = TaskState(state="PENDING", reason=state.reason)
            for index in expand_indices(match.group(2)):
                ranged[(match.group(1), index)] = state
        elif job_id.isdigit():  # not an array (never made by spoold, but be kind)
            single[(job_id, 0)] = state
    return {**ranged, **single}


@dataclass
class PollResult:
    """The outcome of one poll.

    Attributes
    ----------
    states : dict
        ``(array id, index)`` → :class:`TaskState` for every element Slurm reported.
    outage : str or None
        Why neither slurmdbd nor slurmctld answered, None when one did.
    source : str
        ``"sacct"``, ``"squeue"`` or ``""`` (outage).
    calls : int
        Slurm commands this poll ran.
    """

    states: dict[tuple[str, int], TaskState] = field(default_factory=dict)
    outage: str | None = None
    source: str = ""
    calls: int = 0


class Poller:
    """One batched query per poll for every job, with back-off.

    Parameters
    ----------
    commands : SlurmCommands
        How Slurm is asked.
    base_seconds, max_seconds : float
        The interval starts at ``base_seconds``, grows by ``factor`` after each poll that
        changed nothing or met an outage, up to ``max_seconds``; a change or a new
        submission resets it.
    clock : callable
        Monotonic seconds (tests pass their own).
    """

    def __init__(self, commands: SlurmCommands, base_seconds: float = 5.0, max_seconds: float = 60.0,
                 factor: float = 1.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.commands = commands
        self.base_seconds = base_seconds
        self.max_seconds = max(max_seconds, base_seconds)
        self.factor = factor
        self.clock = clock
        self.interval = base_seconds
        self.next_time = 0.0
        self.last: dict[tuple[str, int], TaskState] = {}
        self.polls = 0

    def due(self) -> bool:
        """True when the back-off interval has passed since the last poll."""
        return self.clock() >= self.next_time

    def hurry(self) -> None:
        """Poll at the next chance (after a submission or a cancel)."""
        self.interval = self.base_seconds
        self.next_time = 0.0

    def poll(self, array_ids: Sequence[str]) -> PollResult:
        """Ask Slurm about every element of ``array_ids`` in one call (two if slurmdbd is down)."""
        before = sum(self.commands.calls.values())
        result = PollResult()
        ids = sorted(set(array_ids), key=int)
        if ids:
            try:
                result.states, result.source = parse_rows(self.commands.sacct(job_ids=ids)), "sacct"
            except SlurmUnavailable as exc:
                try:
                    result.states, result.source = parse_rows(self.commands.squeue(job_ids=ids)), "squeue"
                except SlurmUnavailable as exc2:
                    result.outage = f"{exc} {exc2}"
        result.calls = sum(self.commands.calls.values()) - before
        self.polls += 1
        changed = result.outage is None and any(self.last.get(k) != v for k, v in result.states.items())
        if result.outage is None:
            self.last.update(result.states)
        self.interval = self.base_seconds if changed else min(self.max_seconds, self.interval * self.factor)
        self.next_time = self.clock() + self.interval
        return result
