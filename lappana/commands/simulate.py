"""``lappana simulate``: an LST-1-like night of wobble runs, with IRFs, MC and truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lappana.commands._flags import add_source
from lappana.constants import CRAB_DEC_DEG, CRAB_NAME, CRAB_RA_DEG
from lappana.errors import LappanaError
from lappana.paths import parse_night

#: The night simulated when none is named.
DEFAULT_NIGHT = "2023-12-07"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana simulate``."""
    parser.add_argument("output", type=Path, help="folder to write the night's tree into")
    parser.add_argument("--night", default=None,
                        help=f"the evening's date, YYYY-MM-DD (default: {DEFAULT_NIGHT})")
    parser.add_argument("--nights", default=None, metavar="DATE,DATE,...",
                        help="several nights into the same tree instead of --night, comma-separated; --runs, "
                             "--minutes and the rates apply to each night, run numbers go on from night to night, "
                             "the IRFs and MC are written once")
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
    parser.add_argument("--flux", default="1",
                        help="source flux in Crab units; with --nights one per night, comma-separated, or one for "
                             "all (default: %(default)s)")
    parser.add_argument("--no-source", action="store_true", help="no gamma-ray source (flux 0)")
    parser.add_argument("--flare", type=float, nargs=3, metavar=("START_MIN", "MINUTES", "FLUX"),
                        help="a flare: from START_MIN minutes after the first run's start, for MINUTES, at FLUX "
                             "Crab units (runs it covers get its flux, time-averaged)")
    parser.add_argument("--flare-night", default=None, metavar="DATE",
                        help="the night of --flare when --nights gives several")
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
    parser.add_argument("--subrun-events", type=int, default=None, metavar="N",
                        help="also write each run's DL1 in subrun files of N events, as LST-1's onsite pipeline "
                             "keeps them (LST-1's hold about 53000), and n_subruns in the run catalogue")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")


def run(args: argparse.Namespace) -> int:
    """Simulate the night (or the nights) and print what was written."""
    if args.night is not None and args.nights is not None:
        raise LappanaError("Give --night for one night or --nights for several, not both.")
    nights = _parse_nights(args.nights if args.nights is not None else args.night or DEFAULT_NIGHT)
    fluxes = [0.0] * len(nights) if args.no_source else _parse_fluxes(args.flux, len(nights))
    if args.mc_events < 1:
        raise LappanaError("--mc-events must be at least 1.")
    flare, flare_night = None, None
    if args.flare is not None:
        from lappana.simulate.variability import Flare

        flare = Flare(start_min=args.flare[0], duration_min=args.flare[1], flux_crab=args.flare[2])
        flare_night = _flare_night(args.flare_night, nights)
    elif args.flare_night is not None:
        raise LappanaError("--flare-night names the night of a --flare; give the --flare too.")
    settings = dict(source_name=args.source_name, source_ra=args.source_ra, source_dec=args.source_dec, levels=args.levels.split(","),
                    mc=not args.no_mc, irfs=not args.no_irf, mc_events=args.mc_events, workers=args.workers,
                    progress=not args.quiet, subrun_events=args.subrun_events,
                    **({} if args.shower_rate is None else {"shower_rate_hz": args.shower_rate}))
    if args.nights is not None:
        if args.start is not None:
            raise LappanaError("--start sets the first run of one night; with --nights each night's runs are "
                               "centred on the source's culmination.")
        from lappana.simulate.nights import NightPlan, simulate_nights

        plans = [NightPlan(night=night, n_runs=args.runs, run_minutes=args.minutes, source_flux=flux,
                           flare=flare if night == flare_night else None) for night, flux in zip(nights, fluxes)]
        several = simulate_nights(args.output, plans, first_run=args.first_run, seed=args.seed, **settings)
        if not args.quiet:
            print("\n".join([*(summary(n) for n in several.nights), f"Nights: {several.index_file}"]))
        return 0
    from lappana.simulate.night import simulate_night

    start = None if args.start is None else _parse_start(args.start)
    result = simulate_night(args.output, night=nights[0], n_runs=args.runs, run_minutes=args.minutes,
                            first_run=args.first_run, seed=args.seed, source_flux=fluxes[0], start=start, flare=flare,
                            **settings)
    if not args.quiet:
        print(summary(result), file=sys.stdout)
    return 0


def _parse_nights(text: str) -> list:
    """The dates of ``--night`` or ``--nights`` (comma-separated), each checked as a night is."""
    try:
        nights = [parse_night(part) for part in str(text).split(",") if part.strip()]
    except ValueError as exc:
        raise LappanaError(str(exc)) from None
    if not nights:
        raise LappanaError("--nights names no night: give dates, like 2023-12-05,2023-12-06.")
    if len(set(nights)) < len(nights):
        raise LappanaError(f"--nights {text} names a night twice; each night is simulated once.")
    return nights


def _parse_fluxes(text: str, n_nights: int) -> list[float]:
    """``--flux``: one flux for every night, or one per night (comma-separated), in Crab units."""
    try:
        fluxes = [float(part) for part in str(text).split(",")]
    except ValueError:
        raise LappanaError(f"--flux {text} is not a flux: give Crab units, like 1 or 0.5,1,2 (one per night).") \
            from None
    if len(fluxes) == 1:
        return fluxes * n_nights
    if len(fluxes) != n_nights:
        raise LappanaError(f"--flux gives {len(fluxes)} fluxes for {n_nights} night(s): give one for all nights or "
                           "one per night, in the order of --nights.")
    return fluxes


def _flare_night(text: str | None, nights: list):
    """The night of the flare: ``--flare-night``, or the only night."""
    if text is None:
        if len(nights) > 1:
            raise LappanaError("--flare with several --nights needs --flare-night DATE: the night of the flare.")
        return nights[0]
    (night,) = _parse_nights(text)
    if night not in nights:
        raise LappanaError(f"--flare-night {text} is not one of the nights simulated.")
    return night


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
