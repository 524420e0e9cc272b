"""Run diagnostics: rates and zenith against time, gammaness (before and after cuts) and energy, dR/dI.

From each DL3 file (events after the gammaness cut): event rate per minute
against time, zenith against time, gammaness and energy distributions. From
each DL2 file when given (every shower before cuts): the shower rate against
time and the differential cosmic-ray rate against intensity, dR/dI, compared
with LST-1's expectation dR/dI = p0 (I/422 p.e.)^p1, p0 = −0.4475 + 3.625c −
1.436c², p1 = −2.8925 + 0.9944c − 0.3401c², c = cos(zenith).

A run is flagged when it fails a quality cut: zenith above ``max_zenith_deg``,
a livetime fraction (DEADC) below ``min_deadc``, a rate after cuts that jumps
(1-minute rates with a χ²/dof above ``max_rate_chi2`` about their mean), no event,
or a cosmic-ray rate at 422 p.e. outside ``cosmic_ratio_range`` of the expectation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lappana.constants import DL2_PARAMS_KEY, EVENT_TYPE_SHOWER, MJDREF_UNIX
from lappana.errors import LappanaError
from lappana.highlevel.dl3files import Dl3Run, read_dl3_folder
from lappana.io.hdf5 import iter_table_chunks
from lappana.paths import parse_run_id, parse_subrun

#: Intensity bins (p.e.) of the dR/dI measurement and the range of its power-law fit.
INTENSITY_EDGES = np.logspace(np.log10(50.0), np.log10(20_000.0), 25)
FIT_RANGE_PE = (250.0, 2000.0)


def expected_cosmic_dr_di(intensity_pe, zenith_deg: float) -> np.ndarray:
    """LST-1's cosmic-ray dR/dI (s⁻¹ p.e.⁻¹) at an intensity and zenith (lstchain's fit)."""
    c = np.cos(np.radians(zenith_deg))
    p0 = -0.4475 + 3.625 * c - 1.436 * c**2
    p1 = -2.8925 + 0.9944 * c - 0.3401 * c**2
    return p0 * (np.asarray(intensity_pe, dtype=float) / 422.0) ** p1


@dataclass
class QualityCuts:
    """Thresholds of the run-quality flag."""

    max_zenith_deg: float = 60.0
    min_deadc: float = 0.8
    max_rate_chi2: float = 3.0
    cosmic_ratio_range: tuple[float, float] = (0.7, 1.3)


@dataclass
class RunDiagnostics:
    """Diagnostics of one run; arrays are lists so that it serialises to JSON."""

    obs_id: int
    livetime_s: float
    deadc: float
    mean_zenith_deg: float | None
    n_events_after_cuts: int
    time_min: list[float]
    rate_after_cuts_per_min: list[float]
    zenith_time_min: list[float]
    zenith_deg: list[float]
    gammaness_edges: list[float]
    gammaness_counts: list[int]
    energy_edges_tev: list[float]
    energy_counts: list[int]
    rate_chi2_per_dof: float | None
    #: unix time (UTC) the DL3 ``time_min``/``zenith_time_min`` count from (the run's start)
    start_unix: float = 0.0
    #: unix time the DL2 ``all_time_min`` counts from (its first shower)
    all_start_unix: float = 0.0
    #: gammaness of every shower in the DL2 (before the gammaness cut), on ``gammaness_edges``
    gammaness_before_cuts_counts: list[int] = field(default_factory=list)
    all_time_min: list[float] = field(default_factory=list)
    all_rate_per_min: list[float] = field(default_factory=list)
    intensity_edges_pe: list[float] = field(default_factory=list)
    dr_di: list[float] = field(default_factory=list)
    dr_di_expected: list[float] = field(default_factory=list)
    dr_di_at_422_pe: float | None = None
    dr_di_expected_at_422_pe: float | None = None
    cosmic_ratio: float | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def good(self) -> bool:
        """True when the run passes every quality cut."""
        return not self.flags

    def to_dict(self) -> dict:
        """A JSON-able dictionary (with ``good``)."""
        out = asdict(self)
        out["good"] = self.good
        return out


def _rate_curve(times_s: np.ndarray, start: float, stop: float, step_s: float = 60.0):
    edges = np.arange(start, stop + step_s, step_s)
    if edges.size < 2:
        edges = np.array([start, max(stop, start + 1.0)])
    counts, _ = np.histogram(times_s, edges)
    widths = np.diff(edges)
    full = widths >= 0.5 * step_s  # drop a last sliver of a minute
    centres = 0.5 * (edges[1:] + edges[:-1])
    return ((centres[full] - start) / 60.0, counts[full] / widths[full] * 60.0, counts[full])


def _chi2_per_dof(counts: np.ndarray) -> float | None:
    if counts.size < 3 or counts.sum() == 0:
        return None
    mean = counts.mean()
    return float(np.sum((counts - mean) ** 2 / mean) / (counts.size - 1))


def diagnose_dl3_run(run: Dl3Run) -> RunDiagnostics:
    """Diagnostics of one run from its DL3 events (after cuts)."""
    t_min, rate, counts = _rate_curve(run.time_s, run.tstart_s, run.tstop_s)
    if run.alt_deg is not None and run.n_events:
        zen_t, zen = _rate_like_mean(run.time_s, 90.0 - run.alt_deg, run.tstart_s, run.tstop_s)
    else:
        zen_t, zen = [], []
    g_edges = np.linspace(0.0, 1.0, 21)
    g_counts = np.histogram(run.gammaness, g_edges)[0] if run.gammaness is not None else np.zeros(20, int)
    e_edges = np.logspace(-2, 2, 25)
    return RunDiagnostics(
        obs_id=run.obs_id, livetime_s=run.livetime_s, deadc=float(run.header.get("DEADC", 1.0)),
        mean_zenith_deg=run.mean_zenith_deg, n_events_after_cuts=run.n_events,
        time_min=t_min.tolist(), rate_after_cuts_per_min=rate.tolist(),
        zenith_time_min=list(zen_t), zenith_deg=list(zen),
        gammaness_edges=g_edges.tolist(), gammaness_counts=g_counts.astype(int).tolist(),
        energy_edges_tev=e_edges.tolist(), energy_counts=np.histogram(run.energy_tev, e_edges)[0].tolist(),
        rate_chi2_per_dof=_chi2_per_dof(counts), start_unix=MJDREF_UNIX + run.tstart_s,
    )


def _rate_like_mean(times, values, start, stop, step_s: float = 60.0):
    edges = np.arange(start, stop + step_s, step_s)
    index = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, max(edges.size - 2, 0))
    sums = np.bincount(index, weights=values, minlength=edges.size - 1)
    ns = np.bincount(index, minlength=edges.size - 1)
    keep = ns > 0
    centres = 0.5 * (edges[1:] + edges[:-1])
    return ((centres[keep] - start) / 60.0).tolist(), (sums[keep] / ns[keep]).tolist()


def add_dl2(diag: RunDiagnostics, dl2_path: str | Path | list[str | Path], livetime_s: float | None = None) -> None:
    """Add the shower rate against time and dR/dI from a run's DL2 file, or its subrun DL2 files in order (all
    showers before cuts)."""
    paths = [Path(dl2_path)] if isinstance(dl2_path, (str, Path)) else [Path(p) for p in dl2_path]
    times, intensities = [], []
    gammaness = np.zeros(len(diag.gammaness_edges) - 1, dtype=np.int64)
    columns = ["dragon_time", "intensity", "event_type", "gammaness"]
    for chunk in (chunk for path in paths for chunk in iter_table_chunks(path, DL2_PARAMS_KEY, columns=columns)):
        shower = chunk["event_type"] == EVENT_TYPE_SHOWER
        times.append(chunk["dragon_time"][shower])
        intensities.append(chunk["intensity"][shower])
        gammaness += np.histogram(chunk["gammaness"][shower], diag.gammaness_edges)[0]
    diag.gammaness_before_cuts_counts = gammaness.tolist()
    time = np.concatenate(times) if times else np.zeros(0)
    intensity = np.concatenate(intensities) if intensities else np.zeros(0)
    if time.size == 0:
        diag.flags.append(f"{paths[0].name}{f' and its {len(paths) - 1} other subruns' if len(paths) > 1 else ''} "
                          "has no shower event.")
        return
    start, stop = float(time.min()), float(time.max())
    t_min, rate, _ = _rate_curve(time, start, stop)
    diag.all_time_min, diag.all_rate_per_min = t_min.tolist(), rate.tolist()
    diag.all_start_unix = start
    live = livetime_s if livetime_s and livetime_s > 0 else stop - start
    counts, _ = np.histogram(intensity, INTENSITY_EDGES)
    dr_di = counts / np.diff(INTENSITY_EDGES) / live
    centres = np.sqrt(INTENSITY_EDGES[1:] * INTENSITY_EDGES[:-1])
    zenith = diag.mean_zenith_deg if diag.mean_zenith_deg is not None else 20.0
    diag.intensity_edges_pe = INTENSITY_EDGES.tolist()
    diag.dr_di = dr_di.tolist()
    diag.dr_di_expected = expected_cosmic_dr_di(centres, zenith).tolist()
    fit = (centres >= FIT_RANGE_PE[0]) & (centres <= FIT_RANGE_PE[1]) & (counts > 0)
    if fit.sum() >= 3:
        slope, intercept = np.polyfit(np.log(centres[fit] / 422.0), np.log(dr_di[fit]), 1, w=np.sqrt(counts[fit]))
        diag.dr_di_at_422_pe = float(np.exp(intercept))
        diag.dr_di_expected_at_422_pe = float(expected_cosmic_dr_di(422.0, zenith))
        diag.cosmic_ratio = diag.dr_di_at_422_pe / diag.dr_di_expected_at_422_pe


def apply_quality_cuts(diag: RunDiagnostics, cuts: QualityCuts) -> None:
    """Append to ``diag.flags`` a sentence for every quality cut the run fails."""
    if diag.n_events_after_cuts == 0:
        diag.flags.append("no event after the cuts")
    if diag.mean_zenith_deg is not None and diag.mean_zenith_deg > cuts.max_zenith_deg:
        diag.flags.append(f"zenith {diag.mean_zenith_deg:.1f}° above {cuts.max_zenith_deg}°")
    if diag.deadc < cuts.min_deadc:
        diag.flags.append(f"livetime fraction {diag.deadc:.2f} below {cuts.min_deadc}")
    if diag.rate_chi2_per_dof is not None and diag.rate_chi2_per_dof > cuts.max_rate_chi2:
        diag.flags.append(f"rate after cuts not stable (χ²/dof {diag.rate_chi2_per_dof:.1f} > {cuts.max_rate_chi2})")
    if diag.cosmic_ratio is not None:
        lo, hi = cuts.cosmic_ratio_range
        if not lo <= diag.cosmic_ratio <= hi:
            diag.flags.append(f"cosmic-ray rate {diag.cosmic_ratio:.2f}× LST-1's expectation, outside {lo}–{hi}")


def run_diagnostics(
    dl3_dir: str | Path,
    dl2_files: list[str | Path] | None = None,
    *,
    cuts: QualityCuts | None = None,
    runs: list[Dl3Run] | None = None,
) -> list[RunDiagnostics]:
    """Diagnose every run of a DL3 folder, with its DL2 file when given.

    Parameters
    ----------
    dl3_dir : str or Path
        An indexed DL3 folder.
    dl2_files : list of path, optional
        DL2 files (matched to runs by the run number in their names; a run's subrun files are read in order).
    cuts : QualityCuts, optional
        Thresholds of the quality flag.
    runs : list of Dl3Run, optional
        Runs already read.

    Returns
    -------
    list of RunDiagnostics
    """
    cuts = cuts or QualityCuts()
    runs = read_dl3_folder(dl3_dir) if runs is None else runs
    found: dict[int, list[tuple[int, Path]]] = {}
    for path in dl2_files or []:
        try:
            found.setdefault(parse_run_id(path), []).append((parse_subrun(path) or 0, Path(path)))
        except ValueError as exc:
            raise LappanaError(str(exc)) from None
    dl2_by_run = {run: [path for _, path in sorted(files)] for run, files in found.items()}
    out = []
    for run in runs:
        diag = diagnose_dl3_run(run)
        if run.obs_id in dl2_by_run:
            add_dl2(diag, dl2_by_run[run.obs_id], float(run.header.get("LIVETIME", run.livetime_s)))
        apply_quality_cuts(diag, cuts)
        out.append(diag)
    return out
