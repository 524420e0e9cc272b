"""The GADF index files of a folder of DL3 files: ``hdu-index.fits.gz`` and ``obs-index.fits.gz``.

gammapy's ``DataStore.from_dir`` reads them: the HDU index says in which file
and HDU each observation's events, GTI, pointing and IRFs are (``FILE_DIR``
relative to the index), the observation index lists the runs with pointing,
times and dead-time correction. Columns follow lstchain's
``lstchain_create_dl3_index_files``.
"""

from __future__ import annotations

import os
from pathlib import Path

from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from lappana import __version__
from lappana.errors import LappanaError

__all__ = ["HDU_INDEX_NAME", "OBS_INDEX_NAME", "make_index", "irf_hdu_type"]

HDU_INDEX_NAME = "hdu-index.fits.gz"
OBS_INDEX_NAME = "obs-index.fits.gz"

#: GADF HDUCLAS2 of an IRF HDU -> gammapy's HDU_TYPE.
_IRF_TYPES = {"EFF_AREA": "aeff", "EDISP": "edisp", "RAD_MAX": "rad_max", "PSF": "psf", "BKG": "bkg"}
#: Keywords of the EVENTS header copied into the observation index (with units).
_OBS_KEYS = (
    ("OBS_ID", None), ("DATE-OBS", None), ("TIME-OBS", None), ("DATE-END", None), ("TIME-END", None),
    ("RA_PNT", "deg"), ("DEC_PNT", "deg"), ("ZEN_PNT", "deg"), ("ALT_PNT", "deg"), ("AZ_PNT", "deg"),
    ("RA_OBJ", "deg"), ("DEC_OBJ", "deg"), ("TSTART", "s"), ("TSTOP", "s"), ("ONTIME", "s"),
    ("TELAPSE", "s"), ("LIVETIME", "s"), ("DEADC", None), ("OBJECT", None), ("OBS_MODE", None),
    ("N_TELS", None), ("TELLIST", None), ("INSTRUME", None),
)


def irf_hdu_type(header: fits.Header) -> tuple[str, str] | None:
    """Return (HDU_TYPE, HDU_CLASS) of an IRF HDU, or None for HDUs gammapy does not index (GH_CUTS)."""
    hduclas2 = str(header.get("HDUCLAS2", "")).strip().upper()
    hduclas4 = str(header.get("HDUCLAS4", "")).strip().lower()
    if hduclas2 not in _IRF_TYPES or not hduclas4:
        return None
    return _IRF_TYPES[hduclas2], hduclas4


def _describe(path: Path, index_dir: Path) -> tuple[dict, list[dict]]:
    try:
        with fits.open(path) as hdus:
            names = [h.name for h in hdus]
            for required in ("EVENTS", "GTI", "POINTING"):
                if required not in names:
                    raise LappanaError(f"{path} has no {required} HDU; it is not a DL3 file lappana can index.")
            events = hdus["EVENTS"].header
            headers = [(h.name, h.header) for h in hdus[1:]]
    except (OSError, ValueError, EOFError) as exc:
        raise LappanaError(f"{path} cannot be read as FITS ({str(exc).splitlines()[0]}); remove or remake it.") from None
    missing = [k for k, _ in _OBS_KEYS if k not in events and k != "ZEN_PNT"]
    if missing:
        raise LappanaError(f"The EVENTS header of {path} lacks {', '.join(missing)}; remake the file with lappana dl3.")
    obs = {key: events[key] for key, _ in _OBS_KEYS if key != "ZEN_PNT"}
    obs["ZEN_PNT"] = 90.0 - float(events["ALT_PNT"])
    common = {
        "OBS_ID": int(events["OBS_ID"]),
        "FILE_DIR": os.path.relpath(path.parent.resolve(), index_dir.resolve()),
        "FILE_NAME": path.name,
        "SIZE": path.stat().st_size,
    }
    rows = [dict(common, HDU_TYPE=t, HDU_CLASS=t, HDU_NAME=t.upper()) for t in ("events", "gti", "pointing")]
    for name, header in headers:
        kind = irf_hdu_type(header)
        if kind is not None:
            rows.append(dict(common, HDU_TYPE=kind[0], HDU_CLASS=kind[1], HDU_NAME=name))
    return obs, rows


def _index_header(hduclas2: str, instrume: str) -> list[tuple[str, object]]:
    return [
        ("CREATOR", f"lappana v{__version__}"), ("HDUDOC", "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"),
        ("HDUVERS", "0.3"), ("HDUCLASS", "GADF"), ("HDUCLAS1", "INDEX"), ("HDUCLAS2", hduclas2),
        ("ORIGIN", "CTA"), ("TELESCOP", "CTA-N"), ("INSTRUME", instrume), ("CREATED", Time.now().utc.iso),
    ]


def _write(table: Table, name: str, cards: list[tuple[str, object]], path: Path) -> None:
    hdu = fits.table_to_hdu(table)
    hdu.name = name
    for key, value in cards:
        hdu.header[key] = value
    partial = path.with_name(f".{path.name}.partial.fits.gz")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(partial, overwrite=True)
    os.replace(partial, path)


def make_index(dl3_dir: str | Path, pattern: str = "dl3*.fits*") -> tuple[Path, Path]:
    """Write ``hdu-index.fits.gz`` and ``obs-index.fits.gz`` for the DL3 files of a folder.

    Parameters
    ----------
    dl3_dir : str or Path
        The folder; the index files are written into it.
    pattern : str
        Glob pattern of the DL3 files in the folder.

    Returns
    -------
    tuple of Path
        The HDU index and the observation index.

    Raises
    ------
    LappanaError
        When the folder does not exist, holds no DL3 file, or a file is not a readable DL3 file.
    """
    dl3_dir = Path(dl3_dir)
    if not dl3_dir.is_dir():
        raise LappanaError(f"{dl3_dir} is not a folder; give the folder that holds the DL3 files.")
    index_names = {HDU_INDEX_NAME, OBS_INDEX_NAME}
    files = sorted(p for p in dl3_dir.glob(pattern) if p.is_file() and p.name not in index_names)
    if not files:
        raise LappanaError(f"No DL3 file in {dl3_dir} matches {pattern!r}; nothing to index.")
    obs_rows, hdu_rows = [], []
    for path in files:
        obs, rows = _describe(path, dl3_dir)
        obs_rows.append(obs)
        hdu_rows.extend(rows)
    ids = [o["OBS_ID"] for o in obs_rows]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise LappanaError(f"Several DL3 files in {dl3_dir} hold run {duplicates[0]}; keep one file per run.")
    instrume = str(obs_rows[0]["INSTRUME"])
    obs_table = Table(rows=[[o[k] for k, _ in _OBS_KEYS] for o in obs_rows], names=[k for k, _ in _OBS_KEYS])
    for key, unit in _OBS_KEYS:
        if unit:
            obs_table[key].unit = unit
    hdu_names = ["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME", "SIZE"]
    hdu_table = Table(rows=[[r[k] for k in hdu_names] for r in hdu_rows], names=hdu_names)
    hdu_path, obs_path = dl3_dir / HDU_INDEX_NAME, dl3_dir / OBS_INDEX_NAME
    mjd = [("MJDREFI", 58392), ("MJDREFF", 0.0)]
    _write(hdu_table, "HDU INDEX", _index_header("HDU", instrume) + [("BASE_DIR", str(dl3_dir.resolve()))], hdu_path)
    _write(obs_table, "OBS INDEX", _index_header("OBS", instrume) + mjd, obs_path)
    return hdu_path, obs_path
