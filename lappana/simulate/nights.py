"""Several simulated nights in one data tree, each with its own flux (and a flare if wanted).

:func:`simulate_nights` calls :func:`lappana.simulate.night.simulate_night` once per
night into the same tree, so the nights sit side by side as on the LST cluster
(``DL2/YYYYMMDD/...``, one run catalogue per night). The IRFs and the MC are
written once, with the first night (their content depends only on the seed, which
all nights share; run numbers differ, so events do). Each night's truth is kept as
``simulation_YYYYMMDD.json`` beside the tree's ``simulation.json``, which lists them.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lappana.errors import LappanaError
from lappana.paths import night_folder
from lappana.simulate.variability import Flare

#: Runs of consecutive nights are numbered apart by at least this much (LST-1 takes ~10-20 runs a night).
RUN_NUMBER_GAP = 10


@dataclass(frozen=True)
class NightPlan:
    """One night of :func:`simulate_nights`.

    Attributes
    ----------
    night : datetime.date
        The evening's date.
    n_runs : int
    run_minutes : float
    source_flux : float
        Crab units (0: no source).
    flare : Flare, optional
        A flare within the night.
    """

    night: _dt.date
    n_runs: int = 3
    run_minutes: float = 20.0
    source_flux: float = 1.0
    flare: Flare | None = None


@dataclass
class SimulatedNights:
    """What :func:`simulate_nights` wrote: each night's :class:`~lappana.simulate.night.SimulatedNight`, truth files."""

    output: Path
    nights: list = field(default_factory=list)
    truth_files: list[Path] = field(default_factory=list)
    index_file: Path | None = None

    def truths(self) -> list[dict]:
        """The truth documents of the nights, in order."""
        return [json.loads(p.read_text()) for p in self.truth_files]


def simulate_nights(output: str | Path, plans: Sequence[NightPlan], *, first_run: int = 15864, seed: int = 0,
                    **settings) -> SimulatedNights:
    """Simulate ``plans`` into one tree; run numbers go on from night to night.

    Parameters
    ----------
    output : str or Path
        The tree's root (a site's ``data.root``).
    plans : sequence of NightPlan
        The nights, in any order (written in date order); each date once.
    first_run : int
        The first run number of the first night.
    seed : int
        One seed for all nights (the IRFs and MC depend on it alone).
    **settings
        Passed to :func:`~lappana.simulate.night.simulate_night` for every night
        (``levels``, ``mc``, ``irfs``, ``shower_rate_hz``, ``progress``, ...).

    Returns
    -------
    SimulatedNights
    """
    from lappana.simulate.night import simulate_night

    plans = sorted(plans, key=lambda p: p.night)
    if not plans:
        raise LappanaError("Give at least one night to simulate.")
    if len({p.night for p in plans}) < len(plans):
        raise LappanaError("Each night can be simulated once; two plans name the same night.")
    output = Path(output)
    result = SimulatedNights(output=output)
    run = int(first_run)
    mc, irfs = settings.pop("mc", True), settings.pop("irfs", True)
    for i, plan in enumerate(plans):
        night = simulate_night(output, night=plan.night, n_runs=plan.n_runs, run_minutes=plan.run_minutes,
                               first_run=run, seed=seed, source_flux=plan.source_flux, flare=plan.flare,
                               mc=mc and i == 0, irfs=irfs and i == 0, **settings)
        kept = night.truth_file.with_name(f"simulation_{night_folder(plan.night)}.json")
        night.truth_file.replace(kept)
        night.truth_file = kept
        result.nights.append(night)
        result.truth_files.append(kept)
        run += plan.n_runs + RUN_NUMBER_GAP
    index = {"nights": [{"night": p.night.isoformat(), "truth": f.name, "source_flux_crab": p.source_flux}
                        for p, f in zip(plans, result.truth_files)]}
    result.index_file = output / "simulation.json"
    result.index_file.write_text(json.dumps(index, indent=2) + "\n")
    return result
