"""The Slurm executor: each step of a request is one ``sbatch`` job array.

Modules, each with one job:

``handles``
    the typed handle (:class:`~.handles.SlurmHandle`, its tasks and their earlier tries),
    read from and written to the JSON the daemon keeps in ``state.json``;
``sbatch``
    the batch script for one array (resources, throttle, dependency, the task table);
``commands``
    running sbatch, sacct, squeue, scancel and scontrol, with retries over outages;
``submission``
    submitting a step's arrays (or deferring them), finding them again by job name;
``monitor``
    Slurm's job states, parsing of sacct's rows, one batched poll with back-off;
``status``
    what a task's Slurm state means for the daemon (a ``TaskStatus``);
``retry``
    which failures are transient and what a resubmission cleans and changes;
``files``
    the batch script, log lines and Slurm outputs beside Slurm;
``executor``
    the :class:`SlurmExecutor` that the daemon drives, composing the above.

The resources of a task are :class:`spoold.executors.resources.Resources`.
See ``docs/slurm.md``.
"""

from .executor import SlurmExecutor

__all__ = ["SlurmExecutor"]
