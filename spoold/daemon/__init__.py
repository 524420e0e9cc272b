"""spoold's daemon: the main loop and the parts it is composed of.

===================  ===================================================================
module               job
===================  ===================================================================
``loop``             :class:`Daemon`: start, the turn, scheduling, advancing, sleep, stop
``intake``           :class:`~spoold.daemon.intake.Intake`: claim and validate what is dropped
``controls``         :class:`~spoold.daemon.controls.Controls`: cancel, hold, release, retry
``recovery``         :class:`~spoold.daemon.recovery.Recovery`: finish what a crash left half-done
``products``         :class:`~spoold.daemon.products.Products`: where the products go
``guard``            :class:`~spoold.daemon.guard.Guard`: one request's trouble stays its own
``journal``          :class:`~spoold.daemon.journal.Journal`: events and changes of state
``cli``              the ``spoold`` command
===================  ===================================================================

Each part is given what it needs from the others as a small Protocol
(``IntakeServices``, ``GuardServices``, ``Guarding``, ``Failing``, ``Changes``), as
the runner is given :class:`spoold.pipeline.runner.Services`; no part reaches
into another's memory. The ``spool`` command applies its actions with
:class:`~spoold.daemon.controls.Controls`, a :class:`~spoold.daemon.journal.Journal`
and the spool's lock, without a daemon.
"""

from spoold.daemon.guard import SpoolWideError
from spoold.daemon.loop import Daemon

__all__ = ["Daemon", "SpoolWideError"]
