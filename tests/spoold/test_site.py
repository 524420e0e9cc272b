"""The site: defaults for the embedded case, a site file validated with sentences."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from spoold.site import SiteError, load_site
from spoold.sources import embedded_catalog

ROOT = Path(__file__).resolve().parents[2]


def test_schemas_shipped_with_the_package_equal_the_repository_ones():
    for name in ("request.schema.json", "site.schema.json"):
        assert filecmp.cmp(ROOT / "schemas" / name, ROOT / "spoold" / "schemas" / name, shallow=False), name


def test_defaults_make_the_embedded_case(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTRAN_LSTCHAIN_ENV", "/opt/lst-env")
    monkeypatch.delenv("ASTRAN_LSTCHAIN_MODELS", raising=False)
    monkeypatch.delenv("ASTRAN_PEERS", raising=False)
    monkeypatch.chdir(tmp_path)
    site = load_site(None)
    assert site.spool_root == tmp_path / "spool"
    assert site.executor == "local"
    assert site.data.data_root == tmp_path / "data"
    assert site.irf_root == tmp_path / "data" / "IRF"
    assert site.lstchain.env == "/opt/lst-env"
    assert site.lstchain.models == Path.home() / ".cache/astran/peers/models/default"
    assert site.output_root is None and site.mail is None
    monkeypatch.setenv("ASTRAN_PEERS", str(tmp_path / "peers"))  # where scripts/ put the peers
    assert load_site(None).lstchain.models == tmp_path / "peers" / "models" / "default"
    assert site.limits.max_request_bytes == 64 * 1024
    assert site.limits.max_tasks_in_flight == 2
    assert site.slurm.retry_states == ["NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY"]
    assert site.data.dl1_path("2023-12-07", 15864) == (
        tmp_path / "data/DL1/20231207/v0.10/tailcut84/dl1_LST-1.Run15864.h5"
    )
    assert site.data.run_catalog_path("2023-12-07").name == "RunCatalog_20231207.ecsv"


def test_spool_root_argument_wins(tmp_path):
    site = load_site(None, spool_root=tmp_path / "elsewhere" / "spool")
    assert site.data.data_root == tmp_path / "elsewhere" / "data"


def test_example_site_file_loads():
    site = load_site(ROOT / "scripts" / "site.example.yaml")
    assert site.executor == "slurm"
    assert site.slurm.partition and site.mail is not None
    assert "Crab Nebula" in site.sources
    assert site.lstchain_offered() == ["0.12", "0.10"]
    assert "v0.10.18" in site.for_lstchain("0.10").lstchain.env and "v0.12.3" in site.lstchain.env


def test_site_file_paths_are_relative_to_its_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "site.yaml"
    path.write_text(
        "spool: ../spool\n"
        "data: {root: /fefs/data, dl1_pattern: '{data_root}/{night}/dl1_{run:05d}.h5'}\n"
        "irf_root: irfs\n"
        "write_roots: [/fefs/results]\n"
        "limits: {max_tasks_in_flight: 50}\n"
        "sources: {My Blazar: {ra: 10.5, dec: -3.25, aliases: [MB 1]}}\n"
        "mail: {imap_host: localhost, imap_user: astran, smtp_host: localhost,"
        " from_address: astran@example.org, ca_file: ca.pem}\n"
    )
    site = load_site(path)
    assert site.spool_root == tmp_path / "spool"
    assert site.irf_root == tmp_path / "conf" / "irfs"
    assert site.data.dl1_path("2023-12-07", 7).as_posix() == "/fefs/data/20231207/dl1_00007.h5"
    assert site.write_roots == (Path("/fefs/results"),)
    assert site.limits.max_tasks_in_flight == 50 and site.limits.data_wait_hours == 36
    assert site.sources["mb1"] == (10.5, -3.25)
    assert site.mail.ca_file == tmp_path / "conf" / "ca.pem" and site.mail.imap_port == 993


@pytest.mark.parametrize(
    "text,phrase",
    [
        ("executor: slurmm\n", "'executor' is \"slurmm\", which is not allowed; choose one of local, slurm"),
        ("limts: {}\n", "'limts' is not a known key — did you mean 'limits'?"),
        ("limits: {max_tasks_in_flight: 0}\n", "'limits.max_tasks_in_flight' must be at least 1"),
        ("slurm: {time: 1:00}\n", "'slurm.time' must be a time limit"),
        ("data: {dl1_pattern: '{data_root}/{nite}/x.h5'}\n", "'data.dl1_pattern'"),
        ("spool: '/tmp/x; rm -rf /'\n", "'spool' must be a folder path"),
        ("mail: {imap_host: localhost}\n", "'imap_user' is missing in 'mail'"),
        ("sources: {Crab Nebula: {ra: 83.6}}\n", "'dec' is missing in 'sources.Crab Nebula'"),
        ("executor: [local]\n", "line 1: 'executor'"),
        ("a: &x 1\nb: *x\n", "YAML anchors"),
        ("", "The site file is empty"),
    ],
)
def test_bad_site_files_are_said_in_sentences(tmp_path, text, phrase):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    with pytest.raises(SiteError) as caught:
        load_site(path)
    assert any(phrase in e for e in caught.value.errors), caught.value.errors
    assert str(path) in str(caught.value)


def test_missing_site_file_is_one_sentence(tmp_path):
    with pytest.raises(SiteError, match="There is no site file"):
        load_site(tmp_path / "nope.yaml")


def test_embedded_catalogue_lookups():
    catalog = embedded_catalog()
    assert catalog["crab"] == catalog["Crab Nebula"] == catalog["CRAB_NEBULA"]
    assert catalog.find("mkn 421").name == "Mrk 421"
    assert catalog.find("1es1959+650").name == "1ES 1959+650"
    for name in ("Crab Nebula", "Mrk 421", "Mrk 501", "1ES 1959+650", "BL Lac", "PG 1553+113",
                 "1ES 0647+250", "OJ 287", "3C 279", "Geminga"):
        assert name in catalog
    ra, dec = catalog["Mrk 421"]
    assert abs(ra - 166.114) < 0.01 and abs(dec - 38.209) < 0.01
    assert catalog.suggest("Mrk421x")[0] == "Mrk 421"
    assert catalog.nearest(83.63, 22.01, 0.1).name in ("Crab Nebula", "Crab Pulsar")


def test_dl1_requests_take_the_irfs_made_for_the_models(tmp_path):
    """start_from dl1: lstchain.irf_root, else the IRF folder beside the models, else irf_root;
    start_from dl2 (the site's own DL2): always irf_root."""
    models = tmp_path / "models"
    models.mkdir()
    path = tmp_path / "site.yaml"
    path.write_text(f"lstchain: {{models: {models}}}\nirf_root: {tmp_path / 'irf'}\n")
    site = load_site(path)
    assert site.irf_root_for("dl1") == site.irf_root_for("dl2") == tmp_path / "irf"
    (models / "IRF").mkdir()
    assert site.irf_root_for("dl1") == models / "IRF"
    assert site.irf_root_for("dl2") == tmp_path / "irf"
    path.write_text(f"lstchain: {{models: {models}, irf_root: mine}}\nirf_root: {tmp_path / 'irf'}\n")
    site = load_site(path)
    assert site.irf_root_for("dl1") == tmp_path / "mine"
    assert site.irf_root_for("dl2") == tmp_path / "irf"
