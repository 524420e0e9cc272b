"""A whole simulated night: runs, run catalogue, IRFs, MC and the truth file.

The tree written under ``output`` is what spoold's default site reads::

    DL1/YYYYMMDD/v0.10/tailcut84/dl1_LST-1.RunNNNNN.h5
    DL2/YYYYMMDD/v0.10/tailcut84/dl2_LST-1.RunNNNNN.h5
    monitoring/RunCatalog/RunCatalog_YYYYMMDD.ecsv
    IRF/<irf_set_name>/irf_RFsim_<cuts>_zenZZ.Z_azAAA.A.fits.gz
    MC/gamma_diffuse.h5, MC/gamma_point.h5, MC/proton.h5
    simulation.json
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from astropy.time import Time

from lappana.constants import CRAB_DEC_DEG, CRAB_NAME, CRAB_RA_DEG
from lappana.errors import LappanaError
from lappana.paths import irf_set_name, night_folder, run_catalog_name, run_file_name
from lappana.simulate import model
from lappana.simulate.catalog import write_catalog
from lappana.simulate.events import RunSettings
from lappana.simulate.irf import (
    DEFAULT_AZIMUTH_DEG,
    DEFAULT_ZENITH_NODES_DEG,
    IrfSet,
    expected_rate_after_cuts_hz,
    irf_file_name,
    make_irf,
    simulate_point_gammas,
    write_irf,
)
from lappana.dl2_subruns import subrun_dl1_name
from lappana.simulate.observation import plan_night
from lappana.simulate.parallel import RunJob, write_runs
from lappana.simulate.run import RunTruth
from lappana.simulate.truth_file import locals_for_truth, write_truth
from lappana.simulate.variability import Flare, run_fluxes
from lappana.units import sky_position

#: Processing version and cleaning folder of the DL1/DL2 trees.
DATA_VERSION = "v0.10"
CLEANING_FOLDER = "tailcut84"
#: The two IRF sets written: a global cut and 70 %/70 % efficiency cuts.
GLOBAL_CUTS = {"gh_cut": 0.7, "theta_cut_deg": 0.2}
EFFICIENCY_CUTS = {"gh_efficiency": 0.7, "theta_containment": 0.7}
LEVELS = ("dl1", "dl2")


@dataclass
class SimulatedNight:
    """What :func:`simulate_night` wrote, and the truth of every run.

    Attributes
    ----------
    output : Path
        The root of the tree.
    night : datetime.date
        The evening's date.
    run_ids : list of int
    dl1_files, dl2_files : dict of int to Path
        Per run number (empty when that level was not asked for).
    dl1_subrun_files : dict of int to list of Path
        Per run number, its subrun DL1 files in order (empty without ``subrun_events``).
    run_catalog : Path
    irf_dirs : dict of str to Path
        IRF folder per set name (``global_gh0.70_theta0.20``, ``eff_gh0.70_th0.70``).
    irf_files : list of Path
    mc_files : dict of str to Path
        ``gamma_diffuse``, ``gamma_point``, ``proton``.
    truth_file : Path
        ``simulation.json``.
    truth : dict of int to RunTruth
    run_flux_crab : dict of int to float
        The source flux of each run (Crab units; differs from ``source_flux`` within a flare).
    """

    output: Path
    night: _dt.date
    run_ids: list[int]
    dl1_files: dict[int, Path] = field(default_factory=dict)
    dl2_files: dict[int, Path] = field(default_factory=dict)
    dl1_subrun_files: dict[int, list[Path]] = field(default_factory=dict)
    run_catalog: Path | None = None
    irf_dirs: dict[str, Path] = field(default_factory=dict)
    irf_files: list[Path] = field(default_factory=list)
    mc_files: dict[str, Path] = field(default_factory=dict)
    truth_file: Path | None = None
    truth: dict[int, RunTruth] = field(default_factory=dict)
    run_flux_crab: dict[int, float] = field(default_factory=dict)

    def files(self) -> list[Path]:
        """Every file written."""
        out = [*self.dl1_files.values(), *(p for files in self.dl1_subrun_files.values() for p in files),
               *self.dl2_files.values(), *self.irf_files,
               *self.mc_files.values()]
        out += [p for p in (self.run_catalog, self.truth_file) if p is not None]
        return out


def data_dir(output: Path, level: str, night: _dt.date) -> Path:
    """``<output>/DL1|DL2/YYYYMMDD/v0.10/tailcut84``."""
    return Path(output) / level.upper() / night_folder(night) / DATA_VERSION / CLEANING_FOLDER


def run_catalog_path(output: Path, night: _dt.date) -> Path:
    """``<output>/monitoring/RunCatalog/RunCatalog_YYYYMMDD.ecsv``."""
    return Path(output) / "monitoring" / "RunCatalog" / run_catalog_name(night)


def _check_levels(levels: Sequence[str]) -> tuple[str, ...]:
    levels = tuple(str(level).strip().lower() for level in levels if str(level).strip())
    unknown = [level for level in levels if level not in LEVELS]
    if unknown:
        raise LappanaError(
            f"Unknown data level {', '.join(unknown)}: choose among dl1 and dl2 (for example --levels dl1,dl2)."
        )
    return levels


def make_irfs(
    *, seed: int, time: Time, zeniths_deg: Sequence[float] = DEFAULT_ZENITH_NODES_DEG,
    azimuth_deg: float = DEFAULT_AZIMUTH_DEG,
) -> dict[str, list[IrfSet]]:
    """IRFs of every pointing node for the global and the efficiency cuts."""
    sets: dict[str, list[IrfSet]] = {irf_set_name(**GLOBAL_CUTS): [], irf_set_name(**EFFICIENCY_CUTS): []}
    for i, zenith in enumerate(zeniths_deg):
        rng = np.random.default_rng([int(seed), 900_000 + i])
        sample = simulate_point_gammas(rng, float(zenith))
        sets[irf_set_name(**GLOBAL_CUTS)].append(make_irf(sample, float(zenith), azimuth_deg, **GLOBAL_CUTS))
        sets[irf_set_name(**EFFICIENCY_CUTS)].append(
            make_irf(sample, float(zenith), azimuth_deg, **EFFICIENCY_CUTS))
    return sets


def nearest_node(irfs: Sequence[IrfSet], zenith_deg: float) -> IrfSet:
    """The IRF node whose cos(zenith) is closest to the run's."""
    cz = np.cos(np.radians(zenith_deg))
    return min(irfs, key=lambda irf: abs(np.cos(np.radians(irf.zenith_deg)) - cz))


def simulate_night(
    output: Path,
    *,
    night: _dt.date,
    source_name: str = CRAB_NAME,
    source_ra: float = CRAB_RA_DEG,
    source_dec: float = CRAB_DEC_DEG,
    n_runs: int = 3,
    run_minutes: float = 20.0,
    first_run: int = 15864,
    seed: int = 0,
    levels: Sequence[str] = LEVELS,
    mc: bool = True,
    irfs: bool = True,
    source_flux: float = 1.0,
    shower_rate_hz: float = model.LST1_SHOWER_RATE_HZ,
    pedestal_rate_hz: float = 100.0,
    flatfield_rate_hz: float = 100.0,
    mc_events: int = 20_000,
    start: Time | None = None,
    progress: bool = True,
    flare: Flare | None = None,
    workers: int | None = None,
    hadron_min_energy_tev: float = 0.0,
    source=None,
    dl2_compressed: bool = True,
    subrun_events: int | None = None,
) -> SimulatedNight:
    """Simulate an LST-1 night of wobble runs on one source, and everything around it.

    Parameters
    ----------
    output : Path
        Root folder of the tree (see the module docstring).
    night : datetime.date
        The evening's date (names the night folders).
    source_name, source_ra, source_dec : str, float, float
        The source, ICRS degrees. Default: the Crab.
    source : astropy.coordinates.SkyCoord, optional
        The source's position as a SkyCoord (any frame), in place of ``source_ra``/``source_dec``.
    n_runs, run_minutes, first_run : int, float, int
        How many runs, how long, and the first run number.
    seed : int
        Same seed and parameters give files with identical event content.
    levels : sequence of str
        Which of ``dl1`` and ``dl2`` to write per run.
    mc : bool
        Write MC gamma and proton DL1 files (for lstchain_mc_trainpipe).
    irfs : bool
        Write the point-like IRF files (global and efficiency cuts, 4 zenith nodes).
    source_flux : float
        Flux in Crab units; 0 means no source.
    shower_rate_hz : float
        Cosmic-ray shower rate after cleaning at 10° zenith (Hz); the default is
        LST-1's, :data:`lappana.simulate.model.LST1_SHOWER_RATE_HZ` (≈8.5 kHz down to
        the ≈50 p.e. trigger threshold). A lower rate scales the whole cosmic-ray spectrum.
    pedestal_rate_hz, flatfield_rate_hz : float
        Interleaved calibration events (Hz).
    mc_events : int
        Events in each MC file.
    start : astropy.time.Time, optional
        Start of the first run (default: centred on the source's culmination).
    progress : bool
        Show a progress bar on stderr.
    flare : lappana.simulate.variability.Flare, optional
        A flare within the night: the runs it covers get its flux (see that module).
    hadron_min_energy_tev : float
        Only the cosmic rays above this gamma-equivalent energy (TeV), at their own rate
        (:class:`lappana.simulate.events.RunSettings`); 0, the default, simulates them all.
    workers : int, optional
        Processes that write runs side by side (default: one per available CPU, see
        :mod:`lappana.simulate.parallel`); the files do not depend on it.
    dl2_compressed : bool
        Compress the DL2 files as lstchain does (blosc:zstd, the default); False writes the
        same rows uncompressed (:data:`lappana.simulate.run.UNCOMPRESSED`).
    subrun_events : int, optional
        Also write each run's DL1 in subrun files of this many events, as LST-1's onsite pipeline
        keeps them (:mod:`lappana.simulate.subruns`; LST-1's hold ~53,000), and their number in the
        run catalogue (``n_subruns``).

    Returns
    -------
    SimulatedNight
    """
    if source is not None:
        source_ra, source_dec = sky_position(source)
    levels = _check_levels(levels)
    if source_flux < 0:
        raise LappanaError("The source flux cannot be negative (0 means no source).")
    if shower_rate_hz <= 0:
        raise LappanaError("The shower rate must be positive (--shower-rate, in Hz).")
    if subrun_events is not None and subrun_events < 1:
        raise LappanaError(f"A subrun must hold at least one event (--subrun-events), not {subrun_events}.")
    if workers is not None and workers < 1:
        raise LappanaError("The number of processes that write runs must be at least 1 (--workers).")
    output = Path(output)
    plans = plan_night(night, source_ra_deg=source_ra, source_dec_deg=source_dec, n_runs=n_runs,
                       run_minutes=run_minutes, first_run=first_run, start=start)
    result = SimulatedNight(output=output, night=night, run_ids=[p.run_id for p in plans])
    irf_time = Time(plans[0].start_unix, format="unix")

    irf_sets = make_irfs(seed=seed, time=irf_time)
    if irfs:
        for set_name, nodes in irf_sets.items():
            folder = output / "IRF" / set_name
            result.irf_dirs[set_name] = folder
            for node in nodes:
                result.irf_files.append(write_irf(folder / irf_file_name(node), node, irf_time))

    settings = RunSettings(shower_rate_hz=shower_rate_hz, pedestal_rate_hz=pedestal_rate_hz,
                           flatfield_rate_hz=flatfield_rate_hz, source_flux=source_flux,
                           hadron_min_energy_tev=hadron_min_energy_tev)
    result.run_flux_crab = run_fluxes(plans, source_flux, flare)
    jobs = [RunJob(
        plan=plan, seed=seed,
        settings=dataclasses.replace(settings, source_flux=result.run_flux_crab[plan.run_id]),
        dl1_path=data_dir(output, "dl1", night) / run_file_name("dl1", plan.run_id) if "dl1" in levels else None,
        dl2_path=data_dir(output, "dl2", night) / run_file_name("dl2", plan.run_id) if "dl2" in levels else None,
        cuts=nearest_node(irf_sets[irf_set_name(**EFFICIENCY_CUTS)], plan.mean_zenith_deg()),
        dl2_compressed=dl2_compressed, subrun_events=subrun_events if "dl1" in levels else None,
    ) for plan in plans]

    def done(job: RunJob, truth: RunTruth) -> None:
        sample = simulate_point_gammas(np.random.default_rng([int(seed), 700_000 + job.plan.run_id]),
                                       truth.mean_zenith_deg)
        truth.expected_gamma_rate_after_cuts_per_min = 60.0 * expected_rate_after_cuts_hz(
            sample, job.cuts, source_flux=job.settings.source_flux)
        result.truth[job.plan.run_id] = truth
        if job.dl1_path is not None:
            result.dl1_files[job.plan.run_id] = job.dl1_path
            result.dl1_subrun_files[job.plan.run_id] = [job.dl1_path.with_name(subrun_dl1_name(job.dl1_path, i))
                                                        for i in range(truth.n_subruns or 0)]
        if job.dl2_path is not None:
            result.dl2_files[job.plan.run_id] = job.dl2_path

    bar = _progress_bar(sum(p.duration_s for p in plans), enabled=progress)
    try:
        write_runs(jobs, workers=workers, progress=bar, on_done=done)
    finally:
        if bar is not None:
            bar.close()

    result.run_catalog = write_catalog(run_catalog_path(output, night), plans, source_name=source_name,
                                       source_ra_deg=source_ra, source_dec_deg=source_dec,
                                       n_subruns={run: t.n_subruns for run, t in result.truth.items() if t.n_subruns})
    if mc:
        from lappana.simulate.mc import write_mc_files

        result.mc_files = write_mc_files(output / "MC", seed=seed, n_events=mc_events)
    result.truth_file = write_truth(result, locals_for_truth(
        source_name, source_ra, source_dec, n_runs, run_minutes, first_run, seed, levels, mc, irfs,
        source_flux, settings, mc_events, flare, subrun_events=subrun_events), irf_set=irf_set_name(**EFFICIENCY_CUTS))
    return result


def _progress_bar(total_s: float, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=round(total_s), unit="s", desc="simulating", file=sys.stderr,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s of runs [{elapsed}<{remaining}{postfix}]")
