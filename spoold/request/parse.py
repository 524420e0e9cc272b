"""From the bytes of a request file to a :class:`Request`, or every reason it is refused."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

from lappana.irf_method import IRF_INTERPOLATE
from spoold.request.checks import check_request, cuts_of
from spoold.request.intake import read_request_file
from spoold.request.messages import schema_report, sort_sentences
from spoold.request.model import DEFAULT_PRODUCTS, PRODUCTS, Request, RequestRejected, SlurmOverrides
from spoold.request.yamlsafe import LoadedYaml, YamlProblem, load_yaml_mapping

if TYPE_CHECKING:
    from spoold.site import Site

__all__ = ["parse_request", "validate_request_file", "request_errors", "MAX_SENTENCES"]

#: At most this many sentences are given; a file with more problems is not a request.
MAX_SENTENCES = 25


def _capped(errors: list[str]) -> list[str]:
    if len(errors) <= MAX_SENTENCES:
        return errors
    more = len(errors) - MAX_SENTENCES
    return errors[:MAX_SENTENCES] + [
        f"... and {more} more problems; is this file a request? Run 'spool template' for an example."
    ]


def _products(data: dict) -> tuple[str, ...]:
    asked = data.get("products", DEFAULT_PRODUCTS)
    return tuple(p for p in PRODUCTS if p in asked)


def _build(loaded: LoadedYaml, source, asked, products) -> Request:
    """Make the Request of a request that passed every check."""
    data = loaded.data
    slurm = data.get("slurm", {})
    return Request(
        source_name=source.name,
        ra_deg=source.ra_deg,
        dec_deg=source.dec_deg,
        night=asked.night,
        nights=asked.nights,
        nights_range=asked.is_range,
        runs=tuple(int(r) for r in data["runs"]) if "runs" in data else None,
        start_from=data.get("start_from", "dl1"),
        cuts=cuts_of(data),
        irf=data.get("irf", IRF_INTERPOLATE),
        lstchain=data.get("lstchain"),
        standing_order=data.get("standing_order"),
        live=bool(data.get("live", False)),
        products=products,
        notify=tuple(data.get("notify", ())),
        slurm=SlurmOverrides(
            partition=slurm.get("partition"),
            account=slurm.get("account"),
            qos=slurm.get("qos"),
            time=slurm.get("time"),
            mem=slurm.get("mem"),
            cpus_per_task=int(slurm["cpus_per_task"]) if "cpus_per_task" in slurm else None,
            extra=tuple(slurm.get("extra", ())),
        ),
        output=Path(data["output"]) if "output" in data else None,
        energy_range=(data["energy_range"].get("min"), data["energy_range"].get("max"))
        if "energy_range" in data else None,
        lightcurve_bin=str(data.get("lightcurve", {}).get("bin", "20 min")),
        raw=data,
    )


def parse_request(raw: bytes, *, site: "Site", now: _dt.datetime | None = None) -> Request:
    """Read, validate and check a request.

    Parameters
    ----------
    raw : bytes
        The request file's bytes (YAML, UTF-8).
    site : Site
        The site: size limit, source catalogue, data tree, IRF sets, write roots.
    now : datetime, optional
        The time to judge nights by (default: the current UTC time, at each call).

    Returns
    -------
    Request

    Raises
    ------
    RequestRejected
        With one sentence per problem, sorted by line.
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    try:
        loaded = load_yaml_mapping(raw, max_bytes=site.limits.max_request_bytes)
    except YamlProblem as problem:
        raise RequestRejected(_capped(problem.errors)) from None
    errors, bad = schema_report("request", loaded.data, loaded)
    products = _products(loaded.data) if "products" not in bad else ()
    source, asked, more = check_request(loaded, site, now, products, bad)
    errors = sort_sentences(errors + more)
    if errors:
        raise RequestRejected(_capped(errors))
    return _build(loaded, source, asked, products)


def request_errors(raw: bytes, *, site: "Site", now: _dt.datetime | None = None) -> list[str]:
    """Return the sentences :func:`parse_request` would raise ([] when the request is valid)."""
    try:
        parse_request(raw, site=site, now=now)
    except RequestRejected as rejected:
        return rejected.errors
    return []


def validate_request_file(path: Path | str, site: "Site", now: _dt.datetime | None = None) -> list[str]:
    """Return exactly the daemon's sentences about a request file ([] when valid).

    A folder, a FIFO or a file over the size limit gets a sentence too; the
    file is never read past the limit.
    """
    try:
        raw = read_request_file(Path(path), max_bytes=site.limits.max_request_bytes, follow_symlinks=True)
    except RequestRejected as rejected:
        return rejected.errors
    return request_errors(raw, site=site, now=now)
