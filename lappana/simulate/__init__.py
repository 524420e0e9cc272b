"""LST-1-like nights for demos and tests: DL1/DL2 runs, run catalogue, IRFs and MC.

Main entry points: :func:`lappana.simulate.night.simulate_night` (a whole night and
its truth) and :func:`lappana.simulate.run.simulate_run_dl2` (one DL2 run of a given
size, streamed, for benchmarks). The command is ``lappana simulate``.
"""

from lappana.simulate.night import SimulatedNight, simulate_night
from lappana.simulate.run import RunTruth, simulate_run_dl2

__all__ = ["SimulatedNight", "simulate_night", "RunTruth", "simulate_run_dl2"]
