"""Is a DL1 file that LSTOSA is writing complete yet?

A DL1 file appears on the cluster disk while it is being written (or copied),
so being there is not being ready. :func:`dl1_not_ready` says why a DL1 file
cannot be used yet, in a short phrase, or ``None`` when it can:

- it does not exist, or is empty;
- it is still growing: modified less than ``settle_seconds`` ago (only the
  modification time counts: a copy that kept the original's time, ``cp -p`` or
  rsync, of a complete file is complete);
- it cannot be opened as HDF5 (truncated, not HDF5, or locked by its writer);
- it lacks the parameter table that ``lstchain_dl1_to_dl2`` reads
  (:data:`lappana.constants.DL1_PARAMS_KEY`).

A settled file is opened only after the look at its times, so that a reader
never holds HDF5's lock on a file its writer is still working on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


__all__ = ["ABSENT", "EMPTY", "SETTLING", "dl1_not_ready"]

#: The phrase for a file that is not there (yet).
ABSENT = "does not exist yet"
#: The phrase for a file that is there with no byte in it.
EMPTY = "is empty (0 bytes): it is not written yet"
#: The start of the phrase for a file modified within the settle time.
SETTLING = "is still being written"


def _changing(path: Path, settle_seconds: float, now: float) -> str | None:
    """The phrase for a file modified within ``settle_seconds`` of ``now`` (None when settled)."""
    stat = path.stat()
    if stat.st_size == 0:
        return EMPTY
    if now - stat.st_mtime < settle_seconds:
        return f"{SETTLING}: it changed less than {settle_seconds:g} s ago"
    return None


def _unreadable(path: Path, table_key: str | None) -> str | None:
    """The phrase for a settled file that cannot be opened or lacks ``table_key`` (None when fine).

    PyTables (and astropy, through lappana.constants) are imported here, not with the
    module: spoold imports this module, and its start (up to watching incoming) should
    not wait for them.
    """
    import tables

    from lappana.constants import DL1_PARAMS_KEY
    from lappana.errors import LappanaError
    from lappana.io.hdf5 import get_table, open_table_file

    table_key = table_key or DL1_PARAMS_KEY
    try:
        with open_table_file(path) as h5:
            table = get_table(h5, table_key)
            if table.nrows:
                table.read(table.nrows - 1, table.nrows)  # its last chunk is in the file
    except LappanaError as error:
        text = str(error)
        return text[len(str(path)):].strip().rstrip(".") if text.startswith(str(path)) else text.rstrip(".")
    except (tables.HDF5ExtError, OSError, ValueError) as error:
        return f"cannot be read: {str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}"
    return None


def dl1_not_ready(path: str | os.PathLike, *, settle_seconds: float, now: float | None = None,
                  table_key: str | None = None) -> str | None:
    """Say why the DL1 file ``path`` cannot be used yet, or return None when it can.

    Parameters
    ----------
    path : str or path-like
        The DL1 file.
    settle_seconds : float
        How long the file must have been left unchanged before it counts as written.
    now : float, optional
        The current time (``time.time()`` when omitted).
    table_key : str, optional
        The table the file must hold (:data:`lappana.constants.DL1_PARAMS_KEY` by default).

    Returns
    -------
    str or None
        A phrase that follows the file's name ("is still being written: ...",
        "is an HDF5 file that cannot be opened ...", "has no table ..."),
        or None when the file is complete.
    """
    path = Path(path)
    now = time.time() if now is None else now
    try:
        if not path.is_file():
            return ABSENT if not path.exists() else "is not a file"
        return _changing(path, settle_seconds, now) or _unreadable(path, table_key)
    except FileNotFoundError:
        return ABSENT
    except OSError as error:
        return f"cannot be looked at: {error.strerror or error}"
