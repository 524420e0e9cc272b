"""θ² distribution, ON/OFF counts and Li & Ma significance of wobble runs.

ON: events within the θ cut of the source. OFF: events within the same cut of
each of the n OFF centres of a run (:func:`lappana.highlevel.regions.wobble_off_positions`),
α = 1/n. The θ cut is ``RAD_MAX`` of each file (energy-dependent when the file has
a ``RAD_MAX_2D`` HDU, evaluated at each event's energy as gammapy does) unless a
global θ² cut is given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lappana.errors import LappanaError
from lappana.highlevel.dl3files import Dl3Run, read_dl3_folder
from lappana.highlevel.lima import excess, excess_error, li_ma_significance
from lappana.highlevel.regions import angular_separation, wobble_off_positions
from lappana.units import deg2, energy_range_tev, sky_position

#: Largest source offset from the pointing (deg) treated as inside LST-1's field of view.
FOV_RADIUS_DEG = 2.0
#: θ cut used when a file has no RAD_MAX and no cut is given (deg).
FALLBACK_THETA_DEG = 0.2
#: Widest θ² axis of the histogram (deg²) and its bin width.
DEFAULT_THETA2_EDGES = np.linspace(0.0, 0.3, 31)
THETA2_STEP = 0.005


@dataclass
class RunCounts:
    """ON/OFF counts of one run."""

    obs_id: int
    livetime_s: float
    n_on: int
    n_off: int
    n_off_regions: int
    alpha: float
    excess: float
    significance: float
    pointing_ra_deg: float
    pointing_dec_deg: float
    source_offset_deg: float
    off_positions_deg: list[list[float]]
    tstart_s: float
    tstop_s: float
    used: bool = True
    histogram_alpha: float = 1.0


@dataclass
class Theta2Result:
    """Everything :func:`theta2` measured; ``to_dict()`` is what summary.json carries.

    Counts are summed over the used runs; ``alpha`` is livetime-weighted (1/n when
    every run has n OFF regions). ``problems`` holds sentences about input that
    could not be used (a run with no events after cuts, a source outside the field
    of view, ...): an empty analysis has ``n_on = n_off = 0`` and its problems, it
    does not raise.
    """

    source_name: str
    source_ra_deg: float
    source_dec_deg: float
    n_off_regions: int
    energy_range_tev: tuple[float, float] | None
    theta_cut: str
    theta2_cut_deg2: float | None
    rad_max: dict | None
    livetime_s: float
    n_on: int
    n_off: int
    alpha: float
    excess: float
    excess_error: float
    significance: float
    gamma_rate_per_min: float
    gamma_rate_error_per_min: float
    background_rate_per_min: float
    background_rate_error_per_min: float
    theta2_edges_deg2: list[float]
    theta2_on: list[int]
    theta2_off: list[int]
    theta2_alpha: float
    runs: list[RunCounts] = field(default_factory=list)
    cumulative_livetime_min: list[float] = field(default_factory=list)
    cumulative_significance: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: choices the analysis made that a reader should know, but that lose no data
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-able dictionary."""
        out = asdict(self)
        out["energy_range_tev"] = list(self.energy_range_tev) if self.energy_range_tev else None
        return out


@dataclass
class _Selection:
    on: np.ndarray
    off: np.ndarray
    on_time: np.ndarray
    off_time: np.ndarray


def _energy_mask(run: Dl3Run, energy_range: tuple[float, float] | None) -> np.ndarray:
    if energy_range is None:
        return np.ones(run.n_events, dtype=bool)
    return (run.energy_tev >= energy_range[0]) & (run.energy_tev < energy_range[1])


def _theta_cut_deg(run: Dl3Run, energy: np.ndarray, theta2_cut: float | None) -> np.ndarray:
    if theta2_cut is not None:
        return np.full(energy.shape, np.sqrt(theta2_cut))
    if run.rad_max is None:
        return np.full(energy.shape, FALLBACK_THETA_DEG)
    return run.rad_max.evaluate(energy)


def _max_cut(run: Dl3Run, theta2_cut: float | None, energy_range: tuple[float, float] | None) -> float:
    """The largest θ cut (deg) in the energy range, as gammapy's overlap check takes it."""
    if theta2_cut is not None:
        return float(np.sqrt(theta2_cut))
    rad_max = run.rad_max
    if rad_max is None:
        return FALLBACK_THETA_DEG
    if rad_max.is_global or energy_range is None:
        return float(np.max(rad_max.values_deg))
    in_range = (rad_max.energy_hi >= energy_range[0]) & (rad_max.energy_lo <= energy_range[1])
    return float(np.max(rad_max.values_deg[in_range])) if in_range.any() else float(np.max(rad_max.values_deg))


def _overlapping(ra: float, dec: float, offs: np.ndarray, cut: float) -> bool:
    """True when any two of the ON and OFF circles of radius ``cut`` overlap (gammapy's test)."""
    centres = np.vstack([[ra, dec], offs])
    i, j = np.triu_indices(len(centres), k=1)
    sep = angular_separation(centres[i, 0], centres[i, 1], centres[j, 0], centres[j, 1])
    return bool(np.any(sep < 2 * cut))


def _histogram_offs(run: Dl3Run, ra: float, dec: float, offs: np.ndarray, radius: float) -> np.ndarray:
    """OFF centres of the θ² histogram: ``offs``, or one when circles of the histogram's full radius
    would overlap (as gammapy's ``make_theta_squared_table`` falls back)."""
    if len(offs) > 1 and _overlapping(ra, dec, offs, radius):
        return wobble_off_positions(ra, dec, run.pointing_ra_deg, run.pointing_dec_deg, 1)
    return offs


def _free_radius(ra: float, dec: float, offs: np.ndarray) -> float:
    """The largest radius (deg) at which the ON circle and the OFF circles ``offs`` do not overlap."""
    centres = np.vstack([[ra, dec], offs])
    i, j = np.triu_indices(len(centres), k=1)
    return float(np.min(angular_separation(centres[i, 0], centres[i, 1], centres[j, 0], centres[j, 1])) / 2)


def default_theta2_edges(runs: list[Dl3Run], ra: float, dec: float, n_off: int, theta2_cut: float | None,
                         energy_range: tuple[float, float] | None) -> np.ndarray:
    """θ² axis (deg²) of the histogram: 0.005 deg² bins up to 0.3 deg², or less where the OFF circles
    of a run would overlap (its θ² OFF counts then use the very regions of its key numbers)."""
    top = float(DEFAULT_THETA2_EDGES[-1])
    for run in runs:
        cut = _max_cut(run, theta2_cut, energy_range)
        if cut < angular_separation(run.pointing_ra_deg, run.pointing_dec_deg, ra, dec) <= FOV_RADIUS_DEG:
            top = min(top, _free_radius(ra, dec, _usable_offs(run, ra, dec, cut, n_off)) ** 2)
    step = THETA2_STEP if top >= 4 * THETA2_STEP else top / 4
    return np.arange(0.0, top / step + 1e-9) * step if top > 0 else np.array([0.0, top or 0.01])


def _usable_offs(run: Dl3Run, ra: float, dec: float, cut: float, n_off: int) -> np.ndarray:
    """The OFF centres of a run: n_off of them, fewer where they would overlap (at least one)."""
    for n in range(n_off, 0, -1):
        offs = wobble_off_positions(ra, dec, run.pointing_ra_deg, run.pointing_dec_deg, n)
        if n == 1 or not _overlapping(ra, dec, offs, cut):
            return offs
    raise AssertionError("unreachable")


def _check_energy_range(energy_range) -> tuple[float, float] | None:
    if energy_range is None:
        return None
    lo, hi = (float(v) for v in energy_range)
    if not (0 <= lo < hi):
        raise LappanaError(f"The energy range {lo}–{hi} TeV is empty: give the lower edge first, both ≥ 0.")
    return lo, hi


def theta2(
    dl3_dir: str | Path,
    *,
    source_name: str,
    source_ra_deg: float | None = None,
    source_dec_deg: float | None = None,
    source=None,
    n_off: int = 3,
    energy_range: tuple[float, float] | None = None,
    theta2_cut: float | None = None,
    theta2_edges: np.ndarray | None = None,
    runs: list[Dl3Run] | None = None,
) -> Theta2Result:
    """Count ON and OFF events of a DL3 folder and compute the Li & Ma significance.

    Parameters
    ----------
    dl3_dir : str or Path
        An indexed DL3 folder (``hdu-index.fits.gz``).
    source_name : str
    source_ra_deg, source_dec_deg : float, optional
        The ON centre (ICRS, deg).
    source : astropy.coordinates.SkyCoord, optional
        The same position as a SkyCoord (any frame), instead of the two floats.
    n_off : int
        OFF regions per run (reduced, with a note, where they would overlap).
    energy_range : (float, float) or Quantity, optional
        Reconstructed energy range (floats in TeV, or energies), ``lo <= E < hi``.
    theta2_cut : float or Quantity, optional
        A global θ² cut (a float in deg²); default: ``RAD_MAX`` of the files.
    theta2_edges : numpy.ndarray, optional
        θ² histogram edges in deg² (default: :func:`default_theta2_edges`).
    runs : list of Dl3Run, optional
        Runs already read (skips reading ``dl3_dir``).

    Returns
    -------
    Theta2Result
    """
    source_ra_deg, source_dec_deg = sky_position(source, source_ra_deg, source_dec_deg)
    energy_range = energy_range_tev(energy_range)
    theta2_cut = deg2(theta2_cut)
    if n_off < 1:
        raise LappanaError("The number of OFF regions must be at least 1 (--n-off).")
    if theta2_cut is not None and theta2_cut <= 0:
        raise LappanaError("The θ² cut must be positive, in deg² (for example 0.04).")
    energy_range = _check_energy_range(energy_range)
    runs = read_dl3_folder(dl3_dir) if runs is None else runs
    # given edges: the histogram's OFF regions are gammapy's make_theta_squared_table's (n_off, or one where
    # they overlap); default edges stop before the key numbers' OFF regions overlap, and use those
    like_gammapy = theta2_edges is not None
    if theta2_edges is None:
        theta2_edges = default_theta2_edges(runs, source_ra_deg, source_dec_deg, n_off, theta2_cut, energy_range)
    edges = np.asarray(theta2_edges, dtype=float)
    hist_on = np.zeros(edges.size - 1, dtype=np.int64)
    hist_off = np.zeros(edges.size - 1, dtype=np.int64)
    problems: list[str] = []
    notes: list[str] = []
    per_run: list[RunCounts] = []
    selections: list[_Selection] = []
    for run in runs:
        counts, selection = _count_run(run, source_ra_deg, source_dec_deg, n_off, energy_range, theta2_cut,
                                       edges, hist_on, hist_off, problems, notes, like_gammapy)
        per_run.append(counts)
        if selection is not None:
            selections.append(selection)
    used = [r for r in per_run if r.used]
    livetime = float(sum(r.livetime_s for r in used))
    n_on = int(sum(r.n_on for r in used))
    n_off_total = int(sum(r.n_off for r in used))
    alpha = float(sum(r.alpha * r.livetime_s for r in used) / livetime) if livetime > 0 else 1.0 / n_off
    if not used:
        problems.append("No run could be used, so there is no θ² result: see the sentences above.")
    elif n_on + n_off_total == 0:
        problems.append("No event falls in the ON or OFF regions after the cuts"
                        + (f" in {energy_range[0]}–{energy_range[1]} TeV" if energy_range else "") + ".")
    minutes = livetime / 60.0
    exc, exc_err = float(excess(n_on, n_off_total, alpha)), float(excess_error(n_on, n_off_total, alpha))
    cum_t, cum_s = _cumulative(used, selections, alpha)
    first = runs[0] if runs else None
    return Theta2Result(
        source_name=source_name, source_ra_deg=float(source_ra_deg), source_dec_deg=float(source_dec_deg),
        n_off_regions=int(n_off), energy_range_tev=energy_range,
        theta_cut=(f"θ² < {theta2_cut} deg²" if theta2_cut is not None else
                   (first.rad_max.describe() if first is not None and first.rad_max is not None
                    else f"θ < {FALLBACK_THETA_DEG}° (no RAD_MAX in the files)")),
        theta2_cut_deg2=theta2_cut,
        rad_max=first.rad_max.to_dict() if (theta2_cut is None and first is not None and first.rad_max) else None,
        livetime_s=livetime, n_on=n_on, n_off=n_off_total, alpha=alpha, excess=exc, excess_error=exc_err,
        significance=float(li_ma_significance(n_on, n_off_total, alpha)) if n_on + n_off_total > 0 else 0.0,
        gamma_rate_per_min=exc / minutes if minutes > 0 else 0.0,
        gamma_rate_error_per_min=exc_err / minutes if minutes > 0 else 0.0,
        background_rate_per_min=alpha * n_off_total / minutes if minutes > 0 else 0.0,
        background_rate_error_per_min=alpha * np.sqrt(n_off_total) / minutes if minutes > 0 else 0.0,
        theta2_edges_deg2=edges.tolist(), theta2_on=hist_on.tolist(), theta2_off=hist_off.tolist(),
        theta2_alpha=(float(sum(r.histogram_alpha * r.livetime_s for r in used) / livetime) if livetime > 0
                      else 1.0 / n_off),
        runs=per_run, cumulative_livetime_min=cum_t, cumulative_significance=cum_s, problems=problems,
        notes=notes,
    )


def _count_run(run, ra, dec, n_off, energy_range, theta2_cut, edges, hist_on, hist_off, problems, notes,
               like_gammapy=False):
    offset = float(angular_separation(run.pointing_ra_deg, run.pointing_dec_deg, ra, dec))
    cut = _max_cut(run, theta2_cut, energy_range)
    offs = _usable_offs(run, ra, dec, cut, n_off)
    n_used = len(offs)
    counts = RunCounts(obs_id=run.obs_id, livetime_s=run.livetime_s, n_on=0, n_off=0, n_off_regions=n_used,
                       alpha=1.0 / n_used, excess=0.0, significance=0.0, pointing_ra_deg=run.pointing_ra_deg,
                       pointing_dec_deg=run.pointing_dec_deg, source_offset_deg=offset,
                       off_positions_deg=offs.tolist(), tstart_s=run.tstart_s, tstop_s=run.tstop_s)
    if offset > FOV_RADIUS_DEG:
        problems.append(f"Run {run.obs_id}: the source is {offset:.2f}° from the pointing, outside the "
                        f"{FOV_RADIUS_DEG}° field of view; the run is left out (check the source position).")
        counts.used = False
        return counts, None
    if offset <= cut:
        problems.append(f"Run {run.obs_id}: the source is {offset:.2f}° from the pointing, inside the θ cut of "
                        f"{cut:.2f}°, so no OFF region can be placed; the run is left out.")
        counts.used = False
        return counts, None
    if n_used < n_off:
        notes.append(f"Run {run.obs_id}: {n_off} OFF regions of {cut:.3f}° would overlap at a "
                        f"{offset:.2f}° offset; {n_used} used.")
    if run.livetime_s <= 0:
        problems.append(f"Run {run.obs_id} has no livetime (empty GTI or DEADC 0); the run is left out.")
        counts.used = False
        return counts, None
    mask = _energy_mask(run, energy_range)
    if not mask.any():
        where = f" in {energy_range[0]}–{energy_range[1]} TeV" if energy_range else ""
        problems.append(f"Run {run.obs_id} has no event after the cuts{where}.")
    rra, rdec, energy, time = run.ra_deg[mask], run.dec_deg[mask], run.energy_tev[mask], run.time_s[mask]
    theta_cut = _theta_cut_deg(run, energy, theta2_cut)
    sep_on = angular_separation(ra, dec, rra, rdec)
    on = sep_on <= theta_cut
    hist_on += np.histogram(sep_on**2, edges)[0]
    off = np.zeros(rra.size, dtype=np.int64)
    for off_ra, off_dec in offs:
        off += angular_separation(off_ra, off_dec, rra, rdec) <= theta_cut
    asked = wobble_off_positions(ra, dec, run.pointing_ra_deg, run.pointing_dec_deg, n_off) if like_gammapy else offs
    hist_offs = _histogram_offs(run, ra, dec, asked, float(np.sqrt(edges[-1])))
    counts.histogram_alpha = 1.0 / len(hist_offs)
    for off_ra, off_dec in hist_offs:
        hist_off += np.histogram(angular_separation(off_ra, off_dec, rra, rdec) ** 2, edges)[0]
    counts.n_on, counts.n_off = int(on.sum()), int(off.sum())
    counts.excess = float(excess(counts.n_on, counts.n_off, counts.alpha))
    counts.significance = (float(li_ma_significance(counts.n_on, counts.n_off, counts.alpha))
                           if counts.n_on + counts.n_off else 0.0)
    return counts, _Selection(on=on, off=off, on_time=time[on], off_time=np.repeat(time, off))


def _cumulative(used: list[RunCounts], selections: list[_Selection], alpha: float,
                step_s: float = 300.0) -> tuple[list[float], list[float]]:
    """Significance after each ``step_s`` of observation, livetime scaled within each run."""
    times, sigmas = [], []
    n_on = n_off = 0
    elapsed_live = 0.0
    for run, sel in zip(used, selections):
        duration = max(run.tstop_s - run.tstart_s, 1e-9)
        steps = np.append(np.arange(run.tstart_s + step_s, run.tstop_s, step_s), run.tstop_s)
        for t in steps:
            on = n_on + int(np.sum(sel.on_time <= t))
            off = n_off + int(np.sum(sel.off_time <= t))
            live = elapsed_live + run.livetime_s * (t - run.tstart_s) / duration
            times.append(live / 60.0)
            sigmas.append(float(li_ma_significance(on, off, alpha)) if on + off else 0.0)
        n_on += sel.on_time.size
        n_off += sel.off_time.size
        elapsed_live += run.livetime_s
    return times, sigmas
