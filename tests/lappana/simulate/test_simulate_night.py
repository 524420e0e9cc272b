"""A small simulated night: the tree, the files' content, reproducibility, the command."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from astropy.io import fits

from lappana.cli import main
from lappana.constants import DL1_PARAMS_KEY, DL2_PARAMS_KEY, EVENT_TYPE_SHOWER
from lappana.errors import LappanaError
from lappana.io.dl2 import DL2_REQUIRED_COLUMNS, iter_dl2_chunks, select_events
from lappana.io.hdf5 import read_table, table_columns
from lappana.io.runcatalog import read_run_catalog, runs_of_source
from lappana.simulate import model, simulate_night
from lappana.simulate.camera import camera_to_altaz

NIGHT = dt.date(2023, 12, 7)


def _small_night(path, seed=1, **kw):
    args = dict(night=NIGHT, n_runs=2, run_minutes=0.25, seed=seed, mc_events=300, progress=False)
    args.update(kw)
    return simulate_night(path, **args)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return _small_night(tmp_path_factory.mktemp("night"))


def test_tree_is_the_one_spoold_reads(night):
    root = night.output
    for run_id in (15864, 15865):
        assert (root / f"DL1/20231207/v0.10/tailcut84/dl1_LST-1.Run{run_id}.h5").is_file()
        assert (root / f"DL2/20231207/v0.10/tailcut84/dl2_LST-1.Run{run_id}.h5").is_file()
    assert (root / "monitoring/RunCatalog/RunCatalog_20231207.ecsv").is_file()
    assert sorted(p.name for p in (root / "IRF").iterdir()) == ["eff_gh0.70_th0.70", "global_gh0.70_theta0.20"]
    assert len(list((root / "IRF/eff_gh0.70_th0.70").glob("irf*.fits.gz"))) == 4
    for name in ("gamma_diffuse", "gamma_point", "proton"):
        assert (root / f"MC/{name}.h5").is_file()
    assert (root / "simulation.json").is_file()
    assert set(night.files()) == {p for p in root.rglob("*") if p.is_file()}


def test_run_catalogue(night):
    runs = read_run_catalog(night.run_catalog)
    assert [r.run_id for r in runs] == [15864, 15865]
    assert [r.source_name for r in runs] == ["Crab", "Crab"]
    assert np.allclose([r.source_ra for r in runs], 83.633) and np.allclose([r.source_dec for r in runs], 22.014)
    assert runs_of_source(runs, names=["crab"]) == [15864, 15865]


def test_dl2_content(night):
    path = night.dl2_files[15864]
    columns = table_columns(path, DL2_PARAMS_KEY)
    assert set(DL2_REQUIRED_COLUMNS) <= set(columns)
    for extra in ("reco_src_x", "reco_src_y", "reco_disp_dx", "reco_disp_dy", "log_reco_energy",
                  "skewness", "kurtosis", "time_gradient", "n_pixels", "n_islands", "psi", "phi"):
        assert extra in columns
    data = read_table(path, DL2_PARAMS_KEY)
    for name, values in data.items():
        if values.dtype.kind == "f":
            assert np.all(np.isfinite(values)), name
    assert np.all(data["obs_id"] == 15864)
    assert set(np.unique(data["event_type"])) == {0, 2, 32}
    # reco_alt/az follow from reco_src_x/y and the pointing as lstchain computes them.
    alt, az = camera_to_altaz(data["reco_src_x"], data["reco_src_y"], data["alt_tel"], data["az_tel"])
    shower = data["event_type"] == EVENT_TYPE_SHOWER
    assert np.allclose(alt[shower], data["reco_alt"][shower], atol=1e-12)
    assert np.allclose(np.cos(az - data["reco_az"])[shower], 1.0)
    assert np.allclose(data["reco_src_x"][shower], (data["x"] + data["reco_disp_dx"])[shower])
    # Intensity follows energy; gammas (high gammaness) are narrower.
    sel = select_events(data)
    # the model's mean intensity at the reconstructed energy, up to the energy resolution
    # (1.5 times a gamma's for the hadrons, 40-60 % near the threshold where most of them are)
    zenith = 90.0 - np.degrees(data["alt_tel"][sel])
    mean_log_i = np.log10(model.mean_intensity_pe(data["reco_energy"][sel], zenith))
    assert abs(np.median(data["log_intensity"][sel] - mean_log_i)) < 0.05
    assert np.corrcoef(data["log_intensity"][sel], data["log_reco_energy"][sel])[0, 1] > 0.8
    gh = data["gammaness"][sel]
    assert np.median(data["width"][sel][gh > 0.8]) < np.median(data["width"][sel][gh < 0.2])
    # lstchain's selection keeps the images within r < 1 m: the cosmic rays arrive spread
    # over the field (model.HADRON_FIELD_SPREAD_DEG per axis), their centroids ≈0.5° (disp)
    # further, so about 1 - exp(-1 m² / 2σ²) of them are kept.
    spread_m2 = np.radians(model.HADRON_FIELD_SPREAD_DEG) ** 2 * model.EFFECTIVE_FOCAL_LENGTH_M**2
    disp_m2 = 0.5 * (np.radians(0.5) * model.EFFECTIVE_FOCAL_LENGTH_M) ** 2
    assert sel.sum() / shower.sum() == pytest.approx(1.0 - np.exp(-0.5 / (spread_m2 + disp_m2)), abs=0.05)


def test_dl1_has_dl2_inputs_without_reconstruction(night):
    columns = table_columns(night.dl1_files[15864], DL1_PARAMS_KEY)
    assert "reco_energy" not in columns and "gammaness" not in columns
    dl1 = read_table(night.dl1_files[15864], DL1_PARAMS_KEY, ["event_id", "intensity", "dragon_time"])
    dl2 = read_table(night.dl2_files[15864], DL2_PARAMS_KEY, ["event_id", "intensity", "dragon_time"])
    for name in dl1:
        assert np.array_equal(dl1[name], dl2[name])


def test_mc_files_have_mc_columns(night):
    proton = read_table(night.mc_files["proton"], DL1_PARAMS_KEY)
    gamma = read_table(night.mc_files["gamma_point"], DL1_PARAMS_KEY)
    for name in ("mc_energy", "mc_alt", "mc_az", "mc_alt_tel", "mc_az_tel", "mc_type"):
        assert name in proton and name in gamma
    assert np.all(proton["mc_type"] == 101) and np.all(gamma["mc_type"] == 0)
    assert len(gamma["mc_energy"]) == 300
    # Point-like gammas come from 0.4° off-axis.
    from lappana.simulate.camera import angular_separation

    sep = np.degrees(angular_separation(gamma["mc_alt"], gamma["mc_az"], gamma["mc_alt_tel"], gamma["mc_az_tel"]))
    assert np.allclose(sep, 0.4, atol=1e-3)


def test_irf_format(night):
    path = next((night.output / "IRF/eff_gh0.70_th0.70").glob("*zen10.0*"))
    with fits.open(path) as hdus:
        assert [h.name for h in hdus] == ["PRIMARY", "EFFECTIVE AREA", "ENERGY DISPERSION", "GH_CUTS", "RAD_MAX"]
        aeff = hdus["EFFECTIVE AREA"]
        for key in ("ZEN_PNT", "AZ_PNT", "B_DELTA", "GH_EFF", "TH_CONT"):
            assert key in aeff.header
        assert aeff.header["HDUCLAS3"] == "POINT-LIKE"
        assert aeff.data["EFFAREA"].shape == (1, 1, 20)  # (rows, n_theta, n_energy)
        assert aeff.header["TDIM5"] == "(20,1)"
        assert hdus["ENERGY DISPERSION"].data["MATRIX"].shape == (1, 1, 30, 20)
        rad = hdus["RAD_MAX"].data["RAD_MAX"][0, 0]
        assert np.all((rad >= 0.1) & (rad <= 0.32))
        assert hdus["GH_CUTS"].columns.names == ["low", "high", "center", "n_events", "cut"]
    glob_path = next((night.output / "IRF/global_gh0.70_theta0.20").glob("*zen20.0*"))
    with fits.open(glob_path) as hdus:
        assert hdus[1].header["GH_CUT"] == 0.7 and hdus[1].header["RAD_MAX"] == 0.2
        assert hdus[1].header["ZEN_PNT"] == 20.0
        assert "GH_CUTS" not in hdus


def test_truth_file(night):
    truth = json.loads(night.truth_file.read_text())
    assert truth["parameters"]["seed"] == 1
    assert [r["run_id"] for r in truth["runs"]] == [15864, 15865]
    run = truth["runs"][0]
    n = sum(len(c["event_id"]) for c in iter_dl2_chunks(night.dl2_files[15864], ["event_id"]))
    assert run["n_events"] == n
    # triggers at the injected rates (plus 2 × 100 Hz of calibration events), less those lost to dead time
    rate = run["cosmic_trigger_rate_hz"] + run["gamma_trigger_rate_hz"] + 200.0
    recorded = rate * np.exp(-rate * model.DEAD_TIME_S)
    assert run["n_events"] == pytest.approx(recorded * 15.0, rel=0.02)
    assert run["livetime_s"] == pytest.approx(15.0 * (1 - recorded * model.DEAD_TIME_S), rel=0.002)
    injected = truth["injected"]
    assert injected["cosmic_rays"]["rate_at_10deg_hz"] == injected["cosmic_rays"]["lst1_rate_at_10deg_hz"]
    assert injected["source"]["amplitude_per_tev_cm2_s"] == pytest.approx(3.23e-11)


def test_same_seed_same_events_other_seed_other_events(night, tmp_path):
    again = _small_night(tmp_path / "a", mc=False, irfs=False, levels=("dl2",))
    other = _small_night(tmp_path / "b", seed=2, mc=False, irfs=False, levels=("dl2",))
    first = read_table(night.dl2_files[15864], DL2_PARAMS_KEY)
    same = read_table(again.dl2_files[15864], DL2_PARAMS_KEY)
    assert first.keys() == same.keys()
    for name in first:
        assert np.array_equal(first[name], same[name]), name
    different = read_table(other.dl2_files[15864], DL2_PARAMS_KEY, ["dragon_time"])
    assert different["dragon_time"].size != first["dragon_time"].size or not np.array_equal(
        different["dragon_time"], first["dragon_time"])



def test_uncompressed_dl2_holds_the_same_rows(night, tmp_path):
    import tables

    plain = _small_night(tmp_path, mc=False, irfs=False, levels=("dl2",), dl2_compressed=False)
    with tables.open_file(str(night.dl2_files[15864])) as h5:
        assert h5.get_node(DL2_PARAMS_KEY).filters.complib == "blosc:zstd"
    with tables.open_file(str(plain.dl2_files[15864])) as h5:
        assert h5.get_node(DL2_PARAMS_KEY).filters.complevel == 0
    compressed = read_table(night.dl2_files[15864], DL2_PARAMS_KEY)
    uncompressed = read_table(plain.dl2_files[15864], DL2_PARAMS_KEY)
    assert list(compressed) == list(uncompressed)
    for name in compressed:
        np.testing.assert_array_equal(compressed[name], uncompressed[name], err_msg=name)
    assert plain.truth[15864].to_dict() == night.truth[15864].to_dict()

def test_no_source_means_no_gammas(tmp_path):
    result = _small_night(tmp_path, source_flux=0.0, n_runs=1, mc=False, irfs=False, levels=("dl2",))
    assert result.truth[15864].n_gammas == 0
    assert not result.dl1_files


def test_bad_input_is_a_sentence(tmp_path):
    with pytest.raises(LappanaError, match="dl1 and dl2"):
        _small_night(tmp_path, levels=("dl3",))
    with pytest.raises(LappanaError, match="negative"):
        _small_night(tmp_path, source_flux=-1.0)


def test_command(tmp_path, capsys):
    rc = main(["simulate", str(tmp_path / "out"), "--night", "2023-12-07", "--runs", "1", "--minutes", "0.1",
               "--seed", "3", "--no-mc", "--no-irf", "--levels", "dl2", "--shower-rate", "500"])
    out = capsys.readouterr()
    assert rc == 0
    assert "run 15864" in out.out and "RunCatalog_20231207.ecsv" in out.out
    assert "simulating" in out.err  # the progress bar, on stderr
    assert (tmp_path / "out/DL2/20231207/v0.10/tailcut84/dl2_LST-1.Run15864.h5").is_file()
    assert not (tmp_path / "out/DL1").exists()
    truth = json.loads((tmp_path / "out/simulation.json").read_text())
    assert truth["parameters"]["shower_rate_hz"] == 500.0
    rc = main(["simulate", str(tmp_path / "bad"), "--night", "7.12.2023", "--quiet"])
    assert rc == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    rc = main(["simulate", str(tmp_path / "bad"), "--start", "half past eleven", "--quiet"])
    assert rc == 2
    assert "YYYY-MM-DDTHH:MM:SS" in capsys.readouterr().err


def test_command_start_sets_the_zenith(tmp_path):
    rc = main(["simulate", str(tmp_path), "--runs", "1", "--minutes", "0.1", "--no-mc", "--no-irf",
               "--levels", "dl2", "--start", "2023-12-07T23:30:00", "--quiet"])
    assert rc == 0
    run = json.loads((tmp_path / "simulation.json").read_text())["runs"][0]
    assert run["tstart_unix"] == pytest.approx(1701991800.0)
    assert 28.0 < run["mean_zenith_deg"] < 33.0


def test_interrupted_run_leaves_no_file(tmp_path):
    """A run grows as a .part file; an interruption removes it and leaves no half run behind."""
    from lappana.simulate.events import RunSettings
    from lappana.simulate.observation import plan_night
    from lappana.simulate.run import write_run

    class Interrupt:
        def update(self, seconds):
            assert list(tmp_path.glob("*.h5.part")) and not list(tmp_path.glob("*.h5"))
            raise KeyboardInterrupt

    (plan,) = plan_night(NIGHT, source_ra_deg=83.633, source_dec_deg=22.014, n_runs=1,
                         run_minutes=1.0, first_run=15864)
    with pytest.raises(KeyboardInterrupt):
        write_run(plan, RunSettings(chunk_seconds=5.0), seed=1, dl1_path=None,
                  dl2_path=tmp_path / "dl2_LST-1.Run15864.h5", progress=Interrupt())
    assert list(tmp_path.iterdir()) == []


def test_runs_written_side_by_side_equal_runs_written_one_after_the_other(tmp_path):
    serial = _small_night(tmp_path / "serial", seed=5, mc=False, irfs=False, run_minutes=0.1, workers=1)
    parallel = _small_night(tmp_path / "parallel", seed=5, mc=False, irfs=False, run_minutes=0.1, workers=2)
    assert list(parallel.truth) == list(serial.truth) == [15864, 15865]
    for run_id in serial.run_ids:
        assert parallel.truth[run_id].to_dict() == serial.truth[run_id].to_dict()
        for files, key in ((serial.dl1_files, DL1_PARAMS_KEY), (serial.dl2_files, DL2_PARAMS_KEY)):
            one = read_table(files[run_id], key)
            other = read_table((parallel.dl1_files if files is serial.dl1_files else parallel.dl2_files)[run_id], key)
            assert list(one) == list(other)
            for name in one:
                np.testing.assert_array_equal(one[name], other[name], err_msg=name)


def test_the_number_of_processes_must_be_positive(tmp_path):
    with pytest.raises(LappanaError, match="at least 1"):
        _small_night(tmp_path, workers=0)
