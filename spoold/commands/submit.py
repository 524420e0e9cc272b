"""``spool submit FILE``: validate a request and put it into incoming atomically."""

from __future__ import annotations

import argparse
from pathlib import Path

from spoold.cli import SpoolCommandError, site_and_spool
from spoold.request import validate_request_file
from spoold.spool import new_request_id


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE``: the request (YAML)."""
    parser.add_argument("file", type=Path, help="the request file (YAML); see 'spool template'")


def run(args: argparse.Namespace) -> int:
    """Validate, write into incoming as ``<id>.yaml`` (tmp + fsync + rename) and print the id."""
    site, spool = site_and_spool(args)
    problems = spool.check_layout()
    if problems:
        raise SpoolCommandError(" ".join(problems))
    errors = validate_request_file(args.file, site)
    if errors:
        raise SpoolCommandError(
            f"{args.file} is not a valid request:\n" + "\n".join(f"  {e}" for e in errors)
            + "\nNothing was submitted."
        )
    data = args.file.read_bytes()
    request_id = new_request_id(args.file.name)
    try:
        spool.drop(data, request_id)
    except PermissionError:
        raise SpoolCommandError(f"You may not write into {spool.dir('incoming')}; ask the spool's administrator.")
    print(request_id)
    return 0
