"""``lappana index`` (old name ``create_index_LP``): GADF index files for a folder of DL3 files."""

from __future__ import annotations

import argparse

from lappana.commands._flags import add_inputs, inputs



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana index``."""
    add_inputs(parser, "dl3_dir", metavar="DL3_DIR", help="folder of DL3 files; the index files are written into it",
               option=("-d", "--input-dl3-dir"), many=False)
    parser.add_argument("-p", "--pattern", "--file-pattern", dest="pattern", default="dl3*.fits*",
                        help="glob pattern of DL3 files (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true",
                        help="accepted as lstchain's tool takes it: the index files are always written anew")


def run(args: argparse.Namespace) -> int:
    """Write the two index files and print their paths."""
    from lappana.index import make_index

    from lappana.errors import LappanaError

    folders = inputs(args, "dl3_dir", what="DL3 folder", option="-d/--input-dl3-dir")
    if len(folders) > 1:
        raise LappanaError(f"Give one DL3 folder, not {len(folders)}: the index files are written into it.")
    for path in make_index(folders[0], args.pattern):
        print(path)
    return 0
