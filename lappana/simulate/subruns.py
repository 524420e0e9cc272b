"""A simulated run's DL1 also in subrun files, as LST-1's onsite pipeline keeps them.

LST-1's camera data come in subruns of a fixed size, and LSTOSA makes one DL1 file per
subrun (``dl1_LST-1.Run15864.0000.h5``, ``.0001.h5``, ...) besides the run's merged file
(``dl1_LST-1.Run15864.h5``); the night's run summary says how many subruns each run has
(``n_subruns``). :func:`write_subrun_files` cuts a simulated run's DL1 file into subrun files
of ``subrun_events`` events each (the last holds the rest), in time order, every other node
copied as it is and the parameter rows with the run file's own compression. Each file grows
under a ``.part`` name and gets its real name once complete.
"""

from __future__ import annotations

from pathlib import Path

from lappana.dl2_subruns import count_dl1_events, subrun_dl1_name, write_subrun_dl1
from lappana.errors import LappanaError

__all__ = ["LST1_SUBRUN_EVENTS", "subrun_count", "write_subrun_files"]

#: Events in one of LST-1's DL1 subrun files, about (a subrun is a fixed amount of camera data).
LST1_SUBRUN_EVENTS = 53_000


def subrun_count(n_events: int, subrun_events: int) -> int:
    """How many subruns of ``subrun_events`` events hold ``n_events`` (at least one)."""
    if subrun_events < 1:
        raise LappanaError(f"A subrun must hold at least one event (--subrun-events), not {subrun_events}.")
    return max(1, -(-int(n_events) // int(subrun_events)))


def write_subrun_files(dl1_path: str | Path, subrun_events: int) -> list[Path]:
    """Write ``dl1_path``'s subrun files beside it; return them in subrun order.

    Parameters
    ----------
    dl1_path : str or Path
        A run's DL1 file (``dl1_LST-1.RunNNNNN.h5``).
    subrun_events : int
        Events per subrun file (the last one holds what is left).
    """
    dl1_path = Path(dl1_path)
    n_events = count_dl1_events(dl1_path)
    files = []
    for subrun in range(subrun_count(n_events, subrun_events)):
        target = dl1_path.with_name(subrun_dl1_name(dl1_path, subrun))
        part = target.with_name(target.name + ".part")
        start = subrun * subrun_events
        try:
            write_subrun_dl1(dl1_path, part, start, min(start + subrun_events, n_events), compressed=True)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        part.replace(target)
        files.append(target)
    return files
