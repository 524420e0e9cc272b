"""What the long-running programs ``spoold`` and ``spool-mail`` share.

Both take ``--spool``, ``--config``, ``-v`` and ``--version``, log to stderr in the
same format (a supervisor's journal), and report a bad site file as sentences
with exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from spoold import __version__


def add_common_arguments(parser: argparse.ArgumentParser, *, config_help: str) -> None:
    """Add ``--spool``, ``--config``, ``-v/--verbose`` and ``--version`` to ``parser``."""
    parser.add_argument("--spool", type=Path, help="the spool root (default: the site file's, else ./spool)")
    parser.add_argument("--config", type=Path,
                        help=f"{config_help} (without it: $ASTRAN_SITE, else /etc/astran/site.yaml if there)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step")
    parser.add_argument("--version", action="version", version=f"{parser.prog} {__version__}")


def setup_logging(prog: str, verbose: bool) -> None:
    """Log to stderr as ``time prog[pid] LEVEL message``; INFO with ``verbose``, else WARNING."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format=f"%(asctime)s {prog}[%(process)d] %(levelname)s %(message)s",
    )


def load_site_or_say(prog: str, args: argparse.Namespace):
    """Return the site of ``args.config`` / ``args.spool``, or None after printing why not.

    Returns
    -------
    spoold.site.Site or None
        None when the site file is invalid; its sentences went to stderr.
    """
    from spoold.site import SiteError, find_site_file, load_site

    try:
        return load_site(find_site_file(args.config), spool_root=args.spool)
    except SiteError as error:
        for sentence in error.errors:
            print(f"{prog}: {sentence}", file=sys.stderr)
        return None
