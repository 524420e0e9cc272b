"""The nights of a request: ``night`` (one) or ``nights`` (a list, or a ``{from, to}`` range).

A night is named by the date its evening began (UTC). Every date is checked the
same way, whichever key gives it: a real date, not before LST-1's first
observations, not later than tonight. For past nights the run catalogues are
read: a listed night must have runs of the source (or the runs asked for); a
range needs runs on at least one of its past nights, and its nights without any
are skipped when the request runs.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spoold.request.model import ResolvedSource
from lappana.io.runcatalog import RunCatalogError, read_run_catalog, runs_of_source
from spoold.request.yamlsafe import LoadedYaml, field_name

if TYPE_CHECKING:
    from spoold.site import Site

__all__ = ["FIRST_NIGHT", "MAX_NIGHTS", "NightsAsked", "tonight", "check_date", "check_nights", "check_nights_runs",
           "expand_range"]

#: LST-1's first observations (inauguration in October 2018): no earlier night has data.
FIRST_NIGHT = _dt.date(2018, 10, 1)
#: At most this many nights in one request (a list or a range): a season of three months.
MAX_NIGHTS = 92


def tonight(now: _dt.datetime) -> _dt.date:
    """Return the date that names the night of ``now``: its evening's date in UTC.

    Parameters
    ----------
    now : datetime
        An aware datetime (a naive one is taken as UTC).
    """
    if now.tzinfo is not None:
        now = now.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return (now - _dt.timedelta(hours=12)).date()


@dataclass(frozen=True)
class NightsAsked:
    """The nights a request names: ``night`` is set for ``night:``, ``nights`` always (in order)."""

    night: _dt.date | None = None
    nights: tuple[_dt.date, ...] = ()
    is_range: bool = False


def _at(loaded: LoadedYaml, *path) -> str:
    line = loaded.line_of(path)
    return f"line {line}: " if line is not None else ""


def check_date(loaded: LoadedYaml, path: tuple, now: _dt.datetime) -> tuple[_dt.date | None, list[str]]:
    """Parse the date at ``path`` (``("night",)``, ``("nights", 2)``, ``("nights", "from")``) and check it."""
    text = loaded.data
    for part in path:
        text = text[part]
    name = f"'{field_name(path)}'"
    at = _at(loaded, *path)
    try:
        night = _dt.date.fromisoformat(text)
    except ValueError:
        return None, [f"{at}{name} {text} is not a real date; write it as YYYY-MM-DD."]
    latest = tonight(now)
    if night > latest:
        return None, [
            f"{at}{name} {text} is later than tonight ({latest.isoformat()}); LST-1 has not "
            "observed it yet (a night is named by the date its evening began)."
        ]
    if night < FIRST_NIGHT:
        return None, [f"{at}{name} {text} is before LST-1's first observations ({FIRST_NIGHT:%B %Y}); check the year."]
    return night, []


def expand_range(first: _dt.date, last: _dt.date) -> tuple[_dt.date, ...]:
    """Every night from ``first`` to ``last``, both included."""
    return tuple(first + _dt.timedelta(days=i) for i in range((last - first).days + 1))


def check_nights(loaded: LoadedYaml, now: _dt.datetime) -> tuple[NightsAsked, list[str]]:
    """Read 'night' or 'nights' (schema-valid values) and check every date."""
    data = loaded.data
    if "night" in data and "nights" in data:
        return NightsAsked(), [f"{_at(loaded, 'nights')}the request gives both 'night' and 'nights'; give 'night' "
                               "for one night or 'nights' for several, not both."]
    if "night" in data:
        night, errors = check_date(loaded, ("night",), now)
        return NightsAsked(night, (night,) if night else ()), errors
    given = data.get("nights")
    if given is None:
        if "runs" not in data:
            return NightsAsked(), [
                "'night' is missing: without 'runs', give the night to analyse as YYYY-MM-DD "
                "(the date its evening began), for example 'night: 2023-12-07', or several with 'nights'."
            ]
        return NightsAsked(), []
    if isinstance(given, list):
        found = [check_date(loaded, ("nights", i), now) for i in range(len(given))]
        errors = [e for _, errs in found for e in errs]
        return NightsAsked(nights=tuple(sorted(n for n, _ in found if n))), errors
    first, errors = check_date(loaded, ("nights", "from"), now)
    last, more = check_date(loaded, ("nights", "to"), now)
    errors += more
    if first is None or last is None:
        return NightsAsked(is_range=True), errors
    at = _at(loaded, "nights")
    if last < first:
        return NightsAsked(is_range=True), [f"{at}'nights' runs from {first} to {last}, backwards; give the earlier "
                                            "night as 'from'."]
    if (last - first).days + 1 > MAX_NIGHTS:
        return NightsAsked(is_range=True), [
            f"{at}'nights' from {first} to {last} covers {(last - first).days + 1} nights; at most {MAX_NIGHTS} are "
            "allowed in one request: split it."]
    return NightsAsked(nights=expand_range(first, last), is_range=True), []


def _runs_listed(site: "Site", night: _dt.date) -> tuple[list | None, str | None]:
    """The entries of a night's run catalogue, or None and why not (None, None: there is none)."""
    try:
        return read_run_catalog(site.data.run_catalog_path(night)), None
    except FileNotFoundError:
        return None, None
    except RunCatalogError as exc:
        return None, str(exc)


def check_nights_runs(loaded: LoadedYaml, site: "Site", asked: NightsAsked, now: _dt.datetime,
                      source: ResolvedSource | None) -> list[str]:
    """For the past nights of a several-night request: the catalogues hold the runs, or runs of the source."""
    at = _at(loaded, "nights")
    past = [n for n in asked.nights if n < tonight(now)]
    errors: list[str] = []
    known: set[int] = set()
    with_source: list[_dt.date] = []
    for night in past:
        entries, problem = _runs_listed(site, night)
        if problem:
            errors.append(f"{at}{problem}")
            continue
        if entries is None:
            if not asked.is_range:
                errors.append(f"{at}there is no run catalogue for the night of {night.isoformat()} "
                              f"({site.data.run_catalog_path(night)} does not exist), so LST-1 recorded no runs "
                              "that night here; check 'nights'.")
            continue
        known |= {e.run_id for e in entries}
        if source is not None and runs_of_source(entries, names=source.names, ra_deg=source.ra_deg,
                                                 dec_deg=source.dec_deg):
            with_source.append(night)
        elif source is not None and not asked.is_range and "runs" not in loaded.data:
            errors.append(f"{at}the run catalogue of the night of {night.isoformat()} has no run of {source.name}; "
                          "check 'nights' and 'source' (a range {from, to} skips nights without runs).")
    if errors or len(past) < len(asked.nights):
        return errors  # a night still to come may bring the runs
    runs = loaded.data.get("runs")
    if runs is not None:
        missing = sorted(set(runs) - known)
        if missing:
            return [f"{_at(loaded, 'runs')}run(s) {', '.join(map(str, missing[:6]))} are in no run catalogue of the "
                    "nights asked for; check 'runs' and 'nights'."]
    elif source is not None and asked.is_range and not with_source:
        return [f"{at}no night from {asked.nights[0]} to {asked.nights[-1]} has a run of {source.name} in its run "
                "catalogue; check 'nights' and 'source'."]
    return []
