"""The Slurm executor: each step of a request is one ``sbatch`` job array.

Modules, each with one job:

``sbatch``
    the batch script for one array (resources, throttle, dependency, the task table);
``commands``
    running sbatch, sacct, squeue, scancel and scontrol, with retries over outages;
``monitor``
    Slurm's job states, parsing of sacct's rows, one batched poll with back-off;
``retry``
    which failures are transient and what a resubmission changes;
``executor``
    the :class:`SlurmExecutor` that the daemon drives.

See ``docs/slurm.md``.
"""

from .executor import SlurmExecutor

__all__ = ["SlurmExecutor"]
