"""``lappana simulate``: an LST-1-like night of wobble runs, with IRFs, MC and truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lappana.commands._flags import add_source
from lappana.constants import CRAB_DEC_DEG, CRAB_NAME, CRAB_RA_DEG
from lappana.errors import LappanaError
from lappana.paths import parse_night



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana simulate``."""
    parser.add_argument("output", type=Path, help="folder to write the night's tree into")
    parser.add_argument("--night", default="2023-12-07",
                        help="the evening's date, YYYY-MM-DD (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="number of runs (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="length of each run in minutes (default: %(default)s)")
    parser.add_argument("--first-run", type=int, default=15864,
                        help="number of the first run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--start", default=None, metavar="UTC",
                        help="start of the first run, e.g. 2023-12-07T23:30:00 (UTC; default: the runs "
                             "are centred on the source's culmination)")
    add_source(parser, defaults=(CRAB_NAME, CRAB_RA_DEG, CRAB_DEC_DEG),
               default_help=f"{CRAB_NAME} at {CRAB_RA_DEG}, {CRAB_DEC_DEG} deg")
    parser.add_argument("--flux", type=float, default=1.0,
                        help="source flux in Crab units (default: %(default)s)")
    parser.add_argument("--no-source", action="store_true", help="no gamma-ray source (flux 0)")
    parser.add_argument("--flare", type=float, nargs=3, metavar=("START_MIN", "MINUTES", "FLUX"),
                        help="a flare: from START_MIN minutes after the first run's start, for MINUTES, at FLUX "
                             "Crab units (runs it covers get its flux, time-averaged)")
    parser.add_argument("--levels", default="dl1,dl2",
                        help="data levels to write per run, comma-separated (default: %(default)s)")
    parser.add_argument("--no-mc", action="store_true", help="do not write MC gamma and proton files")
    parser.add_argument("--no-irf", action="store_true", help="do not write IRF files")
    parser.add_argument("--shower-rate", type=float, default=None, metavar="HZ",
                        help="cosmic-ray shower rate after cleaning at 10 deg zenith, Hz "
                             "(default: LST-1's, about 8.5 kHz down to the trigger threshold)")
    parser.add_argument("--mc-events", type=int, default=20000,
                        help="events per MC file (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes writing runs side by side (default: one per CPU)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")


def run(args: argparse.Namespace) -> int:
    """Simulate the night and print what was written."""
    from lappana.simulate.night import simulate_night

    try:
        night = parse_night(args.night)
    except ValueError as exc:
        raise LappanaError(str(exc)) from None
    start = None
    if args.start is not None:
        start = _parse_start(args.start)
    if args.mc_events < 1:
        raise LappanaError("--mc-events must be at least 1.")
    flare = None
    if args.flare is not None:
        from lappana.simulate.variability import Flare

        flare = Flare(start_min=args.flare[0], duration_min=args.flare[1], flux_crab=args.flare[2])
    result = simulate_night(
        args.output,
        night=night,
        source_name=args.source_name,
        source_ra=args.source_ra,
        source_dec=args.source_dec,
        n_runs=args.runs,
        run_minutes=args.minutes,
        first_run=args.first_run,
        seed=args.seed,
        levels=args.levels.split(","),
        mc=not args.no_mc,
        irfs=not args.no_irf,
        source_flux=0.0 if args.no_source else args.flux,
        **({} if args.shower_rate is None else {"shower_rate_hz": args.shower_rate}),
        mc_events=args.mc_events,
        workers=args.workers,
        start=start,
        progress=not args.quiet,
        flare=flare,
    )
    if not args.quiet:
        print(summary(result), file=sys.stdout)
    return 0


def _parse_start(text: str):
    from astropy.time import Time

    try:
        return Time(text, scale="utc")
    except ValueError:
        raise LappanaError(
            f"--start {text!r} is not a time: write it as YYYY-MM-DDTHH:MM:SS (UTC)."
        ) from None


def summary(result) -> str:
    """A few lines saying what a simulated night wrote."""
    lines = [f"Simulated night {result.night.isoformat()} in {result.output}:"]
    for run_id in result.run_ids:
        t = result.truth[run_id]
        levels = [lvl for lvl, files in (("DL1", result.dl1_files), ("DL2", result.dl2_files)) if run_id in files]
        lines.append(
            f"  run {run_id}: {t.n_events} events ({t.n_showers} showers, {t.n_gammas} gammas), "
            f"{t.duration_s / 60:.1f} min, zenith {t.mean_zenith_deg:.1f}°, wobble {t.wobble_angle_deg:.0f}° "
            f"[{', '.join(levels)}]"
        )
    if result.run_catalog:
        lines.append(f"  run catalogue: {result.run_catalog}")
    for name, folder in result.irf_dirs.items():
        n = sum(1 for p in result.irf_files if p.parent == folder)
        lines.append(f"  IRFs {name}: {n} files in {folder}")
    for name, path in result.mc_files.items():
        lines.append(f"  MC {name}: {path}")
    lines.append(f"  truth: {result.truth_file}")
    return "\n".join(lines)
