"""``lappana check-dl2`` (old name ``check_dl2``): check DL2 files; exit 0 ok, 1 problems, 2 unusable."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lappana.commands._checks import add_check_arguments, run_checks



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana check-dl2``."""
    add_check_arguments(parser, "DL2")
    parser.add_argument("--run-catalog", type=Path, default=None, metavar="ECSV",
                        help="the night's run catalogue: a run given in subrun files is complete when it has the "
                             "DL2 of each of its n_subruns (without it: of each subrun from 0 to the highest given)")


def run(args: argparse.Namespace) -> int:
    """Check each file, print its report, then whether each run given in subrun files has all of them; return
    the worst exit code."""
    from lappana.checks import check_dl2
    from lappana.checks.subruns import missing_subruns

    worst = run_checks(args.files, check_dl2, args.json)
    counts = None
    if args.run_catalog is not None:
        from lappana.io.runcatalog import read_run_catalog

        counts = {entry.run_id: entry.n_subruns for entry in read_run_catalog(args.run_catalog) if entry.n_subruns}
    problems = missing_subruns(args.files, counts)
    for sentence in problems:
        print(json.dumps({"problem": sentence}) if args.json else sentence)
    return max(worst, 1 if problems else 0)
