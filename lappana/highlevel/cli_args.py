"""Options shared by ``lappana theta2|skymap|diagnostics|report``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lappana.commands._flags import add_source
from lappana.errors import LappanaError


def add_common(parser: argparse.ArgumentParser, output_help: str) -> None:
    """DL3_DIR, -o OUT, the source and the event selection."""
    parser.add_argument("dl3_dir", type=Path, metavar="DL3_DIR", help="indexed DL3 folder (hdu-index.fits.gz)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help=output_help)
    add_source(parser, default_help="OBJECT, RA_OBJ and DEC_OBJ of the DL3 files")
    parser.add_argument("--n-off", type=int, default=3, help="OFF regions per run (default: %(default)s)")
    parser.add_argument("--emin", type=float, help="lowest reconstructed energy, TeV")
    parser.add_argument("--emax", type=float, help="highest reconstructed energy, TeV")


def energy_range(args: argparse.Namespace) -> tuple[float, float] | None:
    """``(emin, emax)`` in TeV, or None when neither is given."""
    if args.emin is None and args.emax is None:
        return None
    lo = 0.0 if args.emin is None else args.emin
    hi = 1e4 if args.emax is None else args.emax
    if not 0 <= lo < hi:
        raise LappanaError(f"--emin {lo} must be below --emax {hi}, both in TeV and not negative.")
    return lo, hi


def source(args: argparse.Namespace) -> dict:
    """The source from the options, filling gaps from the first DL3 file's OBJECT/RA_OBJ/DEC_OBJ."""
    name, ra, dec = args.source_name, args.source_ra, args.source_dec
    if name is None or ra is None or dec is None:
        from lappana.highlevel.dl3files import read_dl3_folder

        header = read_dl3_folder(args.dl3_dir)[0].header
        name = name if name is not None else str(header.get("OBJECT", "source"))
        ra = ra if ra is not None else header.get("RA_OBJ")
        dec = dec if dec is not None else header.get("DEC_OBJ")
        if ra is None or dec is None:
            raise LappanaError("The DL3 files do not say where the source is (no RA_OBJ/DEC_OBJ): give --source-ra and --source-dec.")
    if not (0 <= float(ra) <= 360 and -90 <= float(dec) <= 90):
        raise LappanaError(f"RA {ra} / Dec {dec} is not a sky position: give degrees, RA 0–360 and Dec −90–90.")
    return {"source_name": name, "source_ra_deg": float(ra), "source_dec_deg": float(dec)}
