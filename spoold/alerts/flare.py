"""FACT's flare rule on a light curve's bins: a bin whose flux is above the threshold and detected at σ.

FACT's quick-look analysis binned each source's excess in 20-minute bins as runs came in and alerted when
a bin's flux passed the source's threshold with a significance of at least 3 σ. Here a bin is one of the
light curve's (``lappana report --lightcurve "20 min"``, in Crab units above the threshold's energy) and
its significance the square root of its TS (the flux against none). A night's first crossing is told;
after that only a bin whose flux lies above the last told one by the threshold's σ (of their difference)
is told again: the flux rose further.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Bin", "bins_of", "crossing"]


@dataclass(frozen=True)
class Bin:
    """One bin of a light curve.

    Attributes
    ----------
    start, stop : str
        UTC, ISO.
    flux_crab, error_crab : float
        Flux above the band's lower edge in Crab units, and its error (NaN when not measured).
    sigma : float
        √TS of the bin (0 for TS ≤ 0).
    above_tev : float
        The band's lower edge (TeV).
    run : int or None
        The run it was measured in.
    """

    start: str
    stop: str
    flux_crab: float
    error_crab: float
    sigma: float
    above_tev: float
    run: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def bins_of(summary: dict[str, Any], run: int | None = None) -> list[Bin]:
    """The light curve's bins in a ``summary.json`` ([] when it has none)."""
    lc = summary.get("lightcurve") if isinstance(summary, dict) else None
    if not isinstance(lc, dict):
        return []
    starts, stops = lc.get("time_start_utc") or [], lc.get("time_stop_utc") or []
    flux, error, ts = lc.get("crab_units") or [], lc.get("crab_units_error") or [], lc.get("ts") or []
    above = _float(lc.get("integral_above_tev"))
    out = []
    for i, start in enumerate(starts):
        value = _float(ts[i]) if i < len(ts) else math.nan
        out.append(Bin(str(start), str(stops[i]) if i < len(stops) else "", _float(flux[i] if i < len(flux) else None),
                       _float(error[i] if i < len(error) else None),
                       math.sqrt(value) if math.isfinite(value) and value > 0 else 0.0, above, run))
    return out


def _passes(b: Bin, flux_crab: float, sigma: float) -> bool:
    return math.isfinite(b.flux_crab) and b.flux_crab >= flux_crab and b.sigma >= sigma


def crossing(bins: Sequence[Bin], *, flux_crab: float, sigma: float, told: Sequence[dict[str, Any]] = ()) -> Bin | None:
    """The bin to tell of among ``bins``, or None.

    Parameters
    ----------
    bins : sequence of Bin
        The new bins (those of the run just made).
    flux_crab, sigma : float
        The source's threshold.
    told : sequence of dict
        The alerts already sent for the source and night (each with ``flux_crab`` and ``error_crab``).

    Returns
    -------
    Bin or None
        The brightest bin that passes, when no alert was told this night or it lies above the last told
        flux by ``sigma`` standard deviations of their difference.
    """
    passing = [b for b in bins if _passes(b, flux_crab, sigma)]
    if not passing:
        return None
    best = max(passing, key=lambda b: b.flux_crab)
    if not told:
        return best
    last = told[-1]
    last_flux, last_error = _float(last.get("flux_crab")), _float(last.get("error_crab"))
    spread = math.hypot(best.error_crab if math.isfinite(best.error_crab) else 0.0,
                        last_error if math.isfinite(last_error) else 0.0)
    return best if best.flux_crab - last_flux >= sigma * spread and best.flux_crab > last_flux else None
