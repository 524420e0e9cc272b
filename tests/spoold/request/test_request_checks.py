"""Checks that need the site, the calendar and the data."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from tests.helpers.hostile import prepare_data, prepared_site
from tests.helpers.poison import unwritable
from spoold.request import parse_request, request_errors
from spoold.request.checks import tonight
from lappana.io.runcatalog import read_run_catalog, runs_of_source
from spoold.site import load_site

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


@pytest.fixture()
def site(tmp_path):
    return prepared_site(tmp_path)


@pytest.mark.parametrize(
    "now,expected",
    [
        (dt.datetime(2023, 12, 7, 20, 0, tzinfo=UTC), "2023-12-07"),  # evening: tonight
        (dt.datetime(2023, 12, 8, 5, 0, tzinfo=UTC), "2023-12-07"),   # before dawn: same night
        (dt.datetime(2023, 12, 8, 11, 59, tzinfo=UTC), "2023-12-07"),
        (dt.datetime(2023, 12, 8, 12, 0, tzinfo=UTC), "2023-12-08"),
        (dt.datetime(2023, 12, 8, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2023-12-07"),
    ],
)
def test_tonight_is_the_evening_date_in_utc(now, expected):
    assert tonight(now).isoformat() == expected


def test_tonight_is_allowed_and_not_checked_against_a_catalogue(site):
    now = dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    request = parse_request(b"source: Crab\nnight: 2026-11-23\nruns: [20001]\n", site=site, now=now)
    assert request.night == dt.date(2026, 11, 23)
    errors = request_errors(b"source: Crab\nnight: 2026-11-24\n", site=site, now=now)
    assert errors == [
        "line 2: 'night' 2026-11-24 is later than tonight (2026-11-23); LST-1 has not observed "
        "it yet (a night is named by the date its evening began)."
    ]


def test_the_source_must_have_runs_in_a_past_night(site):
    errors = request_errors(b"source: Mrk 421\nnight: 2023-12-07\n", site=site, now=NOW)
    assert errors == [
        "line 2: the run catalogue of the night of 2023-12-07 has no run of Mrk 421 (it has runs "
        "of Crab); check 'night' and 'source', or list 'runs'."
    ]


def test_catalogue_runs_match_by_alias_or_position(site):
    path = site.data.run_catalog_path("2023-12-07")
    entries = read_run_catalog(path)
    assert [e.run_id for e in entries] == [15864, 15865, 15866]
    assert runs_of_source(entries, names=["Crab Nebula", "crab"]) == [15864, 15865, 15866]
    assert runs_of_source(entries, names=["Tau A"], ra_deg=83.63, dec_deg=22.02) == [15864, 15865, 15866]
    assert runs_of_source(entries, names=["Mrk 421"], ra_deg=166.1, dec_deg=38.2) == []


def test_broken_catalogue_is_a_sentence(site):
    site.data.run_catalog_path("2023-12-07").write_text("this is not ECSV\n")
    errors = request_errors(b"source: Crab\nnight: 2023-12-07\n", site=site, now=NOW)
    assert len(errors) == 1 and "cannot be read" in errors[0] and errors[0].startswith("line 2: ")


def test_missing_irf_folder_and_dl2_only_requests(site, tmp_path):
    site = dataclasses.replace(site, irf_root=tmp_path / "no-irfs")
    errors = request_errors(b"source: Crab\nnight: 2023-12-07\n", site=site, now=NOW)
    assert "the site's IRF folder" in errors[0] and "does not exist" in errors[0]
    # DL2 alone needs no IRFs
    parse_request(b"source: Crab\nnight: 2023-12-07\nproducts: [dl2]\n", site=site, now=NOW)


def test_irf_set_sentence_lists_the_sets_there(site):
    errors = request_errors(
        b"source: Crab\nnight: 2023-12-07\ncuts: {gh_efficiency: 0.8, theta_containment: 0.7}\n",
        site=site, now=NOW,
    )
    assert errors == [
        f"line 3: 'cuts' (gh_efficiency 0.8, theta_containment 0.7) need the IRF set "
        f"eff_gh0.80_th0.70, which is not in {site.irf_root}; the sets there are "
        "eff_gh0.70_th0.70, global_gh0.70_theta0.20, and the site's models have no IRF folder of their own "
        "(lstchain.irf_root) to make it in. Choose cuts of an existing set."
    ]
    errors = request_errors(b"source: Crab\nnight: 2023-12-07\nstart_from: dl2\nproducts: [dl3]\n"
                            b"cuts: {gh_efficiency: 0.8, theta_containment: 0.7}\n", site=site, now=NOW)
    assert errors[0].endswith("the sets there are eff_gh0.70_th0.70, global_gh0.70_theta0.20, and IRFs for other "
                              "cuts are made only for requests from DL1, whose DL2 the site's models make. "
                              "Choose cuts of an existing set."), errors


def test_dl1_requests_check_the_irf_sets_of_the_models(site):
    models_irf = site.lstchain.models / "IRF" / "eff_gh0.70_th0.70"
    models_irf.mkdir(parents=True)
    parse_request(b"source: Crab\nnight: 2023-12-07\n", site=site, now=NOW)  # the models have it
    other = b"source: Crab\nnight: 2023-12-07\ncuts: {gh_cut: 0.7, theta_cut_deg: 0.2}\n"
    parse_request(other, site=site, now=NOW)  # the models' IRF folder can take it: the irf step makes it
    with unwritable(models_irf.parent):
        errors = request_errors(other, site=site, now=NOW)
    assert f"which is not in {site.lstchain.models / 'IRF'}; the sets there are eff_gh0.70_th0.70, and the site " \
           f"cannot make it there ({site.lstchain.models / 'IRF'} is not writable)" in errors[0]
    # the site's own DL2 takes the site's IRF sets, which have the global one
    parse_request(b"source: Crab\nnight: 2023-12-07\nstart_from: dl2\nproducts: [dl3]\n"
                  b"cuts: {gh_cut: 0.7, theta_cut_deg: 0.2}\n", site=site, now=NOW)


def test_output_stays_inside_the_write_roots(site, tmp_path):
    results = tmp_path / "results"
    (results / "alice").mkdir(parents=True)
    (results / "escape").symlink_to("/etc")
    site = dataclasses.replace(site, write_roots=(results,))
    base = b"source: Crab\nnight: 2023-12-07\noutput: "
    ok = parse_request(base + str(results / "alice" / "crab").encode() + b"\n", site=site, now=NOW)
    assert ok.output == results / "alice" / "crab"
    errors = request_errors(base + str(results / "escape" / "x").encode() + b"\n", site=site, now=NOW)
    assert "is outside the folders this site lets requests write to" in errors[0]
    errors = request_errors(base + b"/tmp/elsewhere\n", site=site, now=NOW)
    assert errors[0].startswith("line 3: 'output' /tmp/elsewhere is outside")


def test_site_sources_extend_the_catalogue(tmp_path):
    prepare_data(tmp_path / "data")
    (tmp_path / "site.yaml").write_text("sources: {Tau A: {ra: 83.63, dec: 22.01}}\n")
    site = load_site(tmp_path / "site.yaml", spool_root=tmp_path / "spool")
    request = parse_request(b"source: tau a\nnight: 2023-12-07\n", site=site, now=NOW)
    assert request.source_name == "Tau A"  # and its runs are found by position


def test_catalogues_written_by_lappana_are_read(tmp_path):
    from lappana.io.runcatalog import write_run_catalog

    site = prepared_site(tmp_path)
    path = site.data.run_catalog_path("2024-01-10")
    write_run_catalog(path, [
        {"run_id": 16001, "source_name": "Crab", "source_ra": 83.633, "source_dec": 22.014, "zenith": 20.0},
        {"run_id": 16002, "source_name": "Mrk421", "source_ra": 166.114, "source_dec": 38.209, "zenith": 30.0},
    ])
    entries = read_run_catalog(path)
    assert [(e.run_id, e.source_name) for e in entries] == [(16001, "Crab"), (16002, "Mrk421")]
    assert parse_request(b"source: Mrk 421\nnight: 2024-01-10\n", site=site, now=NOW).runs is None
    errors = request_errors(b"source: Crab\nnight: 2024-01-10\nruns: [16003]\n", site=site, now=NOW)
    assert errors[0].startswith("line 3: run 16003 is not in the run catalogue of the night of 2024-01-10")
