"""Write the DL1 and DL2 files of one simulated run, chunk by chunk, and count its truth."""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import tables

from lappana.constants import CRAB_DEC_DEG, CRAB_RA_DEG, EVENT_TYPE_SHOWER
from lappana.errors import LappanaError
from lappana.io.dl2 import FAST_FILTERS, select_events, write_dl2_file
from lappana.simulate import model
from lappana.simulate.camera import angular_separation
from lappana.simulate.events import (
    DL1_COLUMNS,
    DL2_EXTRA_COLUMNS,
    RunCounts,
    RunSettings,
    cosmic_rate_hz,
    gamma_rate_hz,
    iter_run_events,
)
from lappana.simulate.irf import IrfSet, binned_cut
from lappana.simulate.observation import RunPlan, plan_night

#: Reconstructed energy above which the truth rates are given (TeV).
TRUTH_ENERGY_THRESHOLD_TEV = 0.2
#: Filters of an uncompressed DL2 table: the same rows, written ~4× faster than with
#: lstchain's blosc:zstd (which takes ~85 % of a run's CPU) and ~1.6× larger, for callers
#: that only turn the run into DL3 (the flux tests at LST-1's rate).
UNCOMPRESSED = tables.Filters(complevel=0)
#: Intensity band (p.e.) around 422 p.e. where the cosmic-ray dR/dI is measured.
_I_LOW, _I_HIGH = 422.0 / 1.2, 422.0 * 1.2


@dataclass
class RunTruth:
    """What was injected into a run, for tests and demos to compare with.

    Rates "after cuts" count events with ``reco_energy`` above 0.2 TeV that pass
    lstchain's event selection, the energy-dependent gammaness cut (``GH_CUTS``) and
    whose reconstructed direction lies within ``RAD_MAX`` of the source, with the
    cuts of the 70 %/70 % IRF node nearest to the run's zenith.
    ``gamma_rate_after_cuts_per_min`` counts the gammas actually injected;
    ``expected_gamma_rate_after_cuts_per_min`` is the model's mean at the run's
    zenith (the count fluctuates around it).
    ``cosmic_dr_di_at_422_pe`` is the shower rate per p.e. (s⁻¹ p.e.⁻¹) at 422 p.e.
    in this run, ``lst1_cosmic_dr_di_at_422_pe`` LST-1's value at the run's zenith
    (p0 of :func:`lappana.simulate.model.cosmic_rate_parameters`); at the default
    ``shower_rate_hz`` (LST-1's) they agree to ≈5 %, and the simulated one scales
    with ``shower_rate_hz``. ``gamma_trigger_rate_hz`` and ``cosmic_trigger_rate_hz``
    are the injected rates of the two components (before dead time) at the run's zenith.
    ``n_subruns`` is the number of subrun DL1 files written beside the run's (None: none).
    """

    run_id: int
    tstart_unix: float
    tstop_unix: float
    duration_s: float
    livetime_s: float
    mean_zenith_deg: float
    wobble_angle_deg: float
    pointing_ra_deg: float
    pointing_dec_deg: float
    n_events: int
    n_showers: int
    n_gammas: int
    n_pedestal: int
    n_flatfield: int
    gamma_trigger_rate_hz: float
    n_gamma_after_cuts: int
    n_background_on_after_cuts: int
    gamma_rate_after_cuts_per_min: float
    background_on_rate_after_cuts_per_min: float
    cuts_irf_zenith_deg: float | None
    cosmic_dr_di_at_422_pe: float
    lst1_cosmic_dr_di_at_422_pe: float
    expected_gamma_rate_after_cuts_per_min: float | None = None
    cosmic_trigger_rate_hz: float | None = None
    n_subruns: int | None = None

    def to_dict(self) -> dict:
        """The truth as plain JSON-able values."""
        return asdict(self)


def _dl1_subset(chunk: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {name: chunk[name] for name in DL1_COLUMNS}
    out["delta_t"] = chunk["delta_t"]
    return out


def _dl2_subset(chunk: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = _dl1_subset(chunk)
    for name in DL2_EXTRA_COLUMNS:
        out[name] = chunk[name]
    return out


class _TruthCounter:
    def __init__(self, cuts: IrfSet | None):
        self.cuts = cuts
        self.n_gamma = 0
        self.n_background = 0
        self.n_near_422 = 0

    def add(self, chunk: dict[str, np.ndarray]) -> None:
        intensity = chunk["intensity"][chunk["event_type"] == EVENT_TYPE_SHOWER]
        self.n_near_422 += int(np.count_nonzero((intensity > _I_LOW) & (intensity < _I_HIGH)))
        if self.cuts is None or self.cuts.gh_cuts is None:
            return
        e = chunk["reco_energy"]
        mask = select_events(chunk) & (e > TRUTH_ENERGY_THRESHOLD_TEV)
        gh_cut = binned_cut(chunk["gammaness"], e, self.cuts.gh_cuts)
        mask &= chunk["gammaness"] >= gh_cut
        theta = np.degrees(angular_separation(
            chunk["reco_alt"], chunk["reco_az"], chunk["source_alt"], chunk["source_az"]))
        mask &= theta < binned_cut(theta, e, self.cuts.rad_max_deg)
        self.n_gamma += int(np.count_nonzero(mask & chunk["is_gamma"]))
        self.n_background += int(np.count_nonzero(mask & ~chunk["is_gamma"]))


def write_run(
    plan: RunPlan,
    settings: RunSettings,
    *,
    seed: int,
    dl1_path: Path | None,
    dl2_path: Path | None,
    cuts: IrfSet | None = None,
    duration_s: float | None = None,
    progress=None,
    dl2_compressed: bool = True,
) -> RunTruth:
    """Simulate one run and stream it into its DL1 and/or DL2 file.

    Parameters
    ----------
    plan : RunPlan
        The run's times and pointing.
    settings : RunSettings
        Rates, flux, dead time.
    seed : int
        Seed of the night (the run's stream also depends on its run number).
    dl1_path, dl2_path : Path or None
        Files to write (None: do not write that level).
    cuts : IrfSet, optional
        Energy-dependent cuts used to count the truth rates after cuts.
    duration_s : float, optional
        Simulate only this many seconds.
    progress : tqdm.tqdm, optional
        Updated with the simulated seconds.
    dl2_compressed : bool
        Compress the DL2 table as lstchain does (blosc:zstd); False writes the same rows
        uncompressed (:data:`UNCOMPRESSED`).

    Returns
    -------
    RunTruth
    """
    if dl1_path is None and dl2_path is None:
        raise LappanaError("Choose at least one data level to write (dl1 or dl2).")
    counts = RunCounts()
    counter = _TruthCounter(cuts)
    # Files grow under a ".part" name and get their real name once complete, so a
    # watcher never takes a half-written run for a finished one.
    parts = {level: _part_path(path) for level, path in (("dl1", dl1_path), ("dl2", dl2_path)) if path}
    try:
        _stream(plan, settings, seed, duration_s, counts, counter, parts, progress,
                FAST_FILTERS if dl2_compressed else UNCOMPRESSED)
    except BaseException:
        for part in parts.values():
            part.unlink(missing_ok=True)
        raise
    for level, part in parts.items():
        part.replace(dl1_path if level == "dl1" else dl2_path)
    duration = plan.duration_s if duration_s is None else float(duration_s)
    livetime = duration - counts.n_events * settings.dead_time_s
    zenith = float(np.mean(counts.zeniths))
    return RunTruth(
        run_id=plan.run_id,
        tstart_unix=plan.start_unix,
        tstop_unix=plan.start_unix + duration,
        duration_s=duration,
        livetime_s=livetime,
        mean_zenith_deg=zenith,
        wobble_angle_deg=plan.wobble_angle_deg,
        pointing_ra_deg=plan.pointing_ra_deg,
        pointing_dec_deg=plan.pointing_dec_deg,
        n_events=counts.n_events,
        n_showers=counts.n_showers,
        n_gammas=counts.n_gammas,
        n_pedestal=counts.n_pedestal,
        n_flatfield=counts.n_flatfield,
        gamma_trigger_rate_hz=gamma_rate_hz(zenith, settings.source_flux),
        n_gamma_after_cuts=counter.n_gamma,
        n_background_on_after_cuts=counter.n_background,
        gamma_rate_after_cuts_per_min=60.0 * counter.n_gamma / livetime,
        background_on_rate_after_cuts_per_min=60.0 * counter.n_background / livetime,
        cuts_irf_zenith_deg=None if cuts is None else cuts.zenith_deg,
        cosmic_dr_di_at_422_pe=counter.n_near_422 / livetime / (_I_HIGH - _I_LOW),
        lst1_cosmic_dr_di_at_422_pe=float(model.cosmic_rate_parameters(zenith)[0]),
        cosmic_trigger_rate_hz=cosmic_rate_hz(settings, zenith),
    )


def _part_path(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(path.name + ".part")


def _stream(plan, settings, seed, duration_s, counts, counter, parts, progress, dl2_filters) -> None:
    first = True
    simulated = 0.0
    for chunk in iter_run_events(plan, settings, seed=seed, duration_s=duration_s, counts=counts):
        if "dl1" in parts:
            from lappana.io.dl1 import write_dl1_file

            write_dl1_file(parts["dl1"], _dl1_subset(chunk), run_id=plan.run_id, is_simulation=False,
                           append=not first)
        if "dl2" in parts:
            write_dl2_file(parts["dl2"], _dl2_subset(chunk), run_id=plan.run_id, append=not first,
                           filters=dl2_filters)
        counter.add(chunk)
        first = False
        if progress is not None:
            now = float(chunk["dragon_time"][-1] - plan.start_unix)
            progress.update(now - simulated)
            simulated = now
    if first:
        raise LappanaError(f"Run {plan.run_id} would have no events: raise the rates or the duration.")


def simulate_run_dl2(
    path: str | Path,
    *,
    n_events: int | None = None,
    minutes: float | None = None,
    seed: int = 0,
    run_id: int = 15864,
    night: _dt.date = _dt.date(2023, 12, 7),
    source_ra: float = CRAB_RA_DEG,
    source_dec: float = CRAB_DEC_DEG,
    shower_rate_hz: float = model.LST1_SHOWER_RATE_HZ,
    source_flux: float = 1.0,
) -> RunTruth:
    """Write one DL2 run of a given size, streamed in chunks (flat memory).

    For benchmarks: ``n_events=10_000_000`` writes a ≈1.6-hour run at the default
    rates without ever holding more than one 30-s chunk in memory.

    Parameters
    ----------
    path : str or Path
        The DL2 file; name it ``dl2_LST-1.RunNNNNN.h5`` with ``run_id``.
    n_events : int, optional
        Approximate number of events (showers and interleaved) to write.
    minutes : float, optional
        Or the run length in minutes (one of the two must be given).
    seed, run_id, night, source_ra, source_dec, shower_rate_hz, source_flux
        As for :func:`lappana.simulate.night.simulate_night`.
    """
    settings = RunSettings(shower_rate_hz=shower_rate_hz, source_flux=source_flux)
    if (n_events is None) == (minutes is None):
        raise LappanaError("Give either n_events or minutes for the run.")
    if n_events is not None:
        rate = (settings.shower_rate_hz + gamma_rate_hz(20.0, source_flux)
                + settings.pedestal_rate_hz + settings.flatfield_rate_hz)
        rate /= 1.0 + rate * model.DEAD_TIME_S
        minutes = max(n_events / rate / 60.0, 1.0 / 60.0)
    (plan,) = plan_night(night, source_ra_deg=source_ra, source_dec_deg=source_dec, n_runs=1,
                         run_minutes=float(minutes), first_run=run_id)
    return write_run(plan, settings, seed=seed, dl1_path=None, dl2_path=Path(path))
