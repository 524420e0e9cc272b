"""DL1 → DL2 of a long run in subruns, so that ``lstchain_dl1_to_dl2``'s memory stays bounded.

``lstchain_dl1_to_dl2`` reads the whole DL1 parameter table of its input into memory
and keeps several copies of it while it applies the random forests: about 1.6 kB per
event, 6.5 GB for an 8-minute run at LST-1's cosmic-ray rate (4 M events) and three
times that for a 20-minute run. LST-1's own DL1 comes in subruns
(``dl1_LST-1.Run06268.0000.h5``, ...) for this reason, and lstosa applies the models
per subrun. lappana does the same with a merged run: :func:`run_in_subruns` cuts a DL1
file of more than ``max_events`` events into subrun files of at most that many (every
other node copied as it is, the parameter rows uncompressed, since each exists only
while lstchain reads it), has the caller run lstchain on each, and appends the DL2
rows of the later subruns to the first subrun's DL2 file, chunk by chunk. That file
keeps every node lstchain wrote for the first subrun (configuration, instrument,
provenance): the same tool, models and configuration made all of them. lstchain sets the
``delta_t`` of a file's first event to 0; the first event of each later subrun gets back the
time since the event before it, so the merged DL2 equals the DL2 made in one go.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import tables

from lappana.constants import DL1_PARAMS_KEY, DL2_PARAMS_KEY
from lappana.errors import LappanaError

__all__ = ["MAX_EVENTS_PER_SUBRUN", "count_dl1_events", "run_in_subruns", "subrun_dl1_name", "write_subrun_dl1"]

#: Events per lstchain_dl1_to_dl2 call: about 2.5 GB of lstchain's memory.
MAX_EVENTS_PER_SUBRUN = 1_500_000
#: Rows copied at a time between files.
_COPY_ROWS = 200_000
_UNCOMPRESSED = tables.Filters(complevel=0)


def count_dl1_events(dl1_path: Path) -> int:
    """Rows of the DL1 parameter table of ``dl1_path``."""
    with tables.open_file(str(dl1_path)) as h5:
        return int(h5.get_node(DL1_PARAMS_KEY).nrows)


def subrun_dl1_name(dl1_path: Path, subrun: int) -> str:
    """LST-1's name of a subrun's DL1 file: ``dl1_LST-1.Run15864.h5`` → ``dl1_LST-1.Run15864.0003.h5``."""
    name = Path(dl1_path).name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{subrun:04d}{dot}{suffix}"


def _copy_rows(source: tables.Table, target: tables.Table, start: int, stop: int) -> None:
    for first in range(start, stop, _COPY_ROWS):
        target.append(source.read(first, min(first + _COPY_ROWS, stop)))


def write_subrun_dl1(dl1_path: Path, target: Path, start: int, stop: int, *, compressed: bool = False) -> None:
    """Write rows ``[start, stop)`` of ``dl1_path``'s parameter table and all its other nodes to ``target``.

    The parameter rows are written uncompressed (a file lstchain reads once), or with the run file's own
    filters when ``compressed`` (a subrun file to keep, as the onsite pipeline's).
    """
    with tables.open_file(str(dl1_path)) as src, tables.open_file(str(target), "w") as dst:
        src.root._v_attrs._f_copy(dst.root)
        for group in src.walk_groups("/"):
            where = group._v_pathname
            if where != "/":
                copy = dst.create_group(group._v_parent._v_pathname, group._v_name)
                group._v_attrs._f_copy(copy)
            for leaf in group._f_iter_nodes(classname="Leaf"):
                if leaf._v_pathname != DL1_PARAMS_KEY:
                    leaf.copy(dst.get_node(where), leaf.name)
                    continue
                table = dst.create_table(where, leaf.name, description=leaf.description,
                                         filters=leaf.filters if compressed else _UNCOMPRESSED,
                                         expectedrows=stop - start)
                leaf.attrs._f_copy(table)
                _copy_rows(leaf, table, start, stop)


def _append_dl2(target: Path, piece: Path) -> None:
    """Append the DL2 rows of ``piece`` to ``target``'s; the first row gets back its ``delta_t``.

    lstchain_dl1_to_dl2 makes ``delta_t`` the difference of consecutive ``dragon_time`` in
    its input, 0 for the first event of a file; in the whole run it is the time since the
    last event of the subrun before.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lstchain's provenance node: variable-length strings
        with tables.open_file(str(piece)) as src, tables.open_file(str(target), "a") as dst:
            source, into = src.get_node(DL2_PARAMS_KEY), dst.get_node(DL2_PARAMS_KEY)
            if source.dtype != into.dtype:
                raise LappanaError(f"lstchain_dl1_to_dl2 wrote DL2 tables of different columns for the subruns "
                                   f"{target.name} and {piece.name}; they cannot be merged.")
            first_row = into.nrows
            _copy_rows(source, into, 0, source.nrows)
            if source.nrows and first_row and {"delta_t", "dragon_time"} <= set(into.colnames):
                times = into.read(first_row - 1, first_row + 1, field="dragon_time")
                into.modify_column(first_row, first_row + 1, column=[times[1] - times[0]], colname="delta_t")


def run_in_subruns(dl1_path: Path, staging: Path, final_dl2: Path, run_one: Callable[[Path, Path], float], *,
                   n_events: int, max_events: int = MAX_EVENTS_PER_SUBRUN,
                   dl2_name: Callable[[Path], str]) -> float:
    """DL2 of ``dl1_path`` at ``final_dl2``, made subrun by subrun; return lstchain's seconds.

    Parameters
    ----------
    dl1_path : Path
        The run's DL1 file, with ``n_events`` rows in its parameter table.
    staging : Path
        A folder of the caller's; the subruns' files live in ``staging/subruns`` and are removed.
    final_dl2 : Path
        Where the run's DL2 file goes (inside ``staging``).
    run_one : callable
        ``run_one(dl1_subrun, output_dir)`` runs lstchain_dl1_to_dl2 on one subrun and
        returns the seconds it took.
    max_events : int
        Most events in a subrun; the run is cut into the fewest subruns of equal size.
    dl2_name : callable
        The DL2 file name lstchain writes for a DL1 file.
    """
    if max_events < 1:
        raise LappanaError(f"A subrun must hold at least one event, not {max_events}.")
    work = staging / "subruns"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    seconds = 0.0
    n_subruns = -(-n_events // max_events)
    size = -(-n_events // n_subruns)  # subruns of equal size, none above max_events
    try:
        for subrun, start in enumerate(range(0, n_events, size)):
            piece = work / subrun_dl1_name(dl1_path, subrun)
            stop = min(start + size, n_events)
            write_subrun_dl1(dl1_path, piece, start, stop)
            seconds += run_one(piece, work)
            piece.unlink()
            dl2 = work / dl2_name(piece)
            if not dl2.is_file():
                raise LappanaError(f"lstchain_dl1_to_dl2 wrote no {dl2.name} for subrun {subrun} of {dl1_path.name}.")
            if subrun == 0:
                dl2.replace(final_dl2)
                provenance = dl2.with_suffix(".provenance.log")
                if provenance.is_file():
                    provenance.replace(final_dl2.with_suffix(".provenance.log"))
            else:
                _append_dl2(final_dl2, dl2)
                dl2.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return seconds
