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
    parser.add_argument("--emin", type=float,
                        help="lowest reconstructed energy, TeV (default: the IRFs' safe threshold, where the "
                             "effective area reaches 10 %% of its maximum)")
    parser.add_argument("--emax", type=float, help="highest reconstructed energy, TeV (default: none)")


def energy_range(args: argparse.Namespace) -> tuple[float | None, float | None] | None:
    """``(emin, emax)`` in TeV, an end None when not given, or None when neither is given."""
    if args.emin is None and args.emax is None:
        return None
    lo, hi = args.emin, args.emax
    if (lo is not None and lo < 0) or (hi is not None and hi <= 0) or (None not in (lo, hi) and lo >= hi):
        raise LappanaError(f"--emin {lo} must be below --emax {hi}, both in TeV and not negative.")
    return lo, hi


def band(args: argparse.Namespace, src: dict):
    """The DL3 runs and the energy band of the options: an end not given from the IRFs' safe threshold, or none.

    Returns
    -------
    (list of Dl3Run, lappana.highlevel.threshold.EnergyBand)
    """
    from lappana.highlevel.dl3files import read_dl3_folder
    from lappana.highlevel.threshold import energy_band

    runs = read_dl3_folder(args.dl3_dir)
    return runs, energy_band(runs, src["source_ra_deg"], src["source_dec_deg"], energy_range(args))


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
