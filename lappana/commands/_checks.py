"""What ``lappana check-dl2`` and ``lappana check-dl3`` share: arguments and the report loop."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def add_check_arguments(parser: argparse.ArgumentParser, level: str) -> None:
    """Add the files to check and ``--json`` for data level ``level`` (``"DL2"``, ``"DL3"``)."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FILES", help=f"{level} files to check")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file instead of text")


def run_checks(files: list[Path], check: Callable, as_json: bool) -> int:
    """Check each file, print its report, and return the worst exit code (0 ok, 1 problems, 2 unusable)."""
    worst = 0
    for path in files:
        report = check(path)
        print(json.dumps(report.to_dict(), default=str) if as_json else report.text())
        worst = max(worst, report.exit_code)
    return worst
