"""``lappana check-dl2`` (old name ``check_dl2``): check DL2 files; exit 0 ok, 1 problems, 2 unusable."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "check DL2 files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana check-dl2``."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FILES", help="DL2 files to check")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file instead of text")


def run(args: argparse.Namespace) -> int:
    """Check each file, print its report, and return the worst exit code."""
    from lappana.checks import check_dl2

    worst = 0
    for path in args.files:
        report = check_dl2(path)
        print(json.dumps(report.to_dict(), default=str) if args.json else report.text())
        worst = max(worst, report.exit_code)
    return worst
