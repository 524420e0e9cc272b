"""Is the simulated telescope LST-1? The real lstchain on simulated nights, against LST-1's tables.

:func:`check_realism` does what an LST-1 analyst does, with the simulator in place of the
telescope, and compares the outcome with the performance lstchain ships
(:mod:`lappana.simulate.lst1_tables`):

1. train random forests with the real ``lstchain_mc_trainpipe`` on simulated MC
   (:func:`lappana.simulate.mc.write_mc_files`, lappana's small-forest configuration);
2. make the IRFs of those models with :func:`lappana.model_irfs.make_model_irfs` (the real
   ``lstchain_dl1_to_dl2`` and ``lstchain_create_irf_files``) at each zenith checked, with
   energy-dependent cuts at 70 %/70 % and at a second efficiency pair;
3. at each zenith simulate two short wobble runs of the Crab's night as DL1 — one of gammas
   only (a source of ``gamma_flux`` Crab, the cosmic rays at 1 Hz) and one of cosmic rays
   only at LST-1's rate — plus a long one of the cosmic rays above 0.4 TeV only
   (:data:`HIGH_BACKGROUND_MIN_ENERGY_TEV`), and apply the models with the real
   ``lstchain_dl1_to_dl2``;
4. per reconstructed-energy bin count, with lstchain's event selection and the IRF's
   ``GH_CUTS`` and ``RAD_MAX``: the gamma rate in the ON region (divided by the flux) and the
   background rate in ON (cosmic rays in a ring 0.1°–0.7° from the pointing, scaled to the
   ON region's area, the wobble offset being 0.4°).

The result is one :class:`Comparison` per zenith and cut set; :func:`format_report` prints
them side by side with the tables, with the σ/√h of the bands > 0.1, > 0.2 and > 1 TeV
(Li & Ma, three OFF regions).
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lappana.constants import CRAB_DEC_DEG, CRAB_RA_DEG, WOBBLE_OFFSET_DEG
from lappana.dl2 import lstchain_prefix, run_dl1_to_dl2, run_logged
from lappana.env import offline_astropy
from lappana.highlevel.lima import li_ma_significance
from lappana.io.dl2 import iter_dl2_chunks, select_events
from lappana.paths import irf_set_name
from lappana.simulate.camera import angular_separation
from lappana.simulate.lst1_tables import Performance, band_mask, read_lst1_performance

#: The night whose Crab is simulated.
NIGHT = _dt.date(2023, 12, 7)
#: Bands (TeV) whose rates and significance are printed.
BANDS_TEV = (0.1, 0.2, 1.0)
#: Reconstructed-energy range (TeV) of the per-bin comparison.
BIN_RANGE_TEV = (0.03, 10.0)
#: Half width (deg) of the ring around the wobble offset where the background is counted.
RING_HALF_WIDTH_DEG = 0.3
#: The cosmic rays of at least this gamma-equivalent energy (TeV) are also simulated alone,
#: at their own rate, in a run of ``high_background_minutes``: the background of the bins
#: from :data:`HIGH_BACKGROUND_FROM_TEV` up is counted there (a 4-minute run at LST-1's rate
#: holds a handful of cosmic rays above 1 TeV in the ring). Hadrons' reconstructed energies
#: scatter by 8 % about their gamma-equivalent ones, so none from below 0.4 TeV reaches 0.79 TeV.
HIGH_BACKGROUND_MIN_ENERGY_TEV = 0.4
HIGH_BACKGROUND_FROM_TEV = 0.79
#: OFF regions per ON region of the significance.
N_OFF = 3
_COLUMNS = ["event_type", "r", "wl", "leakage_intensity_width_2", "intensity", "length", "width",
            "reco_energy", "gammaness", "reco_alt", "reco_az", "alt_tel", "az_tel", "dragon_time"]


@dataclass
class Comparison:
    """Simulated-through-lstchain against LST-1's table, per reco-energy bin of the IRF."""

    zenith_deg: float
    gh_efficiency: float
    theta_containment: float
    energy_lo_tev: np.ndarray
    energy_hi_tev: np.ndarray
    gamma_rate_hz: np.ndarray
    gamma_counts: np.ndarray
    background_rate_hz: np.ndarray
    background_counts: np.ndarray
    gh_cut: np.ndarray
    theta_cut_deg: np.ndarray
    lst1: Performance
    timings_s: dict[str, float] = field(default_factory=dict)

    def lst1_at(self, name: str) -> np.ndarray:
        """LST-1's column ``name`` in the bins of this comparison (the nearest table bin)."""
        centres = np.sqrt(self.lst1.energy_lo_tev * self.lst1.energy_hi_tev)
        index = np.abs(np.log(centres[None, :] / np.sqrt(self.energy_lo_tev * self.energy_hi_tev)[:, None]))
        return getattr(self.lst1, name)[np.argmin(index, axis=1)]

    def band(self, threshold_tev: float) -> dict[str, float]:
        """Rates (per minute) and σ/√h of the band "> threshold", simulated and LST-1's."""
        out = {}
        for who, lo, gamma, bkg in (
            ("sim", self.energy_lo_tev, self.gamma_rate_hz, self.background_rate_hz),
            ("lst1", self.lst1.energy_lo_tev, self.lst1.gamma_rate_hz, self.lst1.background_rate_hz),
        ):
            mask = band_mask(lo, threshold_tev)
            g, b = 3600.0 * float(gamma[mask].sum()), 3600.0 * float(bkg[mask].sum())
            out[f"{who}_gamma_per_min"] = g / 60.0
            out[f"{who}_background_per_min"] = b / 60.0
            out[f"{who}_sigma_per_sqrt_h"] = float(li_ma_significance(g + b, N_OFF * b, 1.0 / N_OFF))
        return out

    def to_dict(self) -> dict:
        """Everything as plain numbers (for ``--json``)."""
        keys = ("energy_lo_tev", "energy_hi_tev", "gamma_rate_hz", "gamma_counts", "background_rate_hz",
                "background_counts", "gh_cut", "theta_cut_deg")
        doc = {k: np.asarray(getattr(self, k)).tolist() for k in keys}
        doc.update(zenith_deg=self.zenith_deg, gh_efficiency=self.gh_efficiency,
                   theta_containment=self.theta_containment, lst1_zenith_deg=self.lst1.zenith_deg,
                   bands={str(t): self.band(t) for t in BANDS_TEV}, timings_s=self.timings_s)
        for name in ("gamma_rate_hz", "background_rate_hz", "gh_cut", "theta_cut_deg"):
            doc[f"lst1_{name}"] = self.lst1_at(name).tolist()
        return doc


def train_models(work: Path, *, lstchain_env: Path, config: Path, seed: int, mc_events: int) -> Path:
    """Random forests trained by the real ``lstchain_mc_trainpipe`` on simulated MC."""
    from lappana.simulate.mc import write_mc_files

    files = write_mc_files(work / "MC", seed=seed, n_events=mc_events)
    models = work / "models"
    command = [*lstchain_prefix(lstchain_env, "lstchain_mc_trainpipe"), "--fg", str(files["gamma_diffuse"]),
               "--fp", str(files["proton"]), "-o", str(models), "-c", str(config)]
    run_logged(command, work / "train.log", cwd=work, timeout=3600, what="the simulated MC",
               lstchain_env=lstchain_env, tool="lstchain_mc_trainpipe")
    shutil.copy(config, models / "lstchain_config.json")
    return models


def start_at_zenith(zenith_deg: float, minutes: float):
    """A start time on :data:`NIGHT` so that a run of the Crab's wobble is centred near ``zenith_deg``.

    Below the Crab's culmination zenith (≈6° at LST-1) the culmination is used.
    """
    import astropy.units as u
    from astropy.coordinates import AltAz, SkyCoord
    from astropy.time import Time

    from lappana.constants import LST1_LOCATION
    from lappana.simulate.observation import dark_window

    begin, end = dark_window(NIGHT)
    times = begin + np.linspace(0.0, (end - begin).to_value(u.s), 400) * u.s
    crab = SkyCoord(CRAB_RA_DEG * u.deg, CRAB_DEC_DEG * u.deg)
    zenith = 90.0 - crab.transform_to(AltAz(obstime=times, location=LST1_LOCATION)).alt.deg
    i = int(np.argmin(np.abs(zenith - zenith_deg)))
    return Time(times[i].unix - 30.0 * minutes, format="unix")


def _simulate_dl1(folder: Path, *, seed: int, minutes: float, zenith_deg: float, source_flux: float,
                  shower_rate_hz: float | None, hadron_min_energy_tev: float = 0.0):
    from lappana.simulate.night import simulate_night

    kwargs = {} if shower_rate_hz is None else {"shower_rate_hz": shower_rate_hz}
    night = simulate_night(folder, night=NIGHT, n_runs=1, run_minutes=minutes, seed=seed, levels=("dl1",),
                           mc=False, irfs=False, source_flux=source_flux, pedestal_rate_hz=10.0,
                           flatfield_rate_hz=10.0, start=start_at_zenith(zenith_deg, minutes),
                           progress=False, hadron_min_energy_tev=hadron_min_energy_tev, **kwargs)
    run_id = night.run_ids[0]
    return night.dl1_files[run_id], night.truth[run_id]


def _read_cuts(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from astropy.io import fits

    with fits.open(path) as hdus:
        gh = hdus["GH_CUTS"].data
        rad = hdus["RAD_MAX"].data
        return (np.asarray(gh["low"], float), np.asarray(gh["high"], float), np.asarray(gh["cut"], float),
                np.asarray(rad["RAD_MAX"][0, 0], float))


def _count(dl2: Path, edges: np.ndarray, gh_cut: np.ndarray, rad_max: np.ndarray,
           source_offset_deg: Callable[[dict], np.ndarray] | None) -> np.ndarray:
    """Events per bin passing selection and cuts: in ON (gammas) or weighted from the ring (background)."""
    counts = np.zeros(gh_cut.size)
    ring_area = np.pi * ((WOBBLE_OFFSET_DEG + RING_HALF_WIDTH_DEG) ** 2 - (WOBBLE_OFFSET_DEG - RING_HALF_WIDTH_DEG) ** 2)
    for chunk in iter_dl2_chunks(dl2, _COLUMNS, chunk_rows=500_000):
        index = np.digitize(chunk["reco_energy"], edges) - 1
        keep = select_events(chunk) & (chunk["event_type"] == 32) & (index >= 0) & (index < gh_cut.size)
        index = np.where(keep, index, 0)
        keep &= chunk["gammaness"] >= gh_cut[index]
        if source_offset_deg is not None:
            weight = (source_offset_deg(chunk) < rad_max[index]).astype(float)
        else:
            offset = np.degrees(angular_separation(chunk["reco_alt"], chunk["reco_az"], chunk["alt_tel"], chunk["az_tel"]))
            weight = (np.abs(offset - WOBBLE_OFFSET_DEG) < RING_HALF_WIDTH_DEG) * np.pi * rad_max[index] ** 2 / ring_area
        counts += np.bincount(index[keep], weights=weight[keep], minlength=gh_cut.size)
    return counts


def check_realism(
    work: Path, *, lstchain_env: Path, lstchain_data: Path, config: Path, zeniths_deg: Sequence[float] = (10.0, 40.0),
    efficiencies: Sequence[tuple[float, float]] = ((0.7, 0.7), (0.4, 0.4)), seed: int = 12,
    mc_events: int = 20_000, irf_thrown: int = 400_000, gamma_minutes: float = 2.0, gamma_flux: float = 20.0,
    background_minutes: float = 2.0, high_background_minutes: float = 30.0, models: Path | None = None, progress: Callable[[str], None] | None = None,
) -> list[Comparison]:
    """Run the check (see the module docstring) in ``work``; return one comparison per zenith and cut set.

    Parameters
    ----------
    work : Path
        Scratch folder (models, MC, IRFs, DL1/DL2); made if missing.
    lstchain_env : Path
        The lstchain environment.
    lstchain_data : Path
        lstchain's ``lstchain/data`` folder with the LST-1 tables.
    config : Path
        lstchain configuration of the training.
    models : Path, optional
        Use these trained models instead of training new ones.
    """
    from lappana.model_irfs import make_model_irfs

    say = progress or (lambda line: None)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    if models is None:
        say(f"training random forests with lstchain_mc_trainpipe on {mc_events} simulated MC events per particle")
        models = train_models(work, lstchain_env=lstchain_env, config=config, seed=seed, mc_events=mc_events)
    timings["train"] = time.monotonic() - t0
    cut_sets = {
        irf_set_name(gh_efficiency=g, theta_containment=t): (
            "--energy-dependent-gh", "--energy-dependent-theta", f"--gh-efficiency={g}", f"--theta-containment={t}")
        for g, t in efficiencies
    }
    t0 = time.monotonic()
    say(f"making IRFs of those models at zenith {', '.join(f'{z:g}°' for z in zeniths_deg)}")
    irfs = make_model_irfs(models, work / "IRF", lstchain_env=lstchain_env, zenith_nodes_deg=zeniths_deg,
                           seed=seed, n_thrown=irf_thrown, cut_sets=cut_sets, progress=say)
    timings["irfs"] = time.monotonic() - t0
    out: list[Comparison] = []
    for iz, zenith in enumerate(zeniths_deg):
        t0 = time.monotonic()
        folder = work / f"zen{zenith:g}"
        shutil.rmtree(folder, ignore_errors=True)
        gdl1, gtruth = _simulate_dl1(folder / "gammas", seed=seed + 1, minutes=gamma_minutes, zenith_deg=zenith,
                                     source_flux=gamma_flux, shower_rate_hz=1.0)
        bdl1, btruth = _simulate_dl1(folder / "cosmics", seed=seed + 2, minutes=background_minutes,
                                     zenith_deg=zenith, source_flux=0.0, shower_rate_hz=None)
        hdl1, htruth = _simulate_dl1(folder / "cosmics-high", seed=seed + 3, minutes=high_background_minutes,
                                     zenith_deg=zenith, source_flux=0.0, shower_rate_hz=None,
                                     hadron_min_energy_tev=HIGH_BACKGROUND_MIN_ENERGY_TEV)
        say(f"zenith {zenith:g}°: simulated {gtruth.n_events} + {btruth.n_events} + {htruth.n_events} events "
            f"(mean zenith {gtruth.mean_zenith_deg:.1f}°, {btruth.mean_zenith_deg:.1f}°, {htruth.mean_zenith_deg:.1f}°)")
        gdl2 = run_dl1_to_dl2(gdl1, folder / "dl2g", lstchain_env=lstchain_env, models_dir=models, overwrite=True).dl2_path
        bdl2 = run_dl1_to_dl2(bdl1, folder / "dl2b", lstchain_env=lstchain_env, models_dir=models, overwrite=True).dl2_path
        hdl2 = run_dl1_to_dl2(hdl1, folder / "dl2h", lstchain_env=lstchain_env, models_dir=models, overwrite=True).dl2_path
        timings[f"zenith {zenith:g}"] = time.monotonic() - t0
        plan = _plan_of(gtruth, gamma_minutes, zenith)
        source = _source_offset(plan)
        for set_name, (g, t) in zip(cut_sets, efficiencies):
            lo, hi, gh_cut, rad_max = _read_cuts(irfs[set_name][iz])
            edges = np.append(lo, hi[-1])
            n_g = _count(gdl2, edges, gh_cut, rad_max, source)
            n_b = _count(bdl2, edges, gh_cut, rad_max, None)
            # Above HIGH_BACKGROUND_FROM_TEV the cosmic rays come from the long run of the
            # high-energy ones only, at their own rate: per unit livetime, the same background.
            high = lo >= HIGH_BACKGROUND_FROM_TEV
            n_h = _count(hdl2, edges, gh_cut, rad_max, None)
            b_rate = np.where(high, n_h / htruth.livetime_s, n_b / btruth.livetime_s)
            n_b = np.where(high, n_h, n_b)
            out.append(Comparison(
                zenith_deg=float(zenith), gh_efficiency=g, theta_containment=t, energy_lo_tev=lo, energy_hi_tev=hi,
                gamma_rate_hz=n_g / gtruth.livetime_s / gamma_flux, gamma_counts=n_g,
                background_rate_hz=b_rate, background_counts=n_b, gh_cut=gh_cut,
                theta_cut_deg=rad_max, lst1=read_lst1_performance(lstchain_data, zenith, g, t), timings_s=timings,
            ))
    return out


def _plan_of(truth, minutes: float, zenith_deg: float):
    from lappana.simulate.observation import plan_night

    return plan_night(NIGHT, source_ra_deg=CRAB_RA_DEG, source_dec_deg=CRAB_DEC_DEG, n_runs=1,
                      run_minutes=minutes, first_run=truth.run_id, start=start_at_zenith(zenith_deg, minutes))[0]


def _source_offset(plan) -> Callable[[dict], np.ndarray]:
    def offset(chunk: dict) -> np.ndarray:
        alt, az = plan.source_at(chunk["dragon_time"])
        return np.degrees(angular_separation(chunk["reco_alt"], chunk["reco_az"], alt, az))

    return offset


def _ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}" if b > 0 else "    –"


def format_report(comparisons: Sequence[Comparison]) -> str:
    """The side-by-side tables, one per zenith and cut set."""
    lines: list[str] = []
    for c in comparisons:
        lines.append(f"\n== zenith {c.zenith_deg:g}° (LST-1 table at {c.lst1.zenith_deg:g}°), "
                     f"gammaness efficiency {c.gh_efficiency:.0%}, θ containment {c.theta_containment:.0%} ==")
        lines.append("  E_reco (TeV)    γ/min sim  LST-1 ratio | bkg/min sim   LST-1 ratio | gh cut sim LST-1 | θ cut sim LST-1")
        lst1 = {k: c.lst1_at(k) for k in ("gamma_rate_hz", "background_rate_hz", "gh_cut", "theta_cut_deg")}
        for i, (lo, hi) in enumerate(zip(c.energy_lo_tev, c.energy_hi_tev)):
            if hi <= BIN_RANGE_TEV[0] or lo >= BIN_RANGE_TEV[1]:
                continue
            g, lg = 60 * c.gamma_rate_hz[i], 60 * lst1["gamma_rate_hz"][i]
            b, lb = 60 * c.background_rate_hz[i], 60 * lst1["background_rate_hz"][i]
            lines.append(f"  {lo:6.3f}-{hi:6.3f}  {g:9.3f} {lg:7.3f} {_ratio(g, lg)} | {b:9.3f} {lb:9.3f} {_ratio(b, lb)} |"
                         f"   {c.gh_cut[i]:.2f}  {lst1['gh_cut'][i]:.2f} |    {c.theta_cut_deg[i]:.3f} {lst1['theta_cut_deg'][i]:.3f}")
        lines.append("  band            γ/min sim  LST-1 ratio | bkg/min sim   LST-1 ratio | σ/√h sim LST-1")
        for t in BANDS_TEV:
            r = c.band(t)
            lines.append(f"  > {t:<4g} TeV     {r['sim_gamma_per_min']:9.2f} {r['lst1_gamma_per_min']:7.2f} "
                         f"{_ratio(r['sim_gamma_per_min'], r['lst1_gamma_per_min'])} | {r['sim_background_per_min']:9.2f} "
                         f"{r['lst1_background_per_min']:9.2f} {_ratio(r['sim_background_per_min'], r['lst1_background_per_min'])} |"
                         f" {r['sim_sigma_per_sqrt_h']:6.1f} {r['lst1_sigma_per_sqrt_h']:6.1f}")
    lines.append("\nBands sum the bins whose lower edge lies above the threshold (> 0.2 TeV starts at 0.32 TeV), "
                 "as the LST-1 figures of notes/lst-data.md do.")
    return "\n".join(lines)


def write_json(path: Path, comparisons: Sequence[Comparison]) -> None:
    """All figures of the comparisons as JSON."""
    Path(path).write_text(json.dumps([c.to_dict() for c in comparisons], indent=1) + "\n")



def add_common_arguments(parser) -> None:
    """The options of ``check-realism`` that :mod:`lappana.simulate.realism_cuts` shares."""
    parser.add_argument("--lstchain-env", type=Path, required=True, help="lstchain's venv")
    parser.add_argument("--config", type=Path, required=True, help="lstchain configuration of the training")
    parser.add_argument("--models", type=Path, help="trained models to use instead of training new ones")
    parser.add_argument("--zenith", type=float, nargs="+", default=[10.0, 40.0], metavar="DEG")


def lstchain_data(lstchain_env: Path, prog: str) -> Path | None:
    """lstchain's ``lstchain/data`` folder (LST-1's tables) in its venv, or None with a message on stderr."""
    import sys

    data = sorted(Path(lstchain_env).glob("lib/python3*/site-packages/lstchain/data"))
    if not data:
        print(f"{prog}: no lstchain/data folder in {lstchain_env}; is it lstchain's venv?", file=sys.stderr)
        return None
    return data[0]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lappana.simulate.realism``: the command ``scripts/check-realism`` runs."""
    import argparse
    import sys
    import tempfile

    offline_astropy()
    parser = argparse.ArgumentParser(prog="check-realism", description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--minutes", type=float, default=2.0,
                        help="minutes of the gamma run, of a 20-Crab source (default 2)")
    parser.add_argument("--background-minutes", type=float, default=4.0,
                        help="minutes of the cosmic-ray run at LST-1's rate (default 4)")
    parser.add_argument("--high-background-minutes", type=float, default=30.0,
                        help="minutes of the run of cosmic rays above 0.4 TeV only (default 30)")
    parser.add_argument("--mc-events", type=int, default=20_000, help="MC events per particle for training")
    parser.add_argument("--thrown", type=int, default=200_000, help="IRF gammas thrown per zenith (default 200 000)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    data = lstchain_data(args.lstchain_env, "check-realism")
    if data is None:
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="astran-check-realism."))
    try:
        comparisons = check_realism(
            work, lstchain_env=args.lstchain_env, lstchain_data=data, config=args.config, zeniths_deg=args.zenith,
            seed=args.seed, mc_events=args.mc_events, irf_thrown=args.thrown, gamma_minutes=args.minutes,
            background_minutes=args.background_minutes, high_background_minutes=args.high_background_minutes,
            models=args.models,
            progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
        )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(format_report(comparisons))
    if args.json:
        write_json(args.json, comparisons)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
