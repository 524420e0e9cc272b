"""``lappana theta2``: θ² distribution and Li & Ma significance from DL3 files."""

from __future__ import annotations

import argparse
import json
import sys

from lappana.highlevel.cli_args import add_common



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana theta2``."""
    add_common(parser, "folder for theta2.png, significance_time.png and theta2.json")
    parser.add_argument("--theta2-cut", type=float, help="global θ² cut in deg² (default: RAD_MAX of the files)")


def run(args: argparse.Namespace) -> int:
    """Count ON/OFF events, print the key numbers, write the figures and theta2.json."""
    from lappana.highlevel import plots
    from lappana.highlevel.cli_args import band, source
    from lappana.highlevel.report import energy_band
    from lappana.highlevel.theta2 import theta2

    src = source(args)
    runs, chosen = band(args, src)
    result = theta2(args.dl3_dir, n_off=args.n_off, energy_range=chosen.range_tev, theta2_cut=args.theta2_cut,
                    runs=runs, **src)
    args.output.mkdir(parents=True, exist_ok=True)
    plots.plot_theta2(result, args.output / "theta2.png")
    plots.plot_significance_time(result, args.output / "significance_time.png")
    (args.output / "theta2.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    print(f"{result.source_name}, {energy_band(list(chosen.range_tev))}: {sum(r.used for r in result.runs)} run(s), livetime {result.livetime_s / 60:.1f} min, "
          f"N_on {result.n_on}, N_off {result.n_off}, α {result.alpha:.3f}, excess {result.excess:.1f} ± "
          f"{result.excess_error:.1f}, σ {result.significance:.2f}, γ rate {result.gamma_rate_per_min:.2f} ± "
          f"{result.gamma_rate_error_per_min:.2f}/min")
    print(chosen.describe())
    for problem in result.problems:
        print(f"lappana theta2: {problem}", file=sys.stderr)
    return 0 if any(r.used for r in result.runs) else 2
