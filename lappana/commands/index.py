"""``lappana index`` (old name ``create_index_LP``): GADF index files for a folder of DL3 files."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write hdu-index and obs-index for a folder of DL3 files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana index``."""
    parser.add_argument("dl3_dir", type=Path, metavar="DL3_DIR", help="folder of DL3 files")
    parser.add_argument("--pattern", default="dl3*.fits*", help="glob pattern of DL3 files (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Write the two index files and print their paths."""
    from lappana.index import make_index

    for path in make_index(args.dl3_dir, args.pattern):
        print(path)
    return 0
