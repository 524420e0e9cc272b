"""``spool init [DIR]``: create a spool's folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from spoold.cli import SpoolCommandError, site_and_spool
from spoold.spool import ALL_DIRS, Spool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``DIR``: the spool root (default: --spool, the site's, or ./spool)."""
    parser.add_argument("dir", nargs="?", type=Path, help="the spool root to create")


def run(args: argparse.Namespace) -> int:
    """Create the folders (idempotent) and say where they are."""
    if args.dir is not None:
        args.spool = args.dir
    site, spool = site_and_spool(args)
    shared = site.shared_account
    try:
        Spool(spool.root).init(group_writable=shared.enabled, group=shared.group)
    except PermissionError as error:
        raise SpoolCommandError(f"Cannot create {error.filename}: permission denied; choose a folder you may write.")
    except KeyError:
        raise SpoolCommandError(f"The group {shared.group!r} of the site's shared_account does not exist.")
    problems = spool.check_layout()
    if problems:
        raise SpoolCommandError(" ".join(problems))
    print(f"spool ready at {spool.root}: {', '.join(ALL_DIRS)}")
    print(f"submit with: spool submit REQUEST.yaml --spool {spool.root}")
    return 0
