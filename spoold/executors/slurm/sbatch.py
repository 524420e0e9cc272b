"""The batch script of one Slurm job array.

Every option goes into ``#SBATCH`` lines, so the script in the request's folder says
exactly what was asked of Slurm, and ``sbatch --parsable script`` is the whole command.
Each array element looks up its task in a ``case`` table and runs it through
``python -m spoold.taskrun``, which writes the task's result file itself.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from spoold.executors.resources import Resources, memory_mb

__all__ = ["ArrayScript", "Resources", "TaskCommand", "array_chunks", "memory_mb", "submission_name"]


def submission_name(step_name: str, submission: int) -> str:
    """The job name of a step's ``submission``-th sbatch: the step's name, then ``.1``, ``.2`` ...

    ``step_name`` is :attr:`spoold.executors.base.StepJob.name`
    (``astran.<request-id>.<step>.<attempt>``); submission 0 keeps it unchanged, later
    ones (more chunks of a large array, retries) add their number, so every job name is
    unique and a restarted daemon can look each one up.
    """
    if not step_name or any(c in step_name for c in ",\n\t "):
        raise ValueError(f"{step_name!r} cannot be a Slurm job name")
    return step_name if submission == 0 else f"{step_name}.{submission}"


def array_chunks(n_tasks: int, max_array_size: int) -> list[tuple[int, int]]:
    """Split ``n_tasks`` tasks into arrays Slurm accepts: a list of ``(offset, count)``.

    Slurm rejects array indices at or above its ``MaxArraySize``; every chunk here uses
    indices ``0 .. count-1``, and its tasks are ``offset .. offset+count-1``.
    """
    if n_tasks < 1:
        raise ValueError("an array needs at least one task")
    if max_array_size < 1:
        raise ValueError("MaxArraySize must be at least 1")
    return [(start, min(max_array_size, n_tasks - start)) for start in range(0, n_tasks, max_array_size)]


@dataclass(frozen=True)
class TaskCommand:
    """One array element: the task's argv and where taskrun writes its result and log."""

    argv: tuple[str, ...]
    result: Path
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ArrayScript:
    """Everything in one batch script; :meth:`render` gives its text.

    ``resources`` are the merged ones (:func:`spoold.executors.resources.for_request`):
    ``time``, ``mem`` and ``cpus_per_task`` are set.
    """

    name: str
    tasks: Sequence[TaskCommand]
    output: Path
    resources: Resources
    python: str
    throttle: int | None = None
    after_ok: Sequence[str] = ()
    workdir: Path | None = None
    pythonpath: str | None = None
    comment: str | None = None

    def array_spec(self) -> str:
        """``--array`` value: ``0-<n-1>`` with ``%throttle`` when set."""
        spec = f"0-{len(self.tasks) - 1}" if len(self.tasks) > 1 else "0"
        if self.throttle and len(self.tasks) > 1:
            spec += f"%{self.throttle}"
        return spec

    def options(self) -> list[str]:
        """The sbatch options, one per ``#SBATCH`` line, in a fixed order."""
        r = self.resources
        opts = [f"--job-name={self.name}", f"--array={self.array_spec()}", f"--output={self.output}",
                f"--time={r.time}", f"--mem={r.mem}", f"--cpus-per-task={r.cpus_per_task}", "--ntasks=1",
                "--no-requeue"]
        if self.workdir is not None:
            opts.append(f"--chdir={self.workdir}")
        for flag, value in (("partition", r.partition), ("account", r.account), ("qos", r.qos)):
            if value:
                opts.append(f"--{flag}={value}")
        if self.comment:
            opts.append(f"--comment={self.comment}")
        if self.after_ok:
            opts.append("--dependency=afterok:" + ":".join(self.after_ok))
            opts.append("--kill-on-invalid-dep=yes")
        opts.extend(r.extra)
        return opts

    def task_line(self, task: TaskCommand) -> str:
        """The shell command that runs one task through ``spoold.taskrun``."""
        env = [f"{k}={shlex.quote(v)}" for k, v in sorted(task.env.items())]
        argv = [self.python, "-m", "spoold.taskrun", "--result", str(task.result), "--log", str(task.log),
                "--", *task.argv]
        prefix = ("env " + " ".join(env) + " ") if env else ""
        return "exec " + prefix + " ".join(shlex.quote(a) for a in argv)

    def render(self) -> str:
        """The whole batch script."""
        lines = ["#!/bin/bash"]
        lines += [f"#SBATCH {shlex.quote(opt)}" for opt in self.options()]
        lines += [
            "# Written by spoold's Slurm executor: one array element per task; each task",
            "# writes its own result file, which is how spoold learns its exit code.",
            "set -u",
        ]
        if self.pythonpath:
            lines.append(f"export PYTHONPATH={shlex.quote(self.pythonpath)}${{PYTHONPATH:+:$PYTHONPATH}}")
        lines.append('case "${SLURM_ARRAY_TASK_ID:-0}" in')
        for index, task in enumerate(self.tasks):
            lines.append(f"  {index}) {self.task_line(task)} ;;")
        lines.append('  *) echo "spoold: no task ${SLURM_ARRAY_TASK_ID:-} in this array" >&2; exit 2 ;;')
        lines.append("esac")
        return "\n".join(lines) + "\n"
