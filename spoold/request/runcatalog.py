"""Read a night's run catalogue (``RunCatalog_YYYYMMDD.ecsv``) and pick a source's runs."""

from __future__ import annotations

import math
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from spoold.sources import angular_separation_deg, normalize_source_name

__all__ = ["CatalogRun", "RunCatalogError", "read_run_catalog", "runs_of_source"]


class RunCatalogError(Exception):
    """A run catalogue that cannot be read; the message is a sentence."""


@dataclass(frozen=True)
class CatalogRun:
    """One row of a run catalogue."""

    run_id: int
    source_name: str
    source_ra: float
    source_dec: float


def read_run_catalog(path: Path) -> list[CatalogRun]:
    """Read the runs of a run catalogue (astropy ECSV with run_id, source_name, source_ra, source_dec).

    A catalogue is read once while it is unchanged (same size and mtime): a
    burst of requests for one night costs one read.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    RunCatalogError
        When it cannot be read or lacks ``run_id``.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise RunCatalogError(f"The run catalogue {path} cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileNotFoundError(path)
    return list(_read_cached(str(path), st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=64)
def _read_cached(path_text: str, mtime_ns: int, size: int) -> tuple[CatalogRun, ...]:
    return tuple(_read(Path(path_text)))


def _read(path: Path) -> list[CatalogRun]:
    from astropy.table import Table  # astropy is slow to import: only when needed

    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many kinds for a broken file
        raise RunCatalogError(f"The run catalogue {path} cannot be read ({exc}).") from None
    if "run_id" not in table.colnames:
        raise RunCatalogError(f"The run catalogue {path} has no run_id column.")

    def column(name: str, default):
        return list(table[name]) if name in table.colnames else [default] * len(table)

    return [
        CatalogRun(int(run), str(name), float(ra), float(dec))
        for run, name, ra, dec in zip(
            column("run_id", 0), column("source_name", ""),
            column("source_ra", math.nan), column("source_dec", math.nan),
        )
    ]


def runs_of_source(
    entries: Iterable[CatalogRun],
    *,
    names: Sequence[str],
    ra_deg: float | None = None,
    dec_deg: float | None = None,
    radius_deg: float = 0.5,
) -> list[int]:
    """Return the run numbers of a source: same name (or alias), or pointing within ``radius_deg``.

    Parameters
    ----------
    entries : iterable of CatalogRun
        The night's runs.
    names : sequence of str
        The source's name and aliases (compared without case and spaces).
    ra_deg, dec_deg : float, optional
        The source's coordinates in degrees; runs whose source position is within
        ``radius_deg`` match too (catalogues spell names differently).
    """
    keys = {normalize_source_name(n) for n in names}
    out = []
    for entry in entries:
        same_name = normalize_source_name(entry.source_name) in keys
        near = (
            ra_deg is not None and dec_deg is not None
            and math.isfinite(entry.source_ra) and math.isfinite(entry.source_dec)
            and angular_separation_deg(ra_deg, dec_deg, entry.source_ra, entry.source_dec) <= radius_deg
        )
        if same_name or near:
            out.append(entry.run_id)
    return sorted(set(out))
