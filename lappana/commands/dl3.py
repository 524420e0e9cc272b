"""``lappana dl3`` (old name ``create_dl3_LP``): DL2 → DL3 natively, one file per run."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "DL2 to DL3 (GADF) natively, with the gammaness cut of the IRF"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lappana dl3``."""
    from lappana.dl3.irf import DEFAULT_IRF_PATTERN

    parser.add_argument("dl2", nargs="+", type=Path, metavar="DL2", help="DL2 file(s), dl2_LST-1.RunNNNNN.h5")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the DL3 files")
    parser.add_argument("--irf", type=Path, required=True,
                        help="an IRF file, or a folder of IRF files (the nearest pointing node is used)")
    parser.add_argument("--irf-pattern", default=DEFAULT_IRF_PATTERN,
                        help="glob pattern of IRF files in an IRF folder (default: %(default)s)")
    parser.add_argument("--source-name", required=True, help="the target's name (OBJECT)")
    parser.add_argument("--source-ra", type=float, required=True, metavar="DEG", help="the target's RA (ICRS, deg)")
    parser.add_argument("--source-dec", type=float, required=True, metavar="DEG", help="the target's Dec (ICRS, deg)")
    parser.add_argument("--chunk-rows", type=int, default=None, help="DL2 rows read at a time (bounds memory)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes reading parts of the run at once (default: 2 on 2+ cores for long runs)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing DL3 files")


def run(args: argparse.Namespace) -> int:
    """Make the DL3 file of every DL2 file given, and say where each went."""
    from lappana.dl3.make import DEFAULT_CHUNK_ROWS, make_dl3
    from lappana.errors import LappanaError

    chunk_rows = args.chunk_rows or DEFAULT_CHUNK_ROWS
    if chunk_rows < 1:
        raise LappanaError("--chunk-rows must be at least 1.")
    if args.workers is not None and args.workers < 1:
        raise LappanaError("--workers must be at least 1.")
    for dl2 in args.dl2:
        if not dl2.is_file():
            raise LappanaError(f"The DL2 file {dl2} does not exist.")
        path = make_dl3(dl2, args.irf, args.output, source_name=args.source_name,
                        source_ra_deg=args.source_ra, source_dec_deg=args.source_dec,
                        irf_pattern=args.irf_pattern, chunk_rows=chunk_rows, overwrite=args.overwrite,
                        workers=args.workers)
        print(path)
    return 0
