"""``lappana simulate --nights``: several nights of chosen fluxes (and a flare) into one tree."""

from __future__ import annotations

import json

import pytest

from lappana.cli import main
from lappana.simulate.nights import RUN_NUMBER_GAP

SMALL = ["--runs", "2", "--minutes", "0.1", "--no-mc", "--no-irf", "--levels", "dl2", "--shower-rate", "300"]


def test_nights_with_a_flux_each_and_a_flare_in_one(tmp_path, capsys):
    out = tmp_path / "tree"
    rc = main(["simulate", str(out), "--nights", "2023-12-05,2023-12-06", "--flux", "0.5,2", *SMALL,
               "--flare", "0", "0.05", "4", "--flare-night", "2023-12-06", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    index = json.loads((out / "simulation.json").read_text())
    assert [(n["night"], n["source_flux_crab"]) for n in index["nights"]] == [("2023-12-05", 0.5), ("2023-12-06", 2.0)]
    first, second = (json.loads((out / n["truth"]).read_text()) for n in index["nights"])
    assert first["parameters"]["source_flux_crab"] == 0.5 and first["parameters"].get("flare") is None
    assert second["parameters"]["flare"] == {"start_min": 0.0, "duration_min": 0.05, "flux_crab": 4.0}
    # the flare covers the second night's first run only; its flux is the time average over the run
    assert [r["source_flux_crab"] for r in second["runs"]] == [pytest.approx(2.0 + 0.5 * (4.0 - 2.0)), 2.0]
    assert [r["source_flux_crab"] for r in first["runs"]] == [0.5, 0.5]
    # run numbers go on from night to night, each night in its own folder with its own catalogue
    assert second["parameters"]["first_run"] == 15864 + 2 + RUN_NUMBER_GAP
    for night, run in (("20231205", 15864), ("20231206", 15864 + 2 + RUN_NUMBER_GAP)):
        assert (out / f"DL2/{night}/v0.10/tailcut84/dl2_LST-1.Run{run}.h5").is_file()
        assert (out / f"monitoring/RunCatalog/RunCatalog_{night}.ecsv").is_file()


def test_one_flux_serves_every_night_and_the_summary_lists_them(tmp_path, capsys):
    rc = main(["simulate", str(tmp_path), "--nights", "2023-12-05,20231207", "--flux", "0.7", *SMALL])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Simulated night 2023-12-05" in out and "Simulated night 2023-12-07" in out and "simulation.json" in out
    index = json.loads((tmp_path / "simulation.json").read_text())
    assert [n["source_flux_crab"] for n in index["nights"]] == [0.7, 0.7]


@pytest.mark.parametrize("args, sentence", [
    (["--nights", "2023-12-05,2023-12-06", "--flux", "0.5,1,2"], "gives 3 fluxes for 2 night(s)"),
    (["--nights", "2023-12-05,2023-12-06", "--flux", "bright"], "is not a flux"),
    (["--nights", "2023-12-05,2023-12-05"], "names a night twice"),
    (["--nights", "2023-12-05,5.12.2023"], "YYYY-MM-DD"),
    (["--night", "2023-12-05", "--nights", "2023-12-06"], "not both"),
    (["--nights", "2023-12-05,2023-12-06", "--start", "2023-12-05T23:00:00"], "--start sets the first run of one"),
    (["--nights", "2023-12-05,2023-12-06", "--flare", "0", "10", "3"], "needs --flare-night"),
    (["--nights", "2023-12-05,2023-12-06", "--flare", "0", "10", "3", "--flare-night", "2023-12-09"],
     "is not one of the nights"),
    (["--flare-night", "2023-12-05"], "give the --flare too"),
])
def test_mistakes_are_sentences_and_write_nothing(tmp_path, capsys, args, sentence):
    rc = main(["simulate", str(tmp_path / "out"), *args, *SMALL, "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and sentence in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
