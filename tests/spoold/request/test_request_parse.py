"""Requests: the issue's example, defaults, the Request object, sentences for every mistake."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.helpers.hostile import prepared_site
from spoold.request import RequestRejected, parse_request, request_errors
from spoold.request.yamlsafe import YamlProblem, load_yaml_mapping

NOW = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.timezone.utc)

ISSUE_EXAMPLE = b"""\
source: Crab Nebula
night: 2023-12-07
runs: [15864, 15865, 15866]
start_from: dl1
cuts: {gh_efficiency: 0.7, theta_containment: 0.7}
products: [dl3, theta2, skymap, diagnostics]
notify: [analyst@example.org]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return prepared_site(tmp_path_factory.mktemp("parse"))


def test_issue_example_validates(site):
    request = parse_request(ISSUE_EXAMPLE, site=site, now=NOW)
    assert request.source_name == "Crab Nebula"
    assert (request.ra_deg, request.dec_deg) == pytest.approx((83.633, 22.0145))
    assert request.night == dt.date(2023, 12, 7)
    assert request.runs == (15864, 15865, 15866)
    assert request.start_from == "dl1"
    assert request.cuts.kind == "efficiency"
    assert request.irf_set_name == "eff_gh0.70_th0.70"
    assert request.products == ("dl3", "theta2", "skymap", "diagnostics")
    assert request.notify == ("analyst@example.org",)
    assert request.slurm.time is None and request.output is None
    assert request.raw["night"] == "2023-12-07"


def test_defaults_and_every_run_of_the_night(site):
    request = parse_request(b"source: crab\nnight: 2023-12-07\n", site=site, now=NOW)
    assert request.runs is None
    assert request.source_name == "Crab Nebula"
    assert request.cuts.irf_set_name == "eff_gh0.70_th0.70"
    assert request.products == ("dl3", "theta2", "skymap", "diagnostics", "report")
    assert request.notify == ()


def test_global_cut_slurm_and_coordinates(site):
    raw = b"""\
source: Crab Nebula
ra: 83.6
dec: 22.0
night: 2023-12-07
start_from: dl2
cuts: {gh_cut: 0.7, theta_cut_deg: 0.2}
products: [report, dl3]
slurm: {time: 1:30:00, mem: 8G, cpus_per_task: 2, partition: short, extra: ["--constraint=ssd", --exclusive]}
"""
    request = parse_request(raw, site=site, now=NOW)
    assert (request.ra_deg, request.dec_deg) == (83.6, 22.0)
    assert request.cuts.kind == "global" and request.irf_set_name == "global_gh0.70_theta0.20"
    assert request.products == ("dl3", "report")  # pipeline order
    assert request.slurm.time == "1:30:00"  # not the sexagesimal number 5400
    assert request.slurm.extra == ("--constraint=ssd", "--exclusive")


def test_unknown_source_with_coordinates_is_fine(site):
    raw = b"source: GRB 221009A\nra: 288.2645\ndec: 19.7735\nnight: 2023-12-07\nruns: [15864]\n"
    request = parse_request(raw, site=site, now=NOW)
    assert request.source_name == "GRB 221009A"


def test_every_error_is_reported_not_just_the_first(site):
    raw = b"sorce: Crab\nnight: 2023-12-07\nruns: [15864, abc]\nproducts: [thetasq]\nnotify: [me@]\n"
    errors = request_errors(raw, site=site, now=NOW)
    assert [e.split(":")[0] for e in errors] == ["line 1", "line 3", "line 4", "line 5"]
    assert "did you mean 'source'" in errors[0]
    assert "did you mean 'theta2'" in errors[2]


def test_schema_and_site_checks_are_reported_together(site):
    raw = b"source: Crab\nnight: 2023-12-07\nruns: [15864, 15999]\nproducts: [thetasq]\n"
    errors = request_errors(raw, site=site, now=NOW)
    assert len(errors) == 2
    assert errors[0].startswith("line 3: run 15999 is not in the run catalogue")
    assert errors[1].startswith("line 4: 'products item 1'")


def test_yaml_lines_are_kept_for_nested_fields():
    loaded = load_yaml_mapping(b"a: 1\n\ncuts:\n  gh_cut: 0.5\n  theta_cut_deg: 0.2\nruns:\n  - 1\n  - 2\n", max_bytes=1000)
    assert loaded.line_of(("cuts", "theta_cut_deg")) == 5
    assert loaded.line_of(("runs", 1)) == 8
    assert loaded.line_of(("runs", 7)) == 6  # falls back to the parent


def test_yaml_one_oh_one_surprises_are_kept_as_written():
    loaded = load_yaml_mapping(b"night: 2023-12-07\ntime: 1:00:00\nflag: yes\n", max_bytes=1000)
    assert loaded.data == {"night": "2023-12-07", "time": "1:00:00", "flag": True}


def test_size_limit_is_checked_before_parsing():
    with pytest.raises(YamlProblem, match="more than the limit of 100 bytes"):
        load_yaml_mapping(b"a: [" + b"1," * 100 + b"]", max_bytes=100)


def test_boolean_where_text_expected_is_said_plainly(site):
    errors = request_errors(b"source: Crab\nnight: 2023-12-07\nstart_from: no\n", site=site, now=NOW)
    assert errors == [
        "line 3: 'start_from' is the value false, which is not allowed; choose one of dl1, dl2."
    ]


def test_now_is_taken_at_each_call_not_at_import(site):
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).date().isoformat()
    errors = request_errors(f"source: Crab\nnight: {tomorrow}\n".encode(), site=site)
    assert "later than tonight" in errors[0]


def test_whole_numbers_written_as_floats_become_ints(site):
    raw = b"source: Crab\nnight: 2023-12-07\nruns: [15864.0]\nslurm: {cpus_per_task: 2.0}\ncuts: {gh_cut: 1, theta_cut_deg: 0.2}\n"
    (site.irf_root / "global_gh1.00_theta0.20").mkdir(exist_ok=True)
    request = parse_request(raw, site=site, now=NOW)
    assert request.runs == (15864,) and isinstance(request.runs[0], int)
    assert request.slurm.cpus_per_task == 2 and isinstance(request.slurm.cpus_per_task, int)
    assert request.cuts.gh_cut == 1.0 and request.irf_set_name == "global_gh1.00_theta0.20"


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b'source: "Crab\nnight: 1\n', "line 3, column 1: the YAML is not valid: found unexpected end of stream while scanning a quoted scalar; a quote is opened and never closed."),
        (b"runs: [1, 2\nnight: x\n", "line 2, column 6: the YAML is not valid: expected ',' or ']', but got ':' while parsing a flow sequence; check the brackets"),
        (b"source: @crab\n", "line 1, column 9: the YAML is not valid: found character '@' that cannot start any token while scanning for the next token; quote a value that starts with @"),
        (b"source: Crab: Nebula\n", "line 1, column 13: the YAML is not valid: mapping values are not allowed here; a second ':' on one line"),
        (b"source: Crab\n  night: 2023-12-07\n", "line 2, column 8: the YAML is not valid: mapping values are not allowed here; this line is indented more than it should be"),
    ],
)
def test_yaml_syntax_errors_have_line_column_and_a_hint(raw, expected):
    with pytest.raises(YamlProblem) as caught:
        load_yaml_mapping(raw, max_bytes=1000)
    assert caught.value.errors[0].startswith(expected), caught.value.errors
