"""Request key nights: a list or a {from, to} range, checked night by night, resolved run by run."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from tests.helpers.hostile import prepare_data, prepared_site
from spoold.pipeline.base import Context
from spoold.pipeline.resolve import resolve
from spoold.request import parse_request, request_errors

NOW = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.timezone.utc)  # tonight: 2026-11-23
HEAD = b"source: Crab Nebula\nstart_from: dl2\nproducts: [dl3, spectrum, lightcurve]\n"
#: nights with runs of the Crab in the tree below (on 2023-12-09 only Mrk 421 was observed; 2023-12-11 has no
#: catalogue: no observation)
NIGHT_RUNS = {"2023-12-07": (15864, 15865), "2023-12-08": (15880,), "2023-12-10": (15890, 15891)}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("nights")
    for night, runs in NIGHT_RUNS.items():
        prepare_data(root / "data", night=night, runs=runs)
    other = root / "data" / "monitoring" / "RunCatalog" / "RunCatalog_20231209.ecsv"
    other.write_text((root / "data" / "monitoring" / "RunCatalog" / "RunCatalog_20231208.ecsv").read_text()
                     .replace("15880 Crab 83.633 22.014", '15885 "Mrk 421" 166.114 38.209'))
    return prepared_site(root)


def test_a_list_of_nights_becomes_the_request(site):
    request = parse_request(HEAD + b"nights: [2023-12-08, 2023-12-07]\n", site=site, now=NOW)
    assert request.night is None and not request.nights_range
    assert request.nights == (dt.date(2023, 12, 7), dt.date(2023, 12, 8))


def test_a_range_takes_every_night_between(site):
    request = parse_request(HEAD + b"nights: {from: 2023-12-07, to: 2023-12-10}\n", site=site, now=NOW)
    assert request.nights_range and len(request.nights) == 4 and request.nights[-1] == dt.date(2023, 12, 10)


def test_one_night_stays_as_it_was(site):
    request = parse_request(HEAD + b"night: 2023-12-07\n", site=site, now=NOW)
    assert request.night == dt.date(2023, 12, 7) and request.nights == (dt.date(2023, 12, 7),)


@pytest.mark.parametrize("lines, words", [
    (b"night: 2023-12-07\nnights: [2023-12-08]\n", "gives both 'night' and 'nights'"),
    (b"nights: [2023-12-07, 2023-12-32]\n", "line 4: 'nights item 2' 2023-12-32 is not a real date"),
    (b"nights: [2023-12-07, 2099-01-01]\n", "'nights item 2' 2099-01-01 is later than tonight (2026-11-23)"),
    (b"nights: {from: 2023-12-10, to: 2023-12-07}\n", "runs from 2023-12-10 to 2023-12-07, backwards"),
    (b"nights: {from: 2023-01-01, to: 2023-12-07}\n", "covers 341 nights; at most 92"),
    (b"nights: {from: 2023-12-07}\n", "'to' is missing in 'nights': add a line like 'to: 2023-12-10'"),
    (b"nights: {form: 2023-12-07, to: 2023-12-08}\n", "did you mean 'from'?"),
    (b"nights: 2023-12-07\n", "'nights' must be a list of dates written YYYY-MM-DD"),
    (b"nights: []\n", "'nights' is an empty list"),
    (b"nights: [2023-12-07, 2023-12-07]\n", "lists \"2023-12-07\" more than once"),
    (b"nights: [2023-12-07, 2023-12-09]\n", "no run of Crab Nebula; check 'nights' and 'source'"),
    (b"nights: [2023-12-07, 2023-12-11]\n", "no run catalogue for the night of 2023-12-11"),
    (b"nights: {from: 2023-12-11, to: 2023-12-20}\n", "no night from 2023-12-11 to 2023-12-20 has a run of Crab"),
    (b"nights: [2023-12-07, 2023-12-08]\nruns: [15864, 15999]\n", "run(s) 15999 are in no run catalogue"),
])
def test_mistakes_in_nights_are_sentences(site, lines, words):
    errors = request_errors(HEAD + lines, site=site, now=NOW)
    assert any(words in e for e in errors), errors


def _context(site, request, tmp_path: Path, now=NOW) -> Context:
    return Context(site, request, tmp_path / "running" / "r-1", {"id": "r-1"}, tmp_path / "products", now=now)


def _touch_dl2(site, night: str, runs) -> None:
    for run in runs:
        path = site.data.dl2_path(night, run)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"dl2\n")


def test_resolve_finds_each_run_in_its_night_and_skips_a_range_night_without_runs(site, tmp_path):
    for night, runs in NIGHT_RUNS.items():
        _touch_dl2(site, night, runs)
    request = parse_request(HEAD + b"nights: {from: 2023-12-07, to: 2023-12-10}\n", site=site, now=NOW)
    found = resolve(_context(site, request, tmp_path))
    assert found.error is None and not found.missing
    assert found.runs == (15864, 15865, 15880, 15890, 15891)
    assert found.nights == ("20231207", "20231208", "20231210")
    assert found.run_nights[15880] == "20231208"
    assert found.inputs[15890].endswith("DL2/20231210/v0.10/tailcut84/dl2_LST-1.Run15890.h5")


def test_resolve_waits_for_a_night_that_is_not_there_yet(site, tmp_path):
    """Tonight's catalogue is not written yet: the request waits for it, then for its files."""
    tonight = "2026-11-23"
    request = parse_request(HEAD + f"nights: [2023-12-07, {tonight}]\n".encode(), site=site, now=NOW)
    found = resolve(_context(site, request, tmp_path))
    assert found.error is None and found.missing == (str(site.data.run_catalog_path("20261123")),)
    prepare_data(site.data.data_root, night=tonight, runs=(16001,))
    found = resolve(_context(site, request, tmp_path))
    assert found.missing == (str(site.data.dl2_path("20261123", 16001)),)
    _touch_dl2(site, "20261123", (16001,))
    found = resolve(_context(site, request, tmp_path))
    assert not found.missing and found.runs == (15864, 15865, 16001) and found.run_nights[16001] == "20261123"


def test_a_past_range_night_without_catalogue_is_not_waited_for(site, tmp_path):
    request = parse_request(HEAD + b"nights: {from: 2023-12-10, to: 2023-12-12}\n", site=site, now=NOW)
    _touch_dl2(site, "2023-12-10", NIGHT_RUNS["2023-12-10"])
    found = resolve(_context(site, request, tmp_path))
    assert not found.missing and found.nights == ("20231210",)
    later = dataclasses.replace(request, nights_range=False)  # listed: a missing catalogue is waited for
    assert resolve(_context(site, later, tmp_path)).missing
