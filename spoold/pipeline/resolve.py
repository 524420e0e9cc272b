"""The ``resolve`` step: which runs, where their data are, and whether to wait for them.

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

from spoold.pipeline.base import Context, night_of
from spoold.request.runcatalog import RunCatalogError, read_run_catalog, runs_of_source


@dataclass(frozen=True)
class Resolution:
    """What ``resolve`` found.

    ``error`` set: the request fails with that sentence. ``missing`` non-empty:
    wait for those files. Otherwise ``runs`` and ``inputs`` are complete.
    """

    night: str | None
    runs: tuple[int, ...] = ()
    inputs: dict[int, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    error: str | None = None


def _source_names(ctx: Context) -> list[str]:
    request = ctx.request
    names = [request.source_name]
    found = ctx.site.sources.find(request.source_name) if hasattr(ctx.site.sources, "find") else None
    if found is not None:
        names.extend(found.names)
    return names


def resolve(ctx: Context) -> Resolution:
    """Find the request's runs and their input files (DL1, or DL2 with ``start_from: dl2``)."""
    request = ctx.request
    night = night_of(request)
    if request.runs:
        runs = tuple(int(r) for r in request.runs)
    else:
        if night is None:
            return Resolution(None, error="The request names neither a night nor runs: give night: YYYY-MM-DD.")
        catalog = ctx.site.data.run_catalog_path(night)
        try:
            entries = read_run_catalog(catalog)
        except FileNotFoundError:
            return Resolution(night, missing=(str(catalog),))
        except RunCatalogError as error:
            return Resolution(night, error=str(error))
        runs = tuple(
            runs_of_source(entries, names=_source_names(ctx), ra_deg=request.ra_deg, dec_deg=request.dec_deg)
        )
        if not runs:
            return Resolution(
                night,
                error=(
                    f"The run catalogue {catalog.name} lists no run of {request.source_name} on the night "
                    f"{night}: check the source and the night, or give runs: [...]."
                ),
            )
    resolved = Context(ctx.site, request, ctx.folder, {**ctx.state, "night": night}, ctx.products)
    level = request.start_from
    inputs, missing = {}, []
    for run in runs:
        path = resolved.data_path(level, run)
        if path.is_file() and path.stat().st_size > 0:
            inputs[run] = str(path)
        else:
            missing.append(str(path))
    return Resolution(night, runs, inputs, tuple(missing))


def wait_deadline(since_iso: str, hours: float) -> _dt.datetime:
    """Return when waiting that began at ``since_iso`` gives up."""
    since = _dt.datetime.fromisoformat(since_iso)
    return since + _dt.timedelta(hours=hours)


def missing_sentence(missing: tuple[str, ...] | list[str], hours: float) -> str:
    """The failure sentence when the data never came."""
    shown = ", ".join(Path(m).name for m in list(missing)[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    return (
        f"The input data did not appear within {hours:g} hours: {shown}{more} are still missing; "
        "check that the night was processed, then 'spool retry' the request."
    )
