"""A run's DL2 as one stream of rows: its run file, or its subrun files in subrun order.

Where the site keeps LST-1's per-subrun DL1 (``dl1_LST-1.Run16000.0000.h5``, ``.0001.h5``, …),
``lstchain_dl1_to_dl2`` makes one DL2 file per subrun (``dl2_LST-1.Run16000.0000.h5``, …), each
with the same columns and with the ``delta_t`` of its first event set to 0. :class:`RunFiles`
reads them back to back as the run's one table: global row numbers over the concatenation, chunks
of the same rows as the merged run file would give (a chunk may span two files), and the first
row of each later subrun with its ``delta_t`` given back — the time since the last event of the
subrun before, as :func:`lappana.dl2_subruns._append_dl2` writes it into a merged file. So the DL3
made from the subruns is the DL3 of the merged run, to the bit. :func:`group_runs` sorts a list
of DL2 files into runs and refuses, in a sentence, an incomplete or mixed set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lappana.constants import DL2_PARAMS_KEY
from lappana.errors import LappanaError
from lappana.io.dl2 import DL2_REQUIRED_COLUMNS
from lappana.io.hdf5 import get_table, iter_table_chunks, open_table_file, read_row_ranges
from lappana.paths import parse_run_id, parse_subrun

__all__ = ["RunFiles", "group_runs"]


def _parse(path: Path) -> tuple[int, int | None]:
    try:
        return parse_run_id(path), parse_subrun(path)
    except ValueError as exc:
        raise LappanaError(str(exc)) from None


def group_runs(paths: Iterable[str | Path]) -> list[list[Path]]:
    """Group DL2 files by run: each run's file alone, a run's subrun files together in subrun order.

    Runs come in the order of their first file given.

    Raises
    ------
    LappanaError
        When a run is given both as its run file and as subrun files, when a subrun is given twice,
        or when a subrun is missing (subruns count from 0000 without a gap).
    """
    runs: dict[int, list[tuple[int | None, Path]]] = {}
    for path in map(Path, paths):
        run, subrun = _parse(path)
        runs.setdefault(run, []).append((subrun, path))
    groups: list[list[Path]] = []
    for run, files in runs.items():
        merged = [p for s, p in files if s is None]
        subruns = sorted((s, p) for s, p in files if s is not None)
        if merged and subruns:
            raise LappanaError(
                f"Run {run} was given both as its run file {merged[0].name} and as {len(subruns)} subrun "
                f"file(s) ({subruns[0][1].name}, …): give one or the other, not both.")
        if merged:
            groups.extend([p] for p in merged)
            continue
        _check_sequence(run, subruns)
        groups.append([p for _, p in subruns])
    return groups


def _check_sequence(run: int, subruns: list[tuple[int, Path]]) -> None:
    """Subruns 0, 1, …, n-1, each once."""
    for (a, path_a), (b, path_b) in zip(subruns, subruns[1:]):
        if a == b:
            raise LappanaError(f"Subrun {a:04d} of run {run} was given twice: {path_a} and {path_b}.")
    numbers = [s for s, _ in subruns]
    missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
    if missing:
        names = ", ".join(f"{s:04d}" for s in missing)
        given = ", ".join(f"{s:04d}" for s in numbers)
        raise LappanaError(
            f"Subrun{'s' if len(missing) > 1 else ''} {names} of run {run} "
            f"{'are' if len(missing) > 1 else 'is'} missing: the DL2 files given are of subruns {given}. "
            f"A run's DL3 needs the DL2 of every subrun, from 0000 on.")


@dataclass(frozen=True)
class RunFiles:
    """The DL2 files of one run, read as one table (one file, or its subruns in order).

    Build it with :meth:`open`, which checks that the files are one run's.
    """

    run_id: int
    paths: tuple[Path, ...]
    rows: tuple[int, ...]
    #: ``dragon_time`` of each file's last row (NaN for an empty file).
    last_times: tuple[float, ...]

    @classmethod
    def open(cls, paths: str | Path | Sequence[str | Path]) -> "RunFiles":
        """The run's files, in subrun order; every file is checked for the columns DL3 needs.

        Raises
        ------
        LappanaError
            For files of several runs, an incomplete or mixed set of subruns, a missing column,
            files with different columns or of different ``obs_id``, a file that cannot be read.
        """
        given = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
        if not given:
            raise LappanaError("Give the DL2 file of the run, or the DL2 files of its subruns.")
        groups = group_runs(given)
        if len(groups) > 1:
            runs = ", ".join(str(_parse(g[0])[0]) for g in groups)
            raise LappanaError(f"A DL3 file is made for one run, and these DL2 files are of {len(groups)} runs "
                               f"({runs}); make the runs one at a time (lappana.dl3.group_runs groups them).")
        files = groups[0]
        rows, dtypes, edges = [], [], []
        for path in files:
            n, dtype, first_last = _describe(path, ends=len(files) > 1)
            rows.append(n)
            dtypes.append(dtype)
            edges.append(first_last)
        for path, dtype, (obs_id, _) in zip(files[1:], dtypes[1:], edges[1:]):
            _same_run(files[0], dtypes[0], edges[0][0], path, dtype, obs_id)
        return cls(_parse(files[0])[0], tuple(files), tuple(rows), tuple(last for _, last in edges))

    @property
    def n_rows(self) -> int:
        """Rows of the whole run."""
        return int(sum(self.rows))

    @property
    def name(self) -> str:
        """The run's file name, or its subrun files' as ``first … last`` (for sentences)."""
        return self.paths[0].name if len(self.paths) == 1 else f"{self.paths[0].name} … {self.paths[-1].name}"

    def _spans(self, start: int, stop: int) -> Iterator[tuple[int, Path, int, int]]:
        """(file index, path, first, last) of the rows [start, stop) of the run, file by file."""
        offset = 0
        for index, (path, n) in enumerate(zip(self.paths, self.rows)):
            a, b = max(start, offset), min(stop, offset + n)
            if a < b:
                yield index, path, a - offset, b - offset
            offset += n

    def _previous_last_time(self, index: int) -> float | None:
        """``dragon_time`` of the last row before file ``index`` (None when no row comes before it)."""
        for n, last in zip(self.rows[index - 1::-1] if index else (), self.last_times[index - 1::-1]):
            if n:
                return last
        return None

    def _give_back_delta_t(self, index: int, piece: dict[str, np.ndarray]) -> None:
        """The first row of a later subrun: ``delta_t`` = the time since the last row of the subruns before."""
        before = self._previous_last_time(index)
        if before is not None and "delta_t" in piece and "dragon_time" in piece:
            piece["delta_t"][0] = piece["dragon_time"][0] - before

    def iter_chunks(self, columns: Sequence[str], chunk_rows: int, start: int = 0,
                    stop: int | None = None) -> Iterator[dict[str, np.ndarray]]:
        """Rows [start, stop) of the run in chunks of ``chunk_rows`` (the merged file's chunks: the same rows)."""
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        names = list(dict.fromkeys([*columns, *(("delta_t", "dragon_time") if "delta_t" in columns else ())]))
        pending: list[dict[str, np.ndarray]] = []
        held = 0
        for index, path, first, last in self._spans(start, stop):
            at_row_0 = first == 0 and index > 0
            for piece in iter_table_chunks(path, DL2_PARAMS_KEY, names, chunk_rows, start=first, stop=last):
                if at_row_0:
                    self._give_back_delta_t(index, piece)
                    at_row_0 = False
                while piece is not None:
                    n = len(piece[names[0]])
                    if not pending and n == chunk_rows:
                        yield {c: piece[c] for c in columns}
                        break
                    take = min(chunk_rows - held, n)
                    pending.append({c: piece[c][:take] for c in columns})
                    held += take
                    piece = {c: piece[c][take:] for c in names} if take < n else None
                    if held == chunk_rows:
                        yield _join(pending)
                        pending, held = [], 0
        if pending:
            yield _join(pending)

    def read_ranges(self, ranges: Sequence[tuple[int, int]], columns: Sequence[str]) -> dict[str, np.ndarray]:
        """Columns of the run's rows [a, b) of each range, concatenated (each file opened once)."""
        per_file: dict[int, list[tuple[int, int]]] = {}
        for a, b in ranges:
            for index, _, first, last in self._spans(a, b):
                per_file.setdefault(index, []).append((first, last))
        parts = []
        for index in sorted(per_file):
            path = self.paths[index]
            with open_table_file(path) as h5:
                parts.append(_read(h5, path, per_file[index], columns))
        return {c: np.concatenate([p[c] for p in parts]) for c in columns}


def _join(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(pieces) == 1:
        return {c: np.ascontiguousarray(v) for c, v in pieces[0].items()}
    return {c: np.concatenate([p[c] for p in pieces]) for c in pieces[0]}


def _read(h5, path: Path, ranges: Sequence[tuple[int, int]], columns: Sequence[str]) -> dict[str, np.ndarray]:
    try:
        return read_row_ranges(h5, DL2_PARAMS_KEY, ranges, columns)
    except LappanaError:  # the direct reader's own sentence (a truncated or damaged file)
        raise
    except Exception as exc:  # noqa: BLE001 - HDF5 errors of a damaged file
        raise LappanaError(f"{path.name} cannot be read (the file is probably truncated): "
                           f"{str(exc).splitlines()[0]}") from None


def _describe(path: Path, ends: bool) -> tuple[int, np.dtype, tuple[int | None, float]]:
    """Rows, row layout, and (first obs_id, last dragon_time) of a DL2 file; a sentence for a missing column.

    The first and last rows are read only when ``ends`` (a subrun file: the run's other files need them).
    """
    with open_table_file(path) as h5:
        table = get_table(h5, DL2_PARAMS_KEY)
        missing = [c for c in DL2_REQUIRED_COLUMNS if c not in table.colnames]
        if missing:
            raise LappanaError(
                f"The DL2 table of {path.name} lacks the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}, which making DL3 needs; make the DL2 file with lstchain_dl1_to_dl2.")
        n = int(table.nrows)
        if n == 0 or not ends:
            return n, table.dtype, (None, float("nan"))
        ends = _read(h5, path, [(0, 1), (n - 1, n)], ("obs_id", "dragon_time"))
        return n, table.dtype, (int(ends["obs_id"][0]), float(ends["dragon_time"][1]))


def _same_run(first: Path, dtype: np.dtype, obs_id: int | None, path: Path, other: np.dtype,
              other_obs_id: int | None) -> None:
    if other != dtype:
        ours, theirs = set(dtype.names), set(other.names)
        diff = sorted(ours ^ theirs)
        what = f"columns {', '.join(diff[:5])}{' …' if len(diff) > 5 else ''} in one and not the other" if diff \
            else "the same columns in another order or of other types"
        raise LappanaError(
            f"The DL2 tables of {first.name} and {path.name} differ ({what}): they are not subruns of one run "
            f"made by one lstchain_dl1_to_dl2, and cannot be read as one run.")
    if obs_id is not None and other_obs_id is not None and other_obs_id != obs_id:
        raise LappanaError(
            f"{first.name} holds obs_id {obs_id} and {path.name} obs_id {other_obs_id}: they are not subruns of "
            f"one run, and cannot be read as one run.")
