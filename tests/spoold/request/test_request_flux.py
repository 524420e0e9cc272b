"""Request keys of the flux: energy_range, products spectrum and lightcurve, lightcurve: {bin}."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.helpers.hostile import prepared_site
from spoold.pipeline.base import Context
from spoold.pipeline.steps import ReportStep
from spoold.request import parse_request, request_errors

NOW = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.timezone.utc)
BASE = b"source: Crab Nebula\nnight: 2023-12-07\nruns: [15864, 15865]\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return prepared_site(tmp_path_factory.mktemp("flux"))


def test_flux_keys_become_the_request_and_the_report_arguments(site):
    request = parse_request(BASE + b"products: [dl3, spectrum, lightcurve, report]\n"
                                   b"energy_range: {min: 0.2, max: 10}\nlightcurve: {bin: night}\n",
                            site=site, now=NOW)
    assert request.products == ("dl3", "spectrum", "lightcurve", "report")
    assert request.energy_range == (0.2, 10) and request.lightcurve_bin == "night"

    ctx = Context(site, request, Path("/spool/running/r-1"), {"night": "20231207", "runs": [15864, 15865]},
                  Path("/tmp/products"))
    argv = ReportStep().tasks(ctx)[0].argv
    provenance = json.loads(argv[argv.index("--provenance") + 1])
    assert provenance["request_id"] == "r-1" and provenance["runs"] == [15864, 15865]
    assert provenance["nights"] == ["2023-12-07"] and provenance["run_nights"] == {"15864": "20231207", "15865": "20231207"}
    assert provenance["irf_set"] == "eff_gh0.70_th0.70" and provenance["irf_dir"].endswith("eff_gh0.70_th0.70")
    assert ["--emin", "0.2", "--emax", "10"] == [a for a in argv if a in ("--emin", "--emax", "0.2", "10")]
    assert "--spectrum" in argv and argv[argv.index("--lightcurve") + 1] == "night"


def test_defaults_stay_without_the_flux(site):
    request = parse_request(BASE, site=site, now=NOW)
    assert "spectrum" not in request.products and request.energy_range is None
    assert request.lightcurve_bin == "20 min"


@pytest.mark.parametrize("extra, words", [
    (b"products: [dl3, spectrm]\n", "did you mean 'spectrum'?"),
    (b"energy_range: {min: 2, max: 1}\n", "'energy_range' has min 2 TeV, not below max 1 TeV"),
    (b"energy_range: {mn: 0.2}\n", "did you mean 'min'?"),
    (b"energy_range: {min: -1}\n", "an energy in TeV above 0"),
    (b"products: [dl3, lightcurve]\nlightcurve: {bin: weekly}\n", "run, night or a livetime such as '20 min'"),
    (b"lightcurve: {bin: run}\n", "does not ask for one; add lightcurve to 'products'"),
])
def test_mistakes_in_the_flux_keys_are_sentences(site, extra, words):
    errors = request_errors(BASE + extra, site=site, now=NOW)
    assert any(words in e for e in errors), errors
