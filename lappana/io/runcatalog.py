"""The run catalogue of a night, ``RunCatalog_YYYYMMDD.ecsv``, as LSTOSA writes it.

An ECSV table with one row per run: ``run_id, source_name, source_ra, source_dec``
(deg), the columns lstchain and the analysts use to find the runs of a source. The
simulator adds the wobble pointing, the start and stop times and the mean zenith
angle; readers only rely on the first four.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table

from lappana.errors import LappanaError

__all__ = ["RUN_CATALOG_COLUMNS", "write_run_catalog", "read_run_catalog", "runs_of_source"]

#: The columns every run catalogue has.
RUN_CATALOG_COLUMNS = ("run_id", "source_name", "source_ra", "source_dec")


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


def read_run_catalog(path: str | Path) -> Table:
    """Read a run catalogue and check it has the columns lappana uses.

    Raises
    ------
    LappanaError
        When the file is missing, not ECSV, or lacks a needed column.
    """
    path = Path(path)
    if not path.exists():
        raise LappanaError(f"The run catalogue {path} does not exist.")
    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many kinds for bad ECSV
        raise LappanaError(f"{path} is not a readable ECSV run catalogue: {exc}.") from None
    missing = [c for c in RUN_CATALOG_COLUMNS if c not in table.colnames]
    if missing:
        raise LappanaError(f"The run catalogue {path} lacks the column(s) {', '.join(missing)}.")
    return table


def runs_of_source(path: str | Path, source_name: str) -> list[int]:
    """Run numbers of a source (name compared case-insensitively, spaces ignored)."""
    table = read_run_catalog(path)
    key = source_name.replace(" ", "").lower()
    return [
        int(row["run_id"])
        for row in table
        if str(row["source_name"]).replace(" ", "").lower() == key
    ]
