"""A source whose flux changes: a flux per night, and a flare within a night.

The simulator's gamma rate is fixed per run, so a flare is made of whole runs:
each run gets the flux averaged over its time span (exact when the flare starts
and ends on run boundaries; a run it only partly covers gets the time-weighted
mean). A different flux per night is simply ``source_flux`` of each
:func:`lappana.simulate.night.simulate_night`. What was injected is written into
``simulation.json`` by :func:`injected_spectrum`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from lappana.errors import LappanaError
from lappana.highlevel.crab import CRAB_MAGIC_2015


@dataclass(frozen=True)
class Flare:
    """A flare: the flux is ``flux_crab`` from ``start_min`` to ``start_min + duration_min``.

    Attributes
    ----------
    start_min : float
        Start, in minutes after the start of the night's first run.
    duration_min : float
        Length in minutes.
    flux_crab : float
        Flux during the flare, Crab units (instead of the night's ``source_flux``).
    """

    start_min: float
    duration_min: float
    flux_crab: float

    def __post_init__(self) -> None:
        if self.duration_min <= 0 or self.flux_crab < 0 or self.start_min < 0:
            raise LappanaError(
                "A flare needs a start (min after the first run, ≥ 0), a positive length in minutes and a "
                f"flux in Crab units ≥ 0; got start {self.start_min}, length {self.duration_min}, "
                f"flux {self.flux_crab}.")

    def to_dict(self) -> dict:
        return asdict(self)


def run_fluxes(plans: Sequence, source_flux: float, flare: Flare | None = None) -> dict[int, float]:
    """The flux (Crab units) of each run: ``source_flux``, or its time-weighted mean with the flare.

    Parameters
    ----------
    plans : sequence of lappana.simulate.observation.RunPlan
        The night's runs.
    source_flux : float
        The flux outside the flare.
    flare : Flare, optional

    Returns
    -------
    dict of int to float
    """
    if flare is None or not plans:
        return {p.run_id: float(source_flux) for p in plans}
    t0 = plans[0].start_unix + 60.0 * flare.start_min
    t1 = t0 + 60.0 * flare.duration_min
    out = {}
    for p in plans:
        inside = max(0.0, min(p.stop_unix, t1) - max(p.start_unix, t0))
        share = inside / p.duration_s
        out[p.run_id] = float(share * flare.flux_crab + (1.0 - share) * source_flux)
    return out


def injected_spectrum(source_flux: float) -> dict:
    """The spectrum the simulator injects for ``source_flux`` Crab: the MAGIC 2015 log-parabola, scaled."""
    p = dict(CRAB_MAGIC_2015)
    p["amplitude_per_tev_cm2_s"] *= float(source_flux)
    return {"model": "log-parabola, log10: A (E/E0)^(-alpha - beta_log10 log10(E/E0))", **p}
