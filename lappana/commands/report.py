"""``lappana report``: θ², sky map, diagnostics, summary.json and a self-contained report.html."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lappana.highlevel.cli_args import add_common



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana report``."""
    add_common(parser, "folder for summary.json, report.html, the PNGs and skymap.fits")
    parser.add_argument("--theta2-cut", type=float, help="global θ² cut in deg² (default: RAD_MAX of the files)")
    parser.add_argument("--dl2", type=Path, nargs="*", default=[], metavar="DL2",
                        help="DL2 files of the runs, for the diagnostics before cuts")
    parser.add_argument("--lstchain-version", help="lstchain version that made the DL2 (recorded in summary.json)")
    parser.add_argument("--correlation-radius", type=float, default=0.1,
                        help="sky-map correlation radius, deg (default: %(default)s)")
    parser.add_argument("--no-skymap", action="store_true", help="leave out the sky map")
    parser.add_argument("--no-diagnostics", action="store_true", help="leave out the run diagnostics")
    parser.add_argument("--spectrum", action="store_true", help="fit the spectrum and draw the SED (gammapy)")
    parser.add_argument("--lightcurve", metavar="BIN",
                        help="make a light curve with bins of run, night or a livetime such as '20 min' (gammapy)")
    parser.add_argument("--provenance", metavar="JSON",
                        help="a JSON object saying where the DL3 comes from (request, nights, IRFs, models), "
                             "copied into summary.json")


def run(args: argparse.Namespace) -> int:
    """Make everything; exit 0 with results (problems printed), 2 when nothing could be analysed."""
    from lappana.errors import LappanaError
    from lappana.highlevel.analysis import make_highlevel
    from lappana.highlevel.cli_args import energy_range, source

    try:
        src = source(args)
    except LappanaError:
        if args.source_ra is None or args.source_dec is None:
            raise
        src = {"source_name": args.source_name or "source", "source_ra_deg": args.source_ra,
               "source_dec_deg": args.source_dec}
    parts = tuple(p for p, off in (("theta2", False), ("skymap", args.no_skymap),
                                   ("diagnostics", args.no_diagnostics), ("spectrum", not args.spectrum),
                                   ("lightcurve", not args.lightcurve)) if not off)
    provenance = None
    if args.provenance is not None:
        import json

        try:
            provenance = json.loads(args.provenance)
        except ValueError as exc:
            raise LappanaError(f"--provenance is not a JSON object ({exc}).") from exc
        if not isinstance(provenance, dict):
            raise LappanaError("--provenance must be a JSON object, like '{\"request_id\": \"...\"}'.")
    outcome = make_highlevel(args.dl3_dir, args.output, n_off=args.n_off, energy_range=energy_range(args),
                             theta2_cut=args.theta2_cut, dl2_files=args.dl2, lstchain_version=args.lstchain_version,
                             correlation_radius_deg=args.correlation_radius, parts=parts,
                             lightcurve_bin=args.lightcurve or "20 min", provenance=provenance, **src)
    print(outcome.summary)
    print(outcome.report)
    for problem in outcome.problems:
        print(f"lappana report: {problem}", file=sys.stderr)
    return 2 if outcome.status == "failed" else 0
