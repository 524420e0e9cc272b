"""DL2 → DL3 for one run: :func:`make_dl3`.

One pass over the run's DL2 table (its run file, or its subrun files as one table:
:mod:`lappana.dl3.runfiles`), chunk by chunk (in two processes, this one and a
worker, each reading one half of the run, when there are two cores): lstchain's
effective time and the good time intervals on all showers, lstchain's event
selection and the IRF's gammaness cut, then the selected events' sky coordinates
(transformed :data:`COORD_BATCH_ROWS` events at a time: astropy's transformation
costs as much a call as for ~5,000 events), spooled to disk in FITS layout. The
DL3 file (EVENTS, GTI, POINTING and the IRF HDUs, interpolated between pointing
nodes as lstchain does or of the nearest node, gzip) is then streamed out. Memory
depends on the chunk size, not on the run's length.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from astropy.io import fits

from lappana.dl3.astrometry import altaz_to_radec
from lappana.dl3.coords import icrs_to_galactic, time_since_reference, unix_to_time
from lappana.dl3.headers import event_cards, gti_hdu, pointing_hdu
from lappana.dl3.irf import DEFAULT_IRF_PATTERN, find_irf_files, geomagnetic_delta_deg, read_node
from lappana.dl3.irf_choice import INTERPOLATE, IrfChoice, choose_irf
from lappana.dl3.irf_interp import irf_hdus
from lappana.dl3.selection import GammanessCut, gammaness_cut_from_irf, select_events
from lappana.dl3.summary import RunSummary
from lappana.dl3.writer import EventSpool, write_dl3
from lappana.errors import LappanaError
from lappana.dl3.runfiles import RunFiles
from lappana.io.dl2 import DL2_REQUIRED_COLUMNS
from lappana.paths import run_file_name
from lappana.units import sky_position

__all__ = ["make_dl3", "DEFAULT_CHUNK_ROWS", "RunSummary"]

log = logging.getLogger(__name__)

#: Rows of DL2 read at a time (≈ 25 MB for lstchain's ~60 columns; larger chunks are no faster, only bigger).
DEFAULT_CHUNK_ROWS = 50_000
#: Selected events transformed to ICRS at a time (a call costs more than ~5,000 events: the times, the support contexts).
COORD_BATCH_ROWS = 50_000
#: DL2 columns that the EVENTS columns and the pointing need of a selected event.
_EVENT_INPUTS = ("event_id", "dragon_time", "reco_alt", "reco_az", "reco_energy", "gammaness", "tel_id",
                 "alt_tel", "az_tel")
#: Pointing samples kept per chunk for the mean pointing.
POINTING_SAMPLES_PER_CHUNK = 2000


def make_dl3(
    dl2_path: str | Path | Sequence[str | Path],
    irf: str | Path,
    output_dir: str | Path,
    *,
    source_name: str,
    source_ra_deg: float | None = None,
    source_dec_deg: float | None = None,
    source=None,
    irf_pattern: str = DEFAULT_IRF_PATTERN,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    overwrite: bool = False,
    workers: int | None = None,
    irf_method: str = INTERPOLATE,
) -> Path:
    """Make the DL3 file of one run from its DL2 file and an IRF.

    Parameters
    ----------
    dl2_path : str or Path, or a sequence of them
        lstchain's DL2 file of the run, named ``dl2_LST-1.RunNNNNN.h5``, or the DL2 files of
        all its subruns, ``dl2_LST-1.RunNNNNN.0000.h5``, ``.0001.h5``, … (any order), read in
        subrun order as one run (:class:`lappana.dl3.runfiles.RunFiles`): the same file as the
        merged run's DL2 gives.
    irf : str or Path
        An IRF file, or a folder of IRF files of several pointing nodes
        (interpolated to the run's mean pointing, see ``irf_method``).
    output_dir : str or Path
        Where ``dl3_LST-1.RunNNNNN.fits.gz`` is written (created if needed).
    source_name : str
        The target's name (``OBJECT``).
    source_ra_deg, source_dec_deg : float, optional
        The target's ICRS position in degrees (``RA_OBJ``, ``DEC_OBJ``).
    source : astropy.coordinates.SkyCoord, optional
        The same position as a SkyCoord (any frame), instead of the two floats.
    irf_pattern : str
        Glob pattern of IRF files when ``irf`` is a folder.
    chunk_rows : int
        DL2 rows read at a time; bounds the memory used.
    overwrite : bool
        Replace an existing DL3 file.
    workers : int, optional
        Processes that read parts of the run at once, this one included
        (decompressing DL2 is most of the work). Default: 2 when the CPU has 2
        cores or more and the run has at least 4 chunks, else 1. Each process
        holds one chunk.
    irf_method : {"interpolate", "nearest"}
        With several IRF nodes: interpolate the three nodes around the run as
        ``lstchain_create_dl3_file`` (the nearest node when the run lies outside
        them), or take the nearest node (``--use-nearest-irf-node``).

    Returns
    -------
    Path
        The DL3 file.

    Raises
    ------
    LappanaError
        For input a user can fix: a missing or truncated DL2 file, a missing
        column, subrun files of several runs, with a subrun missing, mixed with the
        run's file, or of different columns or obs_id, an IRF without gammaness cut, a run without events (at all or
        after the cuts), an existing output without ``overwrite``.
    """
    source_ra_deg, source_dec_deg = sky_position(source, source_ra_deg, source_dec_deg)
    output_dir = Path(output_dir)
    run = RunFiles.open(dl2_path)
    run_id = run.run_id
    output = output_dir / run_file_name("dl3", run_id)
    if output.exists() and not overwrite:
        raise LappanaError(f"{output} already exists; pass --overwrite (overwrite=True) to replace it.")
    n_rows, zenith, azimuth, first_time = _run_pointing(run)
    if n_rows == 0:
        raise LappanaError(f"{run.name} has no events at all; there is nothing to make a DL3 file from.")
    b_delta = geomagnetic_delta_deg(zenith, azimuth, unix_to_time(first_time))
    nodes = [read_node(p) for p in find_irf_files(irf, irf_pattern)]
    choice = choose_irf(nodes, zenith, azimuth, b_delta, irf_method)
    log.info("run %d at zenith %.2f deg, azimuth %.2f deg: %s", run_id, zenith, azimuth, choice.reason)
    irf_copies = irf_hdus(choice)
    irf_name = choice.nodes[0].path.name if not choice.interpolated else "the interpolated IRF"
    gh_cut = gammaness_cut_from_irf(fits.HDUList([fits.PrimaryHDU(), *irf_copies]),
                                    f"The IRF file {choice.nodes[0].path}")
    output_dir.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) >= 2 and n_rows >= 4 * chunk_rows else 1
    summary, spools = _scan_run(run, gh_cut, output_dir, n_rows, chunk_rows, max(1, int(workers)))
    try:
        if summary.n_selected == 0:
            raise LappanaError(
                f"No event of run {run_id} ({summary.n_rows} rows) passes lstchain's event selection and the "
                f"{gh_cut.describe()} of {irf_name}, so there is no DL3 event list to write."
            )
        cards = event_cards(
            run_id=run_id, summary=summary, source_name=source_name,
            source_ra_deg=source_ra_deg, source_dec_deg=source_dec_deg,
        ) + irf_cards(choice)
        hdus = [gti_hdu(run_id, summary), pointing_hdu(run_id, summary, zenith, azimuth, b_delta), *irf_copies]
        write_dl3(output, spools, cards, hdus)
    finally:
        for spool in spools:
            spool.remove()
    return output


def irf_cards(choice: IrfChoice) -> list[tuple[str, object, str]]:
    """EVENTS keywords saying which IRF files the file's IRF HDUs come from and how (read back by the report).

    ``IRF_FILE``, ``IRF_ZEN``, ``IRF_AZ``: the node used unchanged, or for an
    interpolated IRF its first node and the run's point; ``IRF_METH``
    (``nearest`` or ``interpolated``), ``IRF_NNOD``, then ``IRF_FILn``/``IRF_ZENn``/
    ``IRF_AZn``/``IRF_WGTn`` for each node and ``IRF_WHY``, the choice's sentence.
    """
    first = choice.nodes[0]
    zen, az = (choice.zenith_deg, choice.azimuth_deg) if choice.interpolated else (first.zenith_deg, first.azimuth_deg)
    cards = [("IRF_FILE", first.path.name[:68], "IRF file"),
             ("IRF_ZEN", round(zen, 4), "[deg] zenith of the IRF"),
             ("IRF_AZ", round(az, 4), "[deg] azimuth of the IRF"),
             ("IRF_METH", "interpolated" if choice.interpolated else "nearest", "how the IRF was made from nodes"),
             ("IRF_NNOD", len(choice.nodes), "IRF nodes combined")]
    for i, (node, weight) in enumerate(zip(choice.nodes, choice.weights), start=1):
        cards += [(f"IRF_FIL{i}", node.path.name[:68], ""),
                  (f"IRF_ZEN{i}", round(node.zenith_deg, 4), f"[deg] zenith of node {i}"),
                  (f"IRF_AZ{i}", round(node.azimuth_deg, 4), f"[deg] azimuth of node {i}"),
                  (f"IRF_WGT{i}", round(weight, 10), f"weight of node {i}")]
    return cards + [("IRF_WHY", choice.reason, "")]


def _run_pointing(run: RunFiles | str | Path | Sequence[str | Path], blocks: int = 20,
                  rows_per_block: int = 500) -> tuple[int, float, float, float]:
    """Rows, mean zenith and azimuth (deg, 0–360) and first time, from blocks spread over the run.

    lstchain averages the pointing of every row; the pointing moves smoothly, so
    ``blocks`` evenly spread blocks give the same mean to far better than the
    IRF grid's spacing, without reading the run twice. ``run``: its files, or their paths.
    """
    run = run if isinstance(run, RunFiles) else RunFiles.open(run)
    n = run.n_rows
    if n == 0:
        return 0, 0.0, 0.0, 0.0
    starts = np.unique(np.linspace(0, max(n - rows_per_block, 0), blocks).astype(np.int64))
    rows = run.read_ranges([(int(a), int(min(a + rows_per_block, n))) for a in starts],
                           ("alt_tel", "az_tel", "dragon_time"))
    zenith = 90.0 - float(np.degrees(np.mean(rows["alt_tel"])))
    azimuth = float(np.degrees(np.mean(rows["az_tel"]))) % 360.0
    first_time = float(rows["dragon_time"][0])
    return n, zenith, azimuth, first_time


def _parts(n_rows: int, chunk_rows: int, workers: int, align: int = 1000) -> list[tuple[int, int]]:
    """Split rows [0, n_rows) into ``workers`` contiguous ranges of about equal length.

    Each part has at least one chunk of ``chunk_rows`` rows; edges fall on multiples
    of ``align`` rows.
    """
    count = max(1, min(workers, -(-n_rows // chunk_rows)))
    edges = (np.linspace(0, n_rows, count + 1) / align).round().astype(np.int64) * align
    edges[0], edges[-1] = 0, n_rows
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _scan_run(run: RunFiles, gh_cut: GammanessCut, spool_dir: Path, n_rows: int, chunk_rows: int,
              workers: int) -> tuple[RunSummary, list[EventSpool]]:
    """Scan the run in ``workers`` processes when more than one (this one scans the first part); parts merged in order."""
    parts = _parts(n_rows, chunk_rows, workers)
    if len(parts) == 1:
        results = [_scan(run, gh_cut, spool_dir, 0, n_rows, chunk_rows)]
    else:
        # fork is fast and safe in a single-threaded process (the command); a caller with
        # threads (a daemon) gets freshly started workers instead.
        method = "fork" if threading.active_count() == 1 else "spawn"
        with ProcessPoolExecutor(len(parts) - 1, mp_context=multiprocessing.get_context(method)) as pool:
            futures = [pool.submit(_scan, run, gh_cut, spool_dir, a, b, chunk_rows) for a, b in parts[1:]]
            results, error = [], None
            try:
                results.append(_scan(run, gh_cut, spool_dir, *parts[0], chunk_rows))
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the workers
                error = exc
            for future in futures:
                try:
                    results.append(future.result())
                except BaseException as exc:  # noqa: BLE001 - re-raised below, after cleaning up
                    error = error or exc
            if error is not None:
                for _, path, n in results:
                    EventSpool.adopt(path, n).remove()
                raise error
    summary = RunSummary()
    for part, _, _ in results:
        summary.merge(part)
    return summary, [EventSpool.adopt(path, n) for _, path, n in results]


def _scan(run: RunFiles, gh_cut: GammanessCut, spool_dir: Path, start: int, stop: int,
          chunk_rows: int) -> tuple[RunSummary, Path, int]:
    """Read rows [start, stop): effective time, GTI, selection, cuts, coordinates into a spool file."""
    summary = RunSummary()
    spool = EventSpool(spool_dir)
    pending: list[dict[str, np.ndarray]] = []
    try:
        for chunk in run.iter_chunks(list(DL2_REQUIRED_COLUMNS), chunk_rows, start=start, stop=stop):
            selected = _add_chunk(summary, chunk, gh_cut)
            if selected is not None:
                pending.append(selected)
            if sum(len(p["event_id"]) for p in pending) >= COORD_BATCH_ROWS:
                _spool_events(spool, pending)
        _spool_events(spool, pending)
        spool.close()
    except BaseException:
        spool.remove()
        raise
    return summary, spool.path, spool.n_rows


def _add_chunk(summary: RunSummary, chunk: dict[str, np.ndarray], gh_cut: GammanessCut) -> dict[str, np.ndarray] | None:
    """Count a chunk into ``summary``; return the columns of its selected events (None when there are none)."""
    summary.n_rows += len(chunk["event_id"])
    summary.efftime.add(chunk["event_type"], chunk["dragon_time"], chunk["delta_t"])
    with np.errstate(invalid="ignore"):
        mask = select_events(chunk) & gh_cut.mask(chunk["gammaness"], chunk["reco_energy"])
    index = np.flatnonzero(mask)
    if index.size == 0:
        return None
    selected = {name: chunk[name][index] for name in _EVENT_INPUTS}
    _sample_pointing(summary, selected)
    summary.n_selected += index.size
    tel_ids = np.unique(selected["tel_id"])
    summary.tel_ids.update(int(t) for t in tel_ids)
    summary.sum_alt_rad += float(np.sum(selected["alt_tel"]))
    summary.sum_az_rad += float(np.sum(selected["az_tel"]))
    selected["multip"] = np.full(index.size, len(tel_ids), dtype=np.int64)
    return selected


def _spool_events(spool: EventSpool, pending: list[dict[str, np.ndarray]]) -> None:
    """Transform the pending chunks' events in one go (the transformation's cost is partly per call) and spool them."""
    if pending:
        spool.append(_event_columns({name: np.concatenate([p[name] for p in pending]) for name in pending[0]}))
        pending.clear()


def _sample_pointing(summary: RunSummary, selected: dict[str, np.ndarray]) -> None:
    n = len(selected["event_id"])
    take = np.unique(np.linspace(0, n - 1, min(n, POINTING_SAMPLES_PER_CHUNK)).astype(np.int64))
    summary.pointing_samples.append(np.column_stack([
        summary.n_selected + take.astype(float), selected["dragon_time"][take],
        selected["alt_tel"][take], selected["az_tel"][take],
    ]))


def _event_columns(selected: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The EVENTS columns of selected DL2 rows."""
    ra, dec = altaz_to_radec(selected["reco_alt"], selected["reco_az"], selected["dragon_time"])
    glon, glat = icrs_to_galactic(ra, dec)
    return {
        "EVENT_ID": selected["event_id"],
        "TIME": time_since_reference(selected["dragon_time"]),
        "RA": ra,
        "DEC": dec,
        "ENERGY": selected["reco_energy"],
        "GAMMANESS": selected["gammaness"],
        "MULTIP": selected["multip"],
        "GLON": glon,
        "GLAT": glat,
        "ALT": np.degrees(selected["reco_alt"]),
        "AZ": np.degrees(selected["reco_az"]),
    }
