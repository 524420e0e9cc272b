"""The ``resolve`` step: which runs of which nights, where their data are, and whether to wait for them.

Runs in the daemon itself (it only reads a catalogue and looks at files).
LSTOSA writes DL1 during the morning after a night, so a request may arrive
before its data: then the request waits (state ``waiting``, with the missing
files and a deadline ``site.limits.data_wait_hours`` after the wait began) and
is looked at again on every reconcile tick.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from spoold.pipeline.base import Context, nights_of
from spoold.request.nights import tonight
from lappana.io.arrival import ABSENT, EMPTY, SETTLING, dl1_not_ready
from lappana.io.runcatalog import RunCatalogError, read_run_catalog, runs_of_source


@dataclass(frozen=True)
class Resolution:
    """What ``resolve`` found.

    ``error`` set: the request fails with that sentence. ``missing`` non-empty:
    wait for those files (or catalogues); ``reasons`` says, for each input file among
    them, why it cannot be used yet ("does not exist yet", "is still being written: ...",
    "is an HDF5 file that cannot be opened ..."). Otherwise ``runs`` and ``inputs`` are complete, and
    ``run_nights`` says which night (``YYYYMMDD``) each run belongs to; ``run_subruns`` how many subrun DL1
    files each run is taken through DL2 in (only runs taken subrun by subrun: ``site.data.dl1_files``),
    whose ``inputs`` are then the list of those files.
    """

    night: str | None
    runs: tuple[int, ...] = ()
    inputs: dict[int, str | list[str]] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    error: str | None = None
    nights: tuple[str, ...] = ()
    run_nights: dict[int, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    run_subruns: dict[int, int] = field(default_factory=dict)


def _source_names(ctx: Context) -> list[str]:
    request = ctx.request
    names = [request.source_name]
    found = ctx.site.sources.find(request.source_name) if hasattr(ctx.site.sources, "find") else None
    if found is not None:
        names.extend(found.names)
    return names


def _iso(night: str) -> str:
    return f"{night[:4]}-{night[4:6]}-{night[6:]}"


def _runs_by_night(ctx: Context, nights: list[str]) -> tuple[dict[int, str], list[str], str | None]:
    """Each run's night from the nights' run catalogues: (run → night, catalogues still missing, error).

    A catalogue not there yet is waited for, except for a past night of a
    ``{from, to}`` range (a night without observations has none). A night of a
    range without runs of the source is skipped; a night asked for by name must have some.
    """
    request = ctx.request
    runs: dict[int, str] = {}
    missing: list[str] = []
    latest = tonight(ctx.now).strftime("%Y%m%d")
    asked = set(int(r) for r in request.runs or ())
    for night in nights:
        catalog = ctx.site.data.run_catalog_path(night)
        try:
            entries = read_run_catalog(catalog)
        except FileNotFoundError:
            if not (request.nights_range and night < latest):
                missing.append(str(catalog))
            continue
        except RunCatalogError as error:
            return {}, [], str(error)
        if asked:
            found = [e.run_id for e in entries if e.run_id in asked]
        else:
            found = runs_of_source(entries, names=_source_names(ctx), ra_deg=request.ra_deg, dec_deg=request.dec_deg)
        if not found and not request.nights_range and not asked:
            return {}, [], (f"The run catalogue {catalog.name} lists no run of {request.source_name} on the night "
                            f"{_iso(night)}: check the source and the night{'s' if len(nights) > 1 else ''}, or give "
                            "runs: [...].")
        runs.update({int(r): night for r in found})
    if missing:
        return runs, missing, None
    if asked - set(runs):
        left = ", ".join(str(r) for r in sorted(asked - set(runs))[:6])
        return {}, [], f"Run(s) {left} are in no run catalogue of the nights {', '.join(map(_iso, nights))}."
    if not runs:
        return {}, [], (f"No night from {_iso(nights[0])} to {_iso(nights[-1])} has a run of {request.source_name} "
                        "in its run catalogue: check the source and the nights.")
    return runs, [], None


def resolve(ctx: Context) -> Resolution:
    """Find the request's runs, night by night, and their input files (DL1, or DL2 with ``start_from: dl2``)."""
    request = ctx.request
    nights = nights_of(request)
    single = nights[0] if len(nights) == 1 and not request.nights_range else None
    if not nights and not request.runs:
        return Resolution(None, error="The request names neither a night nor runs: give night: YYYY-MM-DD.")
    if (single and request.runs) or not nights:
        run_nights = {int(r): single for r in request.runs} if single else {}
    else:
        run_nights, waiting, error = _runs_by_night(ctx, nights)
        if error:
            return Resolution(single, error=error, nights=tuple(nights))
        if waiting:
            return Resolution(single, missing=tuple(waiting), nights=tuple(nights))
    runs = tuple(sorted(run_nights)) if run_nights else tuple(int(r) for r in request.runs)
    used = tuple(n for n in nights if n in set(run_nights.values()))
    resolved = Context(ctx.site, request, ctx.folder,
                       {**ctx.state, "night": single, "run_nights": {str(k): v for k, v in run_nights.items() if v}},
                       ctx.products)
    level = request.start_from
    subruns = _subruns(ctx, run_nights) if level == "dl1" else {}
    inputs, missing, reasons = {}, [], {}
    settle = float(ctx.site.limits.data_settle_seconds)
    for run in runs:
        paths = (ctx.site.data.dl1_files(run_nights[run], run, subruns[run]) if run in subruns
                 else [resolved.data_path(level, run)])
        for path in paths:
            why = dl1_not_ready(path, settle_seconds=settle) if level == "dl1" else _dl2_not_ready(path)
            if why is not None:
                missing.append(str(path))
                reasons[str(path)] = why
        inputs[run] = [str(p) for p in paths] if run in subruns else str(paths[0])
    return Resolution(single, runs, inputs, tuple(missing), nights=used, run_nights=run_nights, reasons=reasons,
                      run_subruns=subruns)


def _subruns(ctx: Context, run_nights: dict[int, str | None]) -> dict[int, int]:
    """{run: n_subruns} of the runs the site keeps in subrun DL1 files (``site.data.run_subruns``)."""
    found: dict[int, int] = {}
    for night in sorted({n for n in run_nights.values() if n}):
        counts = ctx.site.data.run_subruns(night)
        found.update({run: counts[run] for run, n in run_nights.items() if n == night and run in counts})
    return found


def _dl2_not_ready(path: Path) -> str | None:
    """Why the site's DL2 file (``start_from: dl2``) is not there: it is taken as a finished product
    when it is a file with some bytes (the dl3 step says if it is damaged)."""
    try:
        if path.is_file() and path.stat().st_size > 0:
            return None
    except OSError:
        pass
    return ABSENT if not path.exists() else EMPTY


def wait_deadline(since_iso: str, hours: float) -> _dt.datetime:
    """Return when waiting that began at ``since_iso`` gives up."""
    since = _dt.datetime.fromisoformat(since_iso)
    return since + _dt.timedelta(hours=hours)


#: ``spoold --once`` waits for files still being written for up to this many ``data_settle_seconds``.
ONCE_SETTLE_TIMES = 3.0


def settling(state: dict, settle_seconds: float, running_for: float) -> bool:
    """True when a request waits for a file that is there but changed within ``settle_seconds``, and
    ``spoold --once`` has run for less than :data:`ONCE_SETTLE_TIMES` settle times (``running_for`` seconds).

    ``--once`` takes in the same run the files written just before it (a night simulated, then
    ``spoold --once``; a copy just finished); a file that keeps growing is left waiting for the next run.
    """
    reasons = (state.get("waiting") or {}).get("reasons") or {}
    if running_for >= ONCE_SETTLE_TIMES * settle_seconds:
        return False
    return any(why.startswith(SETTLING) for why in reasons.values())


def _split(missing, reasons: dict[str, str]) -> tuple[list[str], list[str]]:
    """The files (or catalogues) of ``missing`` that are not there, and those there but not complete."""
    absent = [m for m in missing if reasons.get(m, ABSENT) == ABSENT]
    return absent, [m for m in missing if m not in absent]


def waiting_detail(missing, reasons: dict[str, str], until: _dt.datetime) -> str:
    """The line of the ``waiting`` event: how many files are awaited, and until when."""
    absent, unready = _split(missing, reasons)
    what = f"{len(missing)} input file(s) missing" + (" or not complete" if unready else "")
    return f"{what}, waiting until {until:%Y-%m-%d %H:%M} UTC"


def waiting_lines(missing, reasons: dict[str, str]) -> list[str]:
    """Each awaited file's name and why it is awaited ("dl1_LST-1.Run15864.h5 is still being written: ...")."""
    return [f"{Path(m).name} {reasons.get(m, ABSENT)}" for m in missing]


def missing_sentence(missing: tuple[str, ...] | list[str], hours: float,
                     reasons: dict[str, str] | None = None) -> str:
    """The failure sentence when the data never came (or never became complete)."""
    absent, unready = _split(missing, reasons or {})
    parts = []
    if absent:
        shown = ", ".join(Path(m).name for m in absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        parts.append(f"{shown}{more} {'is' if len(absent) == 1 else 'are'} still missing")
    parts += [f"{Path(m).name} {reasons[m]}" for m in unready[:5]]
    if len(unready) > 5:
        parts.append(f"{len(unready) - 5} more are not complete")
    return (
        f"The input data did not appear within {hours:g} hours: {'; '.join(parts)}; "
        "check that the night was processed, then 'spool retry' the request."
    )
