"""The request key ``lstchain`` and the site's map of lstchain versions (issue 15, point 1).

A site offers its default lstchain and others (``lstchain.versions``); a request from DL1 names one
(``lstchain: "0.10"``) and its DL2 is made by that version's environment and models, its IRF set looked
for beside those models, and its cache entries keyed apart from the default's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.helpers.spool import make_tree
from spoold.pipeline.base import Context
from spoold.pipeline.dl2_cache import entries
from spoold.pipeline.steps import Dl2Step
from spoold.request import parse_request, request_errors
from spoold.request.checks import site_for_request
from spoold.site import load_site

NOW = dt.datetime(2023, 12, 8, 10, tzinfo=dt.timezone.utc)
RUNS = (15864, 15865)
REQUEST = b"source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl1\nproducts: [dl3]\n"


def _folder(path: Path, *names: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in names:
        (path / name).mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("versions")
    make_tree(root / "data", runs=RUNS, dl1=True, dl2=False)
    for version in ("12", "10"):
        _folder(root / f"env{version}", "bin")
        _folder(root / f"models{version}", "IRF/eff_gh0.70_th0.70")
        (root / f"models{version}" / "cls_gh.sav").write_bytes(b"a model of " + version.encode())
    _folder(root / "models11")
    (root / "site.yaml").write_text(
        f"data: {{root: {root / 'data'}}}\n"
        f"lstchain:\n  env: {root / 'env12'}\n  models: {root / 'models12'}\n  version: '0.12'\n"
        f"  versions:\n    '0.10': {{env: {root / 'env10'}, models: {root / 'models10'}}}\n"
        f"    '0.11': {{env: {root / 'gone'}, models: {root / 'models11'}}}\n")
    return load_site(root / "site.yaml", spool_root=root / "spool")


def _dl2_argv(site, request) -> list[str]:
    ctx = Context(site_for_request(request.raw or {"lstchain": request.lstchain}, site), request,
                  Path("/spool/running/r-1"), {"night": "20231207", "runs": list(RUNS)}, Path("/tmp/products"))
    return [str(a) for a in Dl2Step().tasks(ctx)[0].argv], [e.path for e in entries(ctx)]


def test_the_site_offers_its_default_and_its_other_versions(site):
    assert site.lstchain_offered() == ["0.12", "0.10", "0.11"]
    assert site.for_lstchain(None) is site and site.for_lstchain("0.12") is site
    ten = site.for_lstchain("0.10").lstchain
    assert ten.version == "0.10" and ten.env.endswith("env10") and ten.models.name == "models10"
    assert ten.dl2_cache == site.lstchain.dl2_cache  # one cache, keyed by what made each entry
    with pytest.raises(KeyError):
        site.for_lstchain("0.9")


def test_a_request_naming_a_version_gets_its_environment_and_models(site):
    default = parse_request(REQUEST, site=site, now=NOW)
    ten = parse_request(REQUEST + b'lstchain: "0.10"\n', site=site, now=NOW)
    assert default.lstchain is None and ten.lstchain == "0.10"
    argv12, cache12 = _dl2_argv(site, default)
    argv10, cache10 = _dl2_argv(site, ten)
    assert any(a.endswith("env12") for a in argv12) and any(a.endswith("models12") for a in argv12)
    assert any(a.endswith("env10") for a in argv10) and any(a.endswith("models10") for a in argv10)
    assert not any("env12" in a or "models12" in a for a in argv10)
    assert set(cache12).isdisjoint(cache10)  # the same runs' DL2 by two versions: two cache entries


def test_a_version_the_site_does_not_offer_is_one_sentence_naming_those_it_does(site):
    errors = request_errors(REQUEST + b'lstchain: "0.9"\n', site=site, now=NOW)
    assert errors == ["line 5: 'lstchain' asks for 0.9, which this site does not offer: it offers "
                      "0.12 (its default), 0.10 and 0.11."]
    errors = request_errors(REQUEST + b"lstchain: latest\n", site=site, now=NOW)
    assert len(errors) == 1 and errors[0].startswith("line 5: 'lstchain' must be an lstchain version")


def test_an_offered_version_that_is_not_installed_is_refused_at_once(site):
    errors = request_errors(REQUEST + b'lstchain: "0.11"\n', site=site, now=NOW)
    assert len(errors) == 1
    assert "the site offers lstchain 0.11, but its environment" in errors[0] and "gone does not exist" in errors[0]


def test_lstchain_is_refused_for_a_request_from_dl2(site):
    errors = request_errors(REQUEST.replace(b"dl1", b"dl2") + b'lstchain: "0.10"\n', site=site, now=NOW)
    assert len(errors) == 1 and "'start_from: dl2' takes the site's DL2 as it was made" in errors[0]


def test_the_embedded_site_offers_what_setup_lstchain_installs(monkeypatch, tmp_path):
    for name in ("ASTRAN_LSTCHAIN_ENV", "ASTRAN_LSTCHAIN_010_ENV", "ASTRAN_LSTCHAIN_010_MODELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASTRAN_PEERS", str(tmp_path))
    site = load_site(None, spool_root=tmp_path / "spool")
    assert "0.10" in site.lstchain_offered()
    ten = site.for_lstchain("0.10").lstchain
    assert ten.env == str(tmp_path / "lstchain-0.10.18") and ten.models == tmp_path / "models" / "lstchain-0.10.18"
