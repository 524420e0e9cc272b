"""`spool template` and `spool validate`: the template validates; validate says the daemon's words."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from tests.helpers.hostile import prepare_data
from spoold.commands import template, validate
from spoold.request import parse_request, request_errors
from spoold.request.yamlsafe import load_yaml_mapping
from spoold.site import load_site


def _run(module, argv, spool=None, config=None) -> int:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    args.spool, args.config = spool, config
    return module.run(args)


@pytest.fixture()
def spool(tmp_path):
    prepare_data(tmp_path / "data")
    return tmp_path / "spool"


def test_template_prints_an_annotated_request_that_validates(spool, capsys):
    assert _run(template, []) == 0
    text = capsys.readouterr().out
    assert text.count("\n# ") > 10  # annotated
    site = load_site(None, spool_root=spool)
    request = parse_request(text.encode(), site=site)
    assert request.source_name == "Crab Nebula" and request.runs == (15864, 15865, 15866)
    # every key of the schema is at least mentioned
    for key in ("source", "ra", "dec", "night", "runs", "start_from", "cuts", "products", "notify", "slurm"):
        assert f"{key}:" in text


def test_template_slurm_block_validates_when_uncommented(spool):
    from spoold.commands.template import template_text

    head, tail = template_text().split("# slurm:")
    text = head + "slurm:" + tail.replace("#   ", "  ")
    site = load_site(None, spool_root=spool)
    request = parse_request(text.encode(), site=site)
    assert request.slurm.time == "02:00:00" and request.slurm.extra == ("--constraint=ssd",)


def test_template_to_a_file_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "mine.yaml"
    assert _run(template, ["-o", str(target)]) == 0
    assert load_yaml_mapping(target.read_bytes(), max_bytes=65536).data["source"] == "Crab Nebula"
    assert _run(template, ["-o", str(target)]) == 1
    assert "exists already" in capsys.readouterr().out


def test_validate_prints_exactly_the_daemons_sentences(spool, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"sorce: Crab\nnight: 2023-12-07\nruns: [15864, 15999]\nproducts: [thetasq]\n")
    assert _run(validate, [str(bad)], spool=spool) == 1
    printed = capsys.readouterr().out.splitlines()
    site = load_site(None, spool_root=spool)
    assert printed == request_errors(bad.read_bytes(), site=site)
    assert len(printed) == 3 and "did you mean 'source'" in printed[0]
    assert "run 15999" in printed[1] and "did you mean 'theta2'" in printed[2]


def test_validate_good_file_exits_zero(spool, tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_bytes(b"source: Crab Nebula\nnight: 2023-12-07\n")
    assert _run(validate, [str(good)], spool=spool) == 0
    assert "is a valid request" in capsys.readouterr().out


def test_validate_uses_the_site_file(spool, tmp_path, capsys):
    site_file = tmp_path / "site.yaml"
    site_file.write_text("limits: {max_request_bytes: 1024}\n")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"source: Crab Nebula\nnight: 2023-12-07\n" + b"# pad\n" * 300)
    assert _run(validate, [str(big)], spool=spool, config=site_file) == 1
    assert "more than the limit of 1,024 bytes" in capsys.readouterr().out
    site_file.write_text("limts: {}\n")
    assert _run(validate, [str(big)], spool=spool, config=site_file) == 2
    assert "did you mean 'limits'" in capsys.readouterr().err


def test_validate_several_files_and_a_folder(spool, tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_bytes(b"source: Crab Nebula\nnight: 2023-12-07\n")
    assert _run(validate, [str(good), str(tmp_path)], spool=spool) == 2  # a folder is a usage error (issue 14)
    out = capsys.readouterr().out
    assert f"{good}: valid" in out and "is a folder, not a request file" in out


def test_the_spool_command_runs_template_and_validate(spool, tmp_path):
    import subprocess
    import sys

    def spool_cmd(*argv):
        return subprocess.run([sys.executable, "-m", "spoold.cli", *argv], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)

    made = spool_cmd("template")
    assert made.returncode == 0, made.stderr
    request = tmp_path / "request.yaml"
    request.write_text(made.stdout)
    checked = spool_cmd("validate", "--spool", str(spool), str(request))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    request.write_text(made.stdout.replace("source: Crab Nebula", "sorce: Crab Nebula"))
    checked = spool_cmd("--spool", str(spool), "validate", str(request))
    assert checked.returncode == 1
    assert checked.stdout.strip().endswith("'sorce' is not a known key — did you mean 'source'?")
