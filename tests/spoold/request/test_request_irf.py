"""The request key ``irf``: interpolate (default) or nearest, into the dl3 step's lappana flags (issue 15)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.helpers.hostile import prepared_site
from spoold.commands.template import template_text
from spoold.pipeline.base import Context
from spoold.pipeline.steps import Dl3Step, ReportStep
from spoold.request import parse_request, request_errors

NOW = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.timezone.utc)
BASE = b"source: Crab Nebula\nnight: 2023-12-07\nruns: [15864, 15865]\nstart_from: dl2\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return prepared_site(tmp_path_factory.mktemp("irf"))


def _argv(site, request):
    ctx = Context(site, request, Path("/spool/running/r-1"), {"night": "20231207", "runs": [15864, 15865]},
                  Path("/tmp/products"))
    return [str(a) for a in Dl3Step().tasks(ctx)[0].argv], ReportStep().tasks(ctx)[0].argv


def test_interpolation_is_the_default_and_nearest_is_asked_for(site):
    default = parse_request(BASE, site=site, now=NOW)
    assert default.irf == "interpolate"
    dl3_argv, report_argv = _argv(site, default)
    assert "--irf-nearest" not in dl3_argv
    assert json.loads(report_argv[report_argv.index("--provenance") + 1])["irf"] == "interpolate"

    nearest = parse_request(BASE + b"irf: nearest\n", site=site, now=NOW)
    assert nearest.irf == "nearest"
    dl3_argv, report_argv = _argv(site, nearest)
    assert "--irf-nearest" in dl3_argv
    assert json.loads(report_argv[report_argv.index("--provenance") + 1])["irf"] == "nearest"
    assert parse_request(BASE + b"irf: interpolate\n", site=site, now=NOW).irf == "interpolate"


def test_a_wrong_value_is_one_sentence_naming_the_choices(site):
    errors = request_errors(BASE + b"irf: nearst\n", site=site, now=NOW)
    print(errors)
    assert len(errors) == 1
    assert errors[0].startswith("line 5: 'irf'") and "interpolate, nearest" in errors[0]


def test_the_template_shows_the_key_and_validates(site):
    text = template_text()
    assert "\nirf: interpolate\n" in text
    assert parse_request(text.encode(), site=site, now=NOW).irf == "interpolate"
