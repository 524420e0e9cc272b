"""Running Slurm's commands: sbatch, sacct, squeue, scancel, scontrol.

Every call goes through :meth:`SlurmCommands.run`, which counts calls (the benchmark
reports them per poll), applies a timeout, and tells an outage of slurmctld or slurmdbd
(:class:`SlurmUnavailable`: wait and try again later) from a refusal (:class:`SlurmRefused`:
the job itself is wrong). Queries are read with ``-P`` (``|``-separated, never truncated).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

#: stderr fragments that mean "Slurm is not answering right now", not "this job is wrong".
OUTAGE_PATTERNS = (
    "unable to contact slurm controller",
    "socket timed out",
    "connection refused",
    "problem talking to the database",
    "persistent connection",
    "zero bytes were transmitted",
    "temporarily unable",
    "resource temporarily unavailable",
    "slurmdbd",
    "communication connection failure",
    "connection reset",
    "slurm_receive_msg",
    "transport endpoint",
    "timed out",
)

SACCT_FIELDS = ("JobID", "JobIDRaw", "JobName", "State", "ExitCode", "Reason", "NodeList")
SQUEUE_FORMAT = "%i|%A|%j|%T|%r"


class SlurmError(Exception):
    """A Slurm command did not do what was asked; the message is one sentence."""


class SlurmUnavailable(SlurmError):
    """slurmctld or slurmdbd did not answer (or the command timed out): try again later."""


class SlurmRefused(SlurmError):
    """Slurm answered and refused (an invalid partition, account, time limit ...)."""


@dataclass
class SlurmCommands:
    """Runs Slurm's client commands.

    Parameters
    ----------
    prefix : sequence of str
        Put before every command, e.g. ``("runuser", "-u", "astran-test", "--")`` to act as
        another user, or an ssh command to reach a login node.
    timeout : float
        Seconds before a command counts as an outage (squeue takes ~18 s to give up when
        slurmctld is down).
    attempts : int
        Tries per call for queries and scancel when Slurm is unavailable (sbatch is tried
        once: a lost answer must be checked by job name, never blindly resubmitted).
    pause : float
        Seconds between those tries.
    """

    prefix: Sequence[str] = ()
    timeout: float = 60.0
    attempts: int = 2
    pause: float = 1.0
    calls: Counter = field(default_factory=Counter)

    # -- the one place that runs a command ---------------------------------------------
    def run(self, command: str, args: Sequence[str], *, attempts: int | None = None,
            ok_codes: Iterable[int] = (0,)) -> str:
        """Run one Slurm command and return its stdout.

        Raises
        ------
        SlurmUnavailable
            When every try met an outage or a timeout.
        SlurmRefused
            When Slurm answered with an error that is not an outage.
        """
        argv = [*self.prefix, command, *args]
        tries = self.attempts if attempts is None else attempts
        last = ""
        for attempt in range(max(1, tries)):
            if attempt:
                time.sleep(self.pause)
            self.calls[command] += 1
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout,
                                      env=os.environ.copy(), stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                last = f"{command} did not answer within {self.timeout:.0f} s"
                continue
            except FileNotFoundError as exc:
                raise SlurmUnavailable(f"{command} is not installed here ({exc.filename} not found).") from None
            if done.returncode in tuple(ok_codes):
                return done.stdout
            last = _one_line(done.stderr) or f"{command} exited with {done.returncode}"
            if not is_outage(done.stderr):
                raise SlurmRefused(f"{command} {' '.join(args[:1])}...: {last}")
        raise SlurmUnavailable(f"Slurm is not answering ({last}); will try again.")

    # -- submission --------------------------------------------------------------------
    def sbatch(self, script: Path) -> str:
        """Submit ``script`` with ``sbatch --parsable``; return the job id (tried once)."""
        out = self.run("sbatch", ["--parsable", str(script)], attempts=1).strip()
        job_id = out.splitlines()[-1].split(";")[0] if out else ""
        if not job_id.isdigit():
            raise SlurmRefused(f"sbatch printed {out!r} instead of a job id")
        return job_id

    def scancel(self, job_ids: Sequence[str]) -> None:
        """Cancel jobs (whole arrays when given array job ids); unknown ids are ignored."""
        if job_ids:
            try:
                self.run("scancel", list(job_ids))
            except SlurmRefused as exc:  # jobs that already ended or were purged
                if "invalid job id" not in str(exc).lower():
                    raise

    # -- queries -----------------------------------------------------------------------
    def sacct(self, job_ids: Sequence[str] = (), names: Sequence[str] = ()) -> list[dict[str, str]]:
        """Accounting rows (one per array element, ``-X``) for job ids and/or job names."""
        if not job_ids and not names:
            return []
        args = ["-X", "-P", "-n", "-o", ",".join(SACCT_FIELDS)]
        if job_ids:
            args += ["-j", ",".join(job_ids)]
        if names:
            # sacct needs a time window with --name; two weeks covers any request in flight.
            args += ["--name", ",".join(names), "-S", "now-14days"]
        return [dict(zip(SACCT_FIELDS, line.split("|"))) for line in self.run("sacct", args).splitlines()
                if line.count("|") == len(SACCT_FIELDS) - 1]

    def squeue(self, job_ids: Sequence[str] = (), names: Sequence[str] = ()) -> list[dict[str, str]]:
        """Controller rows (``-t all``) for job ids and/or job names."""
        args = ["-h", "-t", "all", "-o", SQUEUE_FORMAT]
        if job_ids:
            args += ["-j", ",".join(job_ids)]
        if names:
            args += ["--name", ",".join(names)]
        keys = ("JobID", "JobIDRaw", "JobName", "State", "Reason")
        try:
            out = self.run("squeue", args)
        except SlurmRefused as exc:
            if "invalid job id" in str(exc).lower():
                return []
            raise
        return [dict(zip(keys, line.split("|", 4))) for line in out.splitlines() if line.count("|") >= 4]

    def max_array_size(self) -> int:
        """The cluster's MaxArraySize (array indices must stay below it)."""
        out = self.run("scontrol", ["show", "config"])
        match = re.search(r"^MaxArraySize\s*=\s*(\d+)", out, re.MULTILINE)
        return int(match.group(1)) if match else 1001

    def control(self, *args: str) -> str:
        """``scontrol args...`` (tests use it to set a node down and resume it)."""
        return self.run("scontrol", list(args))


def is_outage(stderr: str) -> bool:
    """True when a command's stderr says Slurm was unreachable rather than that it refused."""
    text = stderr.lower()
    return any(pattern in text for pattern in OUTAGE_PATTERNS)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
