"""``lappana skymap``: counts, background, excess and significance maps around the source."""

from __future__ import annotations

import argparse
import sys

from lappana.highlevel.cli_args import add_common



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana skymap``."""
    add_common(parser, "folder for skymap.fits and skymap.png")
    parser.add_argument("--correlation-radius", type=float, default=0.1,
                        help="radius (deg) counts are summed in (default: %(default)s)")
    parser.add_argument("--exclusion-radius", type=float, default=0.3,
                        help="no OFF events within this radius (deg) of the source (default: %(default)s)")
    parser.add_argument("--width", type=float, default=2.0, help="map width, deg (default: %(default)s)")
    parser.add_argument("--binsz", type=float, default=0.02, help="pixel size, deg (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Make the maps, write FITS and PNG, print the significance at the source."""
    from lappana.highlevel import plots
    from lappana.highlevel.cli_args import band, source
    from lappana.highlevel.report import energy_band
    from lappana.highlevel.skymap import make_skymap, write_skymap_fits

    src = source(args)
    runs, chosen = band(args, src)
    maps = make_skymap(args.dl3_dir, n_off=args.n_off, energy_range=chosen.range_tev,
                       correlation_radius_deg=args.correlation_radius, exclusion_radius_deg=args.exclusion_radius,
                       width_deg=args.width, binsz_deg=args.binsz, runs=runs, **src)
    print(write_skymap_fits(maps, args.output / "skymap.fits"))
    print(plots.plot_skymap(maps, args.output / "skymap.png"))
    summary = maps.summary()
    print(f"{maps.source_name}, {energy_band(list(chosen.range_tev))}: σ at the source {summary['significance_at_source']:.2f}, "
          f"max σ {summary['max_significance'] if summary['max_significance'] is not None else float('nan'):.2f}")
    print(chosen.describe())
    for problem in maps.problems:
        print(f"lappana skymap: {problem}", file=sys.stderr)
    return 0 if maps.pointings_deg else 2
