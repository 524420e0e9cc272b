"""Which runs of a source a night has, and whether that night's data are complete.

A night (named by its evening's date) is complete for a standing order when

- the site names the onsite pipeline's end-of-night marker (``data.night_finished_pattern``, LSTOSA's
  ``NightFinished.txt``) and it is there; or, without a marker,
- the night is over (:data:`NIGHT_ENDS_UTC` of the next day), the night's run catalogue lists runs of
  the source, each of their files (DL1, or DL2 for ``start_from: dl2``) is there, and neither those
  files nor the catalogue changed for ``limits.night_quiet_minutes``. A run the site keeps in subrun DL1
  files (``data.dl1_subrun_pattern`` and the catalogue's ``n_subruns``) is there when all its subrun
  files are.

Runs whose files are still missing ``limits.data_wait_hours`` after the night's end are given up: the
night's request is made for the runs that came.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lappana.io.runcatalog import RunCatalogError, read_run_catalog, runs_of_source
from spoold.request.model import ResolvedSource

if TYPE_CHECKING:
    from spoold.site import Site

__all__ = ["NIGHT_ENDS_UTC", "NightData", "night_data", "night_end", "runs_ready"]

#: A night is over at this UTC time of the next day: after dawn at La Palma in every season.
NIGHT_ENDS_UTC = _dt.time(8, 0)


@dataclass(frozen=True)
class NightData:
    """What a night holds for one source.

    Attributes
    ----------
    runs : tuple of int
        The source's runs the night's request is for (when complete: those whose files came).
    complete : bool
        True when the request can be made.
    why : str
        How the night was known complete, or what it waits for (a sentence).
    """

    runs: tuple[int, ...]
    complete: bool
    why: str


def night_end(night: _dt.date) -> _dt.datetime:
    """The end of a night: :data:`NIGHT_ENDS_UTC` on the morning after its evening."""
    return _dt.datetime.combine(night + _dt.timedelta(days=1), NIGHT_ENDS_UTC, tzinfo=_dt.timezone.utc)


def night_data(site: "Site", night: _dt.date, source: ResolvedSource, *, level: str,
               now: _dt.datetime) -> NightData | None:
    """The runs of ``source`` in the night's catalogue and whether their ``level`` files are complete.

    Returns None when the night has no catalogue (yet) or it lists no run of the source.
    """
    catalog = site.data.run_catalog_path(night)
    try:
        entries = read_run_catalog(catalog)
    except (FileNotFoundError, RunCatalogError):
        return None  # no catalogue yet (or one being written): nothing to say about the night
    runs = tuple(sorted(runs_of_source(entries, names=source.names, ra_deg=source.ra_deg, dec_deg=source.dec_deg)))
    if not runs:
        return None
    files = _run_files(site, night, runs, level)
    sizes = {run: min(_size(path) for path in paths) for run, paths in files.items()}
    came = tuple(run for run in runs if sizes[run])
    marker = site.data.night_finished_path(night)
    if marker is not None:
        if marker.exists():
            return NightData(came, bool(came), f"the onsite pipeline's end-of-night marker {marker} is there"
                             + ("" if came else f", but none of the runs' {level.upper()} files"))
        return NightData(runs, False, f"waiting for the onsite pipeline's end-of-night marker {marker}")
    end = night_end(night)
    if now < end:
        return NightData(runs, False, f"the night is not over before {end:%Y-%m-%d %H:%M} UTC")
    missing = [run for run in runs if not sizes[run]]
    given_up = now >= end + _dt.timedelta(hours=float(site.limits.data_wait_hours))
    if missing and not given_up:
        return NightData(runs, False, f"waiting for the {level.upper()} files of run"
                         f"{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}")
    quiet = float(site.limits.night_quiet_minutes) * 60.0
    changed = max([_mtime(catalog), *(_mtime(path) for run in came for path in files[run])])
    since = now.timestamp() - changed
    if since < quiet:
        return NightData(runs, False, f"its files changed {since / 60:.1f} min ago; waiting until they have been "
                         f"quiet for {quiet / 60:g} min")
    if not came:
        return NightData((), False, f"none of the runs' {level.upper()} files came in the "
                         f"{site.limits.data_wait_hours:g} h after the night")
    why = f"every run's {level.upper()} file is there and quiet for {quiet / 60:g} min"
    if missing:
        why = (f"run{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} did not come in the "
               f"{site.limits.data_wait_hours:g} h after the night; the others are there and quiet")
    return NightData(came, True, why)


def runs_ready(site: "Site", night: _dt.date, runs: tuple[int, ...], *, level: str, now: _dt.datetime) -> list[int]:
    """Those of ``runs`` whose ``level`` file is there and unchanged for ``limits.live_quiet_seconds``: what a
    live order takes through while the night goes on."""
    quiet = float(site.limits.live_quiet_seconds)
    ready = []
    for run, paths in _run_files(site, night, runs, level).items():
        if all(_size(path) and now.timestamp() - _mtime(path) >= quiet for path in paths):
            ready.append(run)
    return ready


def _run_files(site: "Site", night: _dt.date, runs: tuple[int, ...], level: str) -> dict[int, list[Path]]:
    """Each run's files at ``level``: its DL2 file, or its DL1 as the DL2 is made from (``data.dl1_files``)."""
    if level != "dl1":
        return {run: [site.data.dl2_path(night, run)] for run in runs}
    subruns = site.data.run_subruns(night)
    return {run: site.data.dl1_files(night, run, subruns.get(run)) for run in runs}


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        st = os.stat(path)
    except OSError:
        return 0.0
    return max(st.st_mtime, st.st_ctime)
