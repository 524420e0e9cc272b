"""The steps of a request: ``resolve`` → ``dl2`` → ``dl3`` → ``index`` → ``report``.

``resolve`` runs inside the daemon (:mod:`spoold.pipeline.resolve`); the others
are :class:`~spoold.pipeline.base.Step` objects whose tasks an executor runs
(:mod:`spoold.pipeline.steps`). Every step is idempotent: one whose outputs
exist and check out is skipped, and the request's log says so.
"""

from spoold.pipeline.base import Context, Step, TaskPlan
from spoold.pipeline.steps import default_steps

__all__ = ["Context", "Step", "TaskPlan", "default_steps"]
