"""The run catalogue of a night, ``RunCatalog_YYYYMMDD.ecsv``, as LSTOSA writes it: the one reader.

An ECSV table with one row per run: ``run_id, source_name, source_ra, source_dec``
(deg), the columns lstchain and the analysts use to find the runs of a source. The
simulator adds the wobble pointing, the start and stop times and the mean zenith
angle; readers only rely on the first four, and of those only ``run_id`` must be
there (a catalogue without source columns still lists runs that a request names).
``n_subruns``, as LST-1's run summary names it, says how many subrun files a run's
DL1 comes in where the site keeps them (``data.dl1_subrun_pattern``); the simulator
writes it when it writes subrun files.
lappana writes and reads catalogues here; spoold's request checks and its resolve
step read them through this module too.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lappana.errors import LappanaError
from lappana.sky import angular_separation_deg, normalize_source_name

__all__ = ["RUN_CATALOG_COLUMNS", "CatalogRun", "RunCatalogError", "RunCatalogMissing", "write_run_catalog",
           "read_run_catalog", "runs_of_source"]

#: The columns every run catalogue has.
RUN_CATALOG_COLUMNS = ("run_id", "source_name", "source_ra", "source_dec")


class RunCatalogError(LappanaError):
    """A run catalogue that cannot be read; the message is a sentence."""


class RunCatalogMissing(RunCatalogError, FileNotFoundError):
    """The night has no run catalogue (yet): also a :class:`FileNotFoundError`."""


@dataclass(frozen=True)
class CatalogRun:
    """One row of a run catalogue (``source_ra``/``source_dec`` in degrees, NaN when not listed)."""

    run_id: int
    source_name: str
    source_ra: float
    source_dec: float
    n_subruns: int | None = None


def write_run_catalog(path: str | Path, rows: Sequence[dict]) -> Path:
    """Write a run catalogue.

    Parameters
    ----------
    path : str or Path
        The ``.ecsv`` file.
    rows : sequence of dict
        One dict per run with at least :data:`RUN_CATALOG_COLUMNS`; ``source_ra``
        and ``source_dec`` in degrees. Other keys become further columns.
    """
    import numpy as np
    from astropy.table import Table

    path = Path(path)
    if not rows:
        table = Table(names=RUN_CATALOG_COLUMNS, dtype=(np.int64, str, np.float64, np.float64))
    else:
        for row in rows:
            missing = [c for c in RUN_CATALOG_COLUMNS if c not in row]
            if missing:
                raise ValueError(f"Run catalogue row lacks {', '.join(missing)}.")
        names = list(RUN_CATALOG_COLUMNS) + [k for k in rows[0] if k not in RUN_CATALOG_COLUMNS]
        table = Table(rows=[[row[n] for n in names] for row in rows], names=names)
    table["source_ra"].unit = "deg"
    table["source_dec"].unit = "deg"
    for name in table.colnames:
        if name.endswith(("_ra", "_dec", "zenith", "_alt", "_az")) or name in ("wobble_angle",):
            table[name].unit = "deg"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.write(path, format="ascii.ecsv", overwrite=True)
    return path


def read_run_catalog(path: str | Path) -> list[CatalogRun]:
    """Read the runs of a run catalogue.

    A catalogue is read once while it is unchanged (same size and modification
    time): a burst of requests for one night costs one read.

    Raises
    ------
    RunCatalogMissing
        When the file does not exist (a :class:`FileNotFoundError`: tonight's may still come).
    RunCatalogError
        When it cannot be read, is not ECSV or lacks ``run_id``.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise RunCatalogMissing(f"The run catalogue {path} does not exist.") from None
    except OSError as exc:
        raise RunCatalogError(f"The run catalogue {path} cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(st.st_mode):
        raise RunCatalogMissing(f"The run catalogue {path} is not a file.")
    return list(_read_cached(str(path), st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=64)
def _read_cached(path_text: str, mtime_ns: int, size: int) -> tuple[CatalogRun, ...]:
    return tuple(_read(Path(path_text)))


def _read(path: Path) -> list[CatalogRun]:
    from astropy.table import Table  # astropy is slow to import: only when a catalogue is read

    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many kinds for a broken file
        raise RunCatalogError(f"The run catalogue {path} cannot be read ({exc}).") from None
    if "run_id" not in table.colnames:
        raise RunCatalogError(f"The run catalogue {path} has no run_id column.")

    def column(name: str, default):
        if name not in table.colnames:
            return [default] * len(table)
        values = table[name]
        masked = getattr(values, "mask", None)
        return [default if masked is not None and bool(masked[i]) else value for i, value in enumerate(values)]

    return [
        CatalogRun(int(run), str(name), float(ra), float(dec), _subruns(path, int(run), subruns))
        for run, name, ra, dec, subruns in zip(
            column("run_id", 0), column("source_name", ""),
            column("source_ra", math.nan), column("source_dec", math.nan), column("n_subruns", None),
        )
    ]


def _subruns(path: Path, run: int, value) -> int | None:
    """A run's ``n_subruns``: a whole number of at least 1, or None when the catalogue does not say."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not number.is_integer() or number < 1:
        raise RunCatalogError(f"The run catalogue {path} gives run {run} n_subruns {value!r}: it must be a whole "
                              "number of at least 1.")
    return int(number)


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
        The night's runs (:func:`read_run_catalog`).
    names : sequence of str
        The source's name and aliases (compared by :func:`lappana.sky.normalize_source_name`).
    ra_deg, dec_deg : float, optional
        The source's coordinates in degrees; runs whose source position is within
        ``radius_deg`` match too (catalogues spell names differently).
    radius_deg : float
        How close a run's source must be to match by position (deg).
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
