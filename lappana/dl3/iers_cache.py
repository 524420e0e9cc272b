"""astropy's bundled IERS-B table, parsed once per installation instead of once per process.

astropy parses the IERS-B text file (~24,000 fixed-width lines) in ~0.3 s every time
a process first transforms coordinates; a DL3 job spends more on that than on
transforming its events. :func:`load_iers_b` keeps the parsed columns in a ``.npz``
file (no pickle) under the user's cache folder, keyed by the source file's path,
size and modification time and by the astropy version, and rebuilds the same
:class:`~astropy.utils.iers.IERS_B` table from it in ~20 ms. When the cache cannot
be read or written it falls back to astropy's own reader.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

import astropy
import astropy.units as u
from astropy.utils import iers

__all__ = ["load_iers_b", "cache_folder"]


def cache_folder() -> Path:
    """Where lappana keeps derived files: ``$XDG_CACHE_HOME/astran`` (default ``~/.cache/astran``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "astran"


def load_iers_b() -> iers.IERS_B:
    """astropy's bundled IERS-B table, from the cache when it is there and current."""
    source = Path(iers.IERS_B_FILE)
    try:
        stat = source.stat()
    except OSError:
        return iers.IERS_B.open()
    key = hashlib.sha256(f"{source}|{stat.st_size}|{stat.st_mtime_ns}|{astropy.__version__}".encode()).hexdigest()
    try:
        cached = cache_folder() / f"iers-b-{key[:16]}.npz"
    except (RuntimeError, KeyError):  # no home folder to be found
        return iers.IERS_B.open(str(source))
    table = _read(cached)
    if table is None:
        table = iers.IERS_B.open(str(source))
        _write(cached, table)
    return table


def _read(path: Path) -> iers.IERS_B | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            units = json.loads(str(stored["__units__"]))
            meta = json.loads(str(stored["__meta__"]))
            columns = {name: (stored[name] * u.Unit(unit) if unit else stored[name]) for name, unit in units.items()}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    table = iers.IERS_B(columns)
    table.meta.update(meta)
    return table


def _write(path: Path, table: iers.IERS_B) -> None:
    units = {name: (str(table[name].unit) if getattr(table[name], "unit", None) is not None else None)
             for name in table.colnames}
    arrays = {name: np.asarray(getattr(table[name], "value", table[name])) for name in table.colnames}
    meta = {k: str(v) for k, v in table.meta.items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".iers-", suffix=".npz", delete=False) as handle:
            np.savez(handle, __units__=json.dumps(units), __meta__=json.dumps(meta), **arrays)
        os.replace(handle.name, path)
    except OSError:
        try:
            os.unlink(handle.name)
        except (OSError, UnboundLocalError):
            pass
