"""``lappana check-dl3`` (old name ``check_dl3``): check DL3 files; exit 0 ok, 1 problems, 2 unusable."""

from __future__ import annotations

import argparse

from lappana.commands._checks import add_check_arguments, run_checks



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana check-dl3``."""
    add_check_arguments(parser, "DL3")


def run(args: argparse.Namespace) -> int:
    """Check each file, print its report, and return the worst exit code."""
    from lappana.checks import check_dl3

    return run_checks(args.files, check_dl3, args.json)
