"""Checks a schema cannot make: they need the site, the calendar and the data.

Each check takes schema-valid values, returns sentences (empty when all is
well) and names the field and its line. ``tonight`` is the evening date of
``now`` in UTC: a night is named by the date its evening began, so before noon
UTC the night still running (or just over) is yesterday's date.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spoold.request.model import Cuts, ResolvedSource
from spoold.request.nights import FIRST_NIGHT, NightsAsked, check_nights, check_nights_runs, tonight
from lappana.io.runcatalog import RunCatalogError, read_run_catalog, runs_of_source
from spoold.request.yamlsafe import LoadedYaml

if TYPE_CHECKING:
    from spoold.site import Site

__all__ = ["tonight", "ResolvedSource", "check_request", "FIRST_NIGHT"]

def _at(loaded: LoadedYaml, *path) -> str:
    line = loaded.line_of(path)
    return f"line {line}: " if line is not None else ""


def resolve_source(loaded: LoadedYaml, site: "Site") -> tuple[ResolvedSource | None, list[str]]:
    """Find the source in the site's catalogue, or take the given ra/dec."""
    data = loaded.data
    name = data["source"].strip()
    known = site.sources.find(name)
    if "ra" in data and "dec" in data:
        canonical = known.name if known else name
        names = known.names if known else (name,)
        return ResolvedSource(canonical, float(data["ra"]), float(data["dec"]), (name, *names)), []
    if known is not None:
        return ResolvedSource(known.name, known.ra_deg, known.dec_deg, (name, *known.names)), []
    close = site.sources.suggest(name)
    hint = f" — did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
    return None, [
        f"{_at(loaded, 'source')}the source '{name}' is not in the site's source catalogue"
        f"{hint} For another source give its coordinates with 'ra' and 'dec' (degrees)."
    ]


def _run_list(runs: list[int]) -> str:
    runs = sorted(runs)
    if len(runs) > 6:
        return f"{', '.join(map(str, runs[:5]))}, ... {runs[-1]} ({len(runs)} runs)"
    return ", ".join(map(str, runs))


def check_runs(
    loaded: LoadedYaml, site: "Site", night: _dt.date, now: _dt.datetime, source: ResolvedSource | None
) -> list[str]:
    """For a past night: the catalogue must exist and hold the runs (or runs of the source)."""
    if night >= tonight(now):
        return []  # tonight's data may still come: waiting is the daemon's job
    path = site.data.run_catalog_path(night)
    at_night = _at(loaded, "night")
    try:
        entries = read_run_catalog(path)
    except FileNotFoundError:
        return [
            f"{at_night}there is no run catalogue for the night of {night.isoformat()} "
            f"({path} does not exist), so LST-1 recorded no runs that night here; check the night."
        ]
    except RunCatalogError as exc:
        return [f"{at_night}{exc}"]
    known = {e.run_id for e in entries}
    runs = loaded.data.get("runs")
    if runs is not None:
        missing = [r for r in runs if r not in known]
        if not missing:
            return []
        listed = f"it lists {_run_list(list(known))}" if known else "it lists no runs"
        word = "run" if len(missing) == 1 else "runs"
        verb = "is" if len(missing) == 1 else "are"
        return [
            f"{_at(loaded, 'runs')}{word} {_run_list(missing)} {verb} not in the run catalogue of "
            f"the night of {night.isoformat()} ({listed}); check 'runs' and 'night'."
        ]
    if source is None:
        return []
    if runs_of_source(entries, names=source.names, ra_deg=source.ra_deg, dec_deg=source.dec_deg):
        return []
    observed = sorted({e.source_name for e in entries if e.source_name})
    seen = f" (it has runs of {', '.join(observed)})" if observed else ""
    return [
        f"{at_night}the run catalogue of the night of {night.isoformat()} has no run of "
        f"{source.name}{seen}; check 'night' and 'source', or list 'runs'."
    ]


def check_products(loaded: LoadedYaml) -> list[str]:
    """DL2 cannot be a product of a request that starts from DL2."""
    data = loaded.data
    if data.get("start_from") == "dl2" and "dl2" in data.get("products", []):
        return [
            f"{_at(loaded, 'products')}'products' asks for dl2 but 'start_from' is dl2 (the DL2 "
            "files exist already); remove dl2 from 'products' or start from dl1."
        ]
    return []


def check_flux_keys(loaded: LoadedYaml) -> list[str]:
    """energy_range with min below max; lightcurve only with the lightcurve product."""
    data = loaded.data
    errors = []
    band = data.get("energy_range")
    if isinstance(band, dict) and "min" in band and "max" in band and band["min"] >= band["max"]:
        errors.append(f"{_at(loaded, 'energy_range')}'energy_range' has min {band['min']:g} TeV, not below max "
                      f"{band['max']:g} TeV; give min < max, like {{min: 0.2, max: 10}}.")
    products = data.get("products", [])
    if "lightcurve" in data and "lightcurve" not in products:
        errors.append(f"{_at(loaded, 'lightcurve')}'lightcurve' sets the bins of a light curve, but 'products' "
                      "does not ask for one; add lightcurve to 'products' or remove 'lightcurve'.")
    return errors


def cuts_of(data: dict[str, Any]) -> Cuts:
    """Return the request's cuts (the default: efficiency 0.7, containment 0.7)."""
    given = data.get("cuts", {"gh_efficiency": 0.7, "theta_containment": 0.7})
    return Cuts(**{key: float(value) for key, value in given.items()})


def site_for_request(data: dict[str, Any], site: "Site") -> "Site":
    """The site as the request sees it: with the lstchain it names (the site's default when it names none or one
    the site does not offer, which :func:`check_lstchain` refuses)."""
    try:
        return site.for_lstchain(data.get("lstchain"))
    except KeyError:
        return site


def check_lstchain(loaded: LoadedYaml, site: "Site") -> list[str]:
    """A request's ``lstchain`` must be a version the site offers and has installed, for DL2 made from DL1."""
    version = loaded.data.get("lstchain")
    if version is None:
        return []
    at = _at(loaded, "lstchain")
    if str(loaded.data.get("start_from", "dl1")) == "dl2":
        return [f"{at}'lstchain' chooses the lstchain that makes DL2 from DL1, but 'start_from: dl2' takes the "
                "site's DL2 as it was made; remove 'lstchain' or start from dl1."]
    offered = site.lstchain_offered()
    try:
        lst = site.for_lstchain(str(version)).lstchain
    except KeyError:
        names = [f"{name} (its default)" if name == site.lstchain.version else name for name in offered]
        there = f"it offers {_and(names)}" if names else "it names none of its lstchain versions"
        return [f"{at}'lstchain' asks for {version}, which this site does not offer: {there}."]
    missing = []
    env = Path(lst.env)
    if env.is_absolute() and " " not in lst.env and not env.exists():
        missing.append(f"its environment {env}")
    if not Path(lst.models).is_dir():
        missing.append(f"its models {lst.models}")
    if missing:
        return [f"{at}the site offers lstchain {version}, but {_and(missing)} "
                f"{'does' if len(missing) == 1 else 'do'} not exist; ask the site's admin "
                "(scripts/setup-lstchain installs both of its versions)."]
    return []


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def check_irf_set(loaded: LoadedYaml, site: "Site", products: tuple[str, ...]) -> list[str]:
    """The cuts choose an IRF set; its folder must exist under the IRF root for the request's DL2, or, for a
    request from DL1 (whose DL2 the site's models make), the site must be able to make it there (the irf step,
    :mod:`spoold.pipeline.irf_step`)."""
    if not any(p != "dl2" for p in products):
        return []  # DL2 alone needs no IRFs
    cuts = cuts_of(loaded.data)
    name = cuts.irf_set_name
    at = _at(loaded, "cuts")
    start_from = str(loaded.data.get("start_from", "dl1"))
    root = site.irf_root_for(start_from)
    if not root.is_dir():
        return [
            f"{at}the site's IRF folder {root} does not exist, so no cuts can be "
            "used for DL3; ask the site's admin."
        ]
    if (root / name).is_dir():
        return []
    models_own = start_from == "dl1" and site.models_irf_root() is not None
    if models_own and os.access(root, os.W_OK | os.X_OK):
        return []  # made on request, for the site's models, by the irf step
    sets = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    there = f"the sets there are {', '.join(sets)}" if sets else "there are none"
    chosen = ", ".join(f"{k} {v}" for k, v in cuts.as_dict().items())
    if models_own:
        why = f"the site cannot make it there ({root} is not writable)"
    elif start_from == "dl1":
        why = "the site's models have no IRF folder of their own (lstchain.irf_root) to make it in"
    else:
        why = "IRFs for other cuts are made only for requests from DL1, whose DL2 the site's models make"
    return [
        f"{at}'cuts' ({chosen}) need the IRF set {name}, which is not in {root}; "
        f"{there}, and {why}. Choose cuts of an existing set."
    ]


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    real = Path(os.path.realpath(path))
    for root in roots:
        root = Path(os.path.realpath(root))
        if real == root or root in real.parents:
            return True
    return False


def check_output(loaded: LoadedYaml, site: "Site") -> list[str]:
    """'output' must stay inside one of the site's write roots (symlinks resolved)."""
    text = loaded.data.get("output")
    if text is None:
        return []
    at = _at(loaded, "output")
    if not site.write_roots:
        return [
            f"{at}'output' is not allowed at this site (it names no write roots); leave it out "
            "and the products stay in the request's folder."
        ]
    if not _inside(Path(text), site.write_roots):
        roots = ", ".join(str(r) for r in site.write_roots)
        return [f"{at}'output' {text} is outside the folders this site lets requests write to ({roots})."]
    return []


def check_request(
    loaded: LoadedYaml,
    site: "Site",
    now: _dt.datetime,
    products: tuple[str, ...],
    bad: set[str] = frozenset(),
) -> tuple[ResolvedSource | None, NightsAsked, list[str]]:
    """Run every check whose fields passed the schema; return the source, the nights asked for, sentences.

    Parameters
    ----------
    loaded : LoadedYaml
        The request's values and lines.
    site : Site
    now : datetime
    products : tuple of str
        The products the request makes.
    bad : set of str
        Top-level keys the schema found wrong (``"*"``: all); checks reading them are skipped.
    """
    if "*" in bad:
        return None, NightsAsked(), []

    def clean(*keys: str) -> bool:
        return not bad.intersection(keys)

    source, asked, errors = None, NightsAsked(), []
    if clean("source", "ra", "dec"):
        source, found = resolve_source(loaded, site)
        errors += found
    if clean("night", "nights", "runs"):
        asked, found = check_nights(loaded, now)
        errors += found
        if asked.night is not None:
            errors += check_runs(loaded, site, asked.night, now, source)
        elif asked.nights and not found:
            errors += check_nights_runs(loaded, site, asked, now, source)
    if clean("start_from", "products"):
        errors += check_products(loaded)
    if clean("energy_range", "lightcurve", "products"):
        errors += check_flux_keys(loaded)
    if clean("lstchain", "start_from"):
        errors += check_lstchain(loaded, site)
    if clean("cuts", "products", "lstchain"):
        errors += check_irf_set(loaded, site_for_request(loaded.data, site), products)
    if clean("output"):
        errors += check_output(loaded, site)
    return source, asked, errors
