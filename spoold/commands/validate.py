"""``spool validate FILE``: say exactly what the daemon would say about a request."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spoold.request import validate_request_file
from spoold.site import SiteError, find_site_file, load_site

__all__ = ["HELP", "add_arguments", "run"]

HELP = "check a request file and print the daemon's answer (exit 0 valid, 1 invalid)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the FILE argument (one or more request files)."""
    parser.add_argument("files", metavar="FILE", nargs="+", type=Path, help="request file(s) to check")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def run(args: argparse.Namespace) -> int:
    """Print the sentences about each file; 0 when every file is valid, 1 when one is not a valid
    request, 2 when one is missing or not a file, or the site file is bad."""
    try:
        site = load_site(find_site_file(getattr(args, "config", None)), spool_root=getattr(args, "spool", None))
    except SiteError as exc:
        print(exc, file=sys.stderr)
        return 2
    status = 0
    several = len(args.files) > 1
    for path in args.files:
        if not path.is_file():  # not a request at all: a usage error, not an invalid request
            what = "a folder, not a request file" if path.is_dir() else "not there"
            print(f"{path}: {path} is {what}; give the path of a YAML request file.")
            status = 2
            continue
        errors = validate_request_file(path, site)
        prefix = f"{path}: " if several else ""
        if errors:
            status = max(status, 1)
            for sentence in errors:
                print(f"{prefix}{sentence}")
        elif not args.quiet:
            print(f"{prefix}valid: the daemon would accept {path.name}." if several
                  else f"{path} is a valid request.")
    return status
