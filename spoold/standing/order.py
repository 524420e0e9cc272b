"""A standing order: its file in ``spool/standing/``, read and checked with the same sentences as a request.

An order holds the keys of a request that do not name nights or runs (``start_from``, ``cuts``, ``irf``,
``lstchain``, ``products``, ``energy_range``, ``lightcurve``, ``notify``), a source (``source``, with
``ra``/``dec`` for one the catalogue does not know) or several (``every: source`` with ``allow``), and
``since``, the first night it covers. Its schema is ``schemas/standing.schema.json``, which takes the
request's own definitions of the shared keys; the checks a schema cannot make are the request's too.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spoold.request.checks import (check_flux_keys, check_irf_set, check_lstchain, check_products,
                                   resolve_source, site_for_request)
from spoold.request.messages import schema_report, sort_sentences
from spoold.request.model import DEFAULT_PRODUCTS, RequestRejected, ResolvedSource
from spoold.request.nights import FIRST_NIGHT
from spoold.request.yamlsafe import LoadedYaml, YamlProblem, load_yaml_mapping

if TYPE_CHECKING:
    from spoold.site import Site

__all__ = ["ORDER_KEYS_FOR_REQUEST", "OrderRejected", "StandingOrder", "is_order_name", "parse_order"]

#: The keys of an order that each of its requests carries as they are.
ORDER_KEYS_FOR_REQUEST = ("start_from", "cuts", "irf", "lstchain", "products", "energy_range", "lightcurve",
                          "notify")
#: An order's name: its file's stem, which names its requests and its ledger.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class OrderRejected(RequestRejected):
    """An order that cannot be served; ``errors`` holds one sentence per problem (as a request's)."""


@dataclass(frozen=True)
class StandingOrder:
    """A valid standing order.

    Attributes
    ----------
    name : str
        The file's stem (``crab-health`` for ``spool/standing/crab-health.yaml``).
    sources : tuple of ResolvedSource
        The source, or each source of the allow-list; each gets its own request per night.
    since : datetime.date
        The first night the order covers.
    request_values : dict
        The keys each request carries as they are (:data:`ORDER_KEYS_FOR_REQUEST`).
    given_coordinates : bool
        True when the order gives ``ra``/``dec`` (its requests give them too).
    live : bool
        True when each run is taken through as it arrives (``live: true``, docs/standing.md).
    """

    name: str
    sources: tuple[ResolvedSource, ...]
    since: _dt.date
    request_values: dict[str, Any]
    given_coordinates: bool = False
    live: bool = False


def is_order_name(text: str) -> bool:
    """True when ``text`` can name an order (lower-case letters, digits and dashes, at most 40)."""
    return isinstance(text, str) and NAME_RE.match(text) is not None


def parse_order(raw: bytes, *, name: str, site: "Site", added: _dt.date) -> StandingOrder:
    """Read, validate and check a standing order.

    Parameters
    ----------
    raw : bytes
        The order file's bytes (YAML).
    name : str
        Its name (the file's stem).
    site : Site
    added : datetime.date
        The night it was added (the default ``since``).

    Raises
    ------
    OrderRejected
        With one sentence per problem, sorted by line.
    """
    if not is_order_name(name):
        raise OrderRejected([f"'{name}' cannot name a standing order: use lower-case letters, digits and dashes "
                             "(at most 40, starting with a letter or digit), as in crab-health.yaml."])
    try:
        loaded = load_yaml_mapping(raw, max_bytes=site.limits.max_request_bytes, what="standing order")
    except YamlProblem as problem:
        raise OrderRejected(problem.errors) from None
    errors, bad = schema_report("standing", loaded.data, loaded)
    sources: list[ResolvedSource] = []
    if "*" not in bad:
        if not bad.intersection(("source", "ra", "dec", "every", "allow")):
            sources, found = _sources(loaded, site)
            errors += found
        if not bad.intersection(("start_from", "products")):
            errors += check_products(loaded)
        if not bad.intersection(("energy_range", "lightcurve", "products")):
            errors += check_flux_keys(loaded)
        if not bad.intersection(("lstchain", "start_from")):
            errors += check_lstchain(loaded, site)
        if not bad.intersection(("cuts", "products", "lstchain")):
            products = tuple(loaded.data.get("products", DEFAULT_PRODUCTS))
            errors += check_irf_set(loaded, site_for_request(loaded.data, site), products)
    since = _dt.date.fromisoformat(loaded.data["since"]) if "since" in loaded.data and "since" not in bad else added
    if since < FIRST_NIGHT:
        errors.append(f"{_at(loaded, 'since')}'since' is {since}, before LST-1's first night ({FIRST_NIGHT}).")
    if errors:
        raise OrderRejected(sort_sentences(errors))
    values = {key: loaded.data[key] for key in ORDER_KEYS_FOR_REQUEST if key in loaded.data}
    return StandingOrder(name, tuple(sources), since, values, given_coordinates="ra" in loaded.data,
                         live=bool(loaded.data.get("live", False)))


def _at(loaded: LoadedYaml, key: str) -> str:
    line = loaded.line_of((key,))
    return f"line {line}: " if line is not None else ""


def _sources(loaded: LoadedYaml, site: "Site") -> tuple[list[ResolvedSource], list[str]]:
    """The order's sources: the one named (as a request's), or each name of the allow-list (the catalogue's)."""
    if "source" in loaded.data:
        source, errors = resolve_source(loaded, site)
        return ([source] if source else []), errors
    sources, errors = [], []
    for i, given in enumerate(str(n).strip() for n in loaded.data["allow"]):
        known = site.sources.find(given)
        if known is not None:
            sources.append(ResolvedSource(known.name, known.ra_deg, known.dec_deg, (given, *known.names)))
            continue
        close = site.sources.suggest(given)
        hint = f" — did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
        line = loaded.line_of(("allow", i))
        errors.append(f"{f'line {line}: ' if line else ''}the source '{given}' of 'allow' is not in the site's "
                      f"source catalogue{hint} Give a source the catalogue does not know an order of its own, "
                      "with 'ra' and 'dec'.")
    return sources, errors
