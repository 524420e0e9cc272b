"""``lappana diagnostics``: per-run rates, zenith, gammaness, energy and cosmic-ray rate, with quality flags."""

from __future__ import annotations

import argparse
import json
from pathlib import Path



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana diagnostics``."""
    parser.add_argument("dl3_dir", type=Path, metavar="DL3_DIR", help="indexed DL3 folder")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                        help="folder for run_NNNNN.png, cosmic_rate.png and diagnostics.json")
    parser.add_argument("--dl2", type=Path, nargs="*", default=[], metavar="DL2",
                        help="DL2 files of the runs (all showers before cuts: dR/dI and shower rate)")
    parser.add_argument("--max-zenith", type=float, default=60.0, help="quality cut, deg (default: %(default)s)")
    parser.add_argument("--min-deadc", type=float, default=0.8, help="quality cut on DEADC (default: %(default)s)")
    parser.add_argument("--cosmic-ratio-range", type=float, nargs=2, default=(0.7, 1.3), metavar=("LO", "HI"),
                        help="accepted dR/dI at 422 p.e. over LST-1's expectation (default: 0.7 1.3)")


def run(args: argparse.Namespace) -> int:
    """Diagnose each run, write the figures and diagnostics.json, print one line per run."""
    from lappana.highlevel import plots
    from lappana.highlevel.diagnostics import QualityCuts, run_diagnostics

    cuts = QualityCuts(max_zenith_deg=args.max_zenith, min_deadc=args.min_deadc,
                       cosmic_ratio_range=tuple(args.cosmic_ratio_range))
    diags = run_diagnostics(args.dl3_dir, args.dl2, cuts=cuts)
    args.output.mkdir(parents=True, exist_ok=True)
    for diag in diags:
        plots.plot_run(diag, args.output / f"run_{diag.obs_id:05d}.png")
        ratio = f", dR/dI {diag.cosmic_ratio:.2f}× LST-1" if diag.cosmic_ratio is not None else ""
        state = "good" if diag.good else "FLAGGED: " + "; ".join(diag.flags)
        print(f"run {diag.obs_id}: {diag.n_events_after_cuts} events after cuts, livetime "
              f"{diag.livetime_s / 60:.1f} min{ratio} — {state}")
    plots.plot_cosmic_rate(diags, args.output / "cosmic_rate.png")
    (args.output / "diagnostics.json").write_text(json.dumps([d.to_dict() for d in diags], indent=2) + "\n")
    return 0
