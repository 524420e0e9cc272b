"""Executors: where the tasks of a request's steps run.

``local`` (the embedded default) runs them as child processes of the daemon's
host, each in its own session; ``slurm`` submits job arrays. Both implement
:class:`spoold.executors.base.Executor`.
"""

from __future__ import annotations

from typing import Any

from spoold.executors.base import Executor


def make_executor(site: Any) -> Executor:
    """Return the executor the site asks for (``site.executor``: ``local`` or ``slurm``).

    The Slurm executor is the class ``SlurmExecutor`` of :mod:`spoold.executors.slurm`,
    constructed as ``SlurmExecutor(site)``.
    """
    kind = getattr(site, "executor", "local")
    if kind == "slurm":
        from spoold.executors.slurm import SlurmExecutor

        return SlurmExecutor(site)
    if kind == "local":
        from spoold.executors.local import LocalExecutor

        return LocalExecutor(site)
    raise ValueError(f"Unknown executor {kind!r} in the site file: use local or slurm.")
