"""theta² and Li & Ma against gammapy 2.1 on the same DL3 folders, and against the simulator's truth."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from lappana.highlevel.lima import li_ma_significance
from lappana.highlevel.regions import angular_separation, wobble_off_positions
from lappana.highlevel.theta2 import theta2

from tests.helpers.highlevel import CRAB, make_night_dl3, run_gammapy

REFERENCE = [((10, 5, 0.3), 3.5853813), ((10, 23, 0.1), 3.4434155), ((1, 20, 1), -4.5903736),
             ((5, 1, 1), 1.7061746), ((0, 5, 0.5), -2.013616)]


@pytest.mark.parametrize(("case", "sigma"), REFERENCE)
def test_li_ma_reference_values_of_the_notes(case, sigma):
    assert li_ma_significance(*case) == pytest.approx(sigma, rel=1e-6)


def test_li_ma_equals_gammapy_wstat(gammapy_python, tmp_path):
    rng = np.random.default_rng(1)
    cases = [list(c) for c, _ in REFERENCE]
    cases += [[int(a), int(b), float(c)] for a, b, c in
              zip(rng.integers(0, 500, 60), rng.integers(0, 1500, 60), rng.uniform(0.05, 1.0, 60))]
    cases += [[0, 0, 0.2], [7, 0, 0.5], [1000000, 2900000, 1 / 3]]
    peer = run_gammapy(gammapy_python, {"mode": "lima", "cases": cases}, tmp_path)
    mine = li_ma_significance(*np.array(cases, dtype=float).T)
    np.testing.assert_allclose(mine, np.nan_to_num(peer["sqrt_ts"]), rtol=1e-6, atol=1e-12)


def test_off_positions_keep_the_offset_and_are_evenly_spaced():
    offs = wobble_off_positions(83.633, 22.014, 83.633, 22.414, 3)
    assert angular_separation(83.633, 22.414, offs[:, 0], offs[:, 1]) == pytest.approx([0.4] * 3, abs=1e-9)
    # the middle OFF is opposite the source about the pointing
    assert offs[1] == pytest.approx([83.633, 22.814], abs=1e-9)


@pytest.mark.parametrize(("n_off", "energy_range"), [(1, None), (2, None), (1, (0.2, 100.0)), (3, (0.2, 100.0))])
def test_on_off_counts_equal_gammapy_reflected_regions(crab_dl3, gammapy_python, tmp_path, n_off, energy_range):
    mine = theta2(crab_dl3, n_off=n_off, energy_range=energy_range, **CRAB)
    peer = run_gammapy(gammapy_python, {"mode": "reflected", "dl3_dir": str(crab_dl3), "ra": CRAB["source_ra_deg"],
                                        "dec": CRAB["source_dec_deg"], "n_off": n_off,
                                        "energy_range": energy_range}, tmp_path)
    print(f"n_off={n_off} E={energy_range}: lappana {mine.n_on}/{mine.n_off} σ={mine.significance:.4f}, "
          f"gammapy {peer['n_on']}/{peer['n_off']} σ={peer['sqrt_ts']:.4f}")
    assert all(r.n_off_regions == n_off for r in mine.runs)
    assert [(r.obs_id, r.n_on, r.n_off) for r in mine.runs] == [(r["obs_id"], r["n_on"], r["n_off"]) for r in peer["runs"]]
    assert mine.alpha == pytest.approx(peer["alpha"], rel=1e-12)
    assert mine.significance == pytest.approx(peer["sqrt_ts"], rel=1e-6)
    assert mine.livetime_s == pytest.approx(sum(r["livetime_s"] for r in peer["runs"]), rel=1e-9)


def test_global_rad_max_counts_equal_gammapy(crab_global_dl3, gammapy_python, tmp_path):
    mine = theta2(crab_global_dl3, n_off=3, **CRAB)
    peer = run_gammapy(gammapy_python, {"mode": "reflected", "dl3_dir": str(crab_global_dl3),
                                        "ra": CRAB["source_ra_deg"], "dec": CRAB["source_dec_deg"], "n_off": 3,
                                        "energy_range": None}, tmp_path)
    assert mine.rad_max["type"] == "global"
    assert (mine.n_on, mine.n_off) == (peer["n_on"], peer["n_off"])
    assert mine.significance == pytest.approx(peer["sqrt_ts"], rel=1e-6)


@pytest.mark.parametrize("n_off", [1, 3])
def test_theta2_histogram_equals_make_theta_squared_table(crab_dl3, gammapy_python, tmp_path, n_off):
    edges = [0.0, 0.005, 0.01, 0.02, 0.03, 0.045, 0.06]
    mine = theta2(crab_dl3, n_off=n_off, energy_range=(0.1, 50.0), theta2_edges=np.array(edges), **CRAB)
    peer = run_gammapy(gammapy_python, {"mode": "theta2", "dl3_dir": str(crab_dl3), "ra": CRAB["source_ra_deg"],
                                        "dec": CRAB["source_dec_deg"], "n_off": n_off, "edges": edges,
                                        "energy_range": [0.1, 50.0]}, tmp_path)
    assert mine.theta2_on == peer["counts"]
    assert mine.theta2_off == [int(c) for c in peer["counts_off"]]
    assert sum(mine.theta2_on) > 50


def test_crab_night_detection_matches_the_injected_rates(tmp_path):
    dl3 = make_night_dl3(tmp_path, n_runs=4, run_minutes=30, seed=11, source_flux=1.0, shower_rate_hz=150.0)
    truth = json.loads((tmp_path / "simulation.json").read_text())["total"]
    result = theta2(dl3, n_off=3, energy_range=(0.2, 1000.0), **CRAB)
    n_gamma, n_bkg = truth["n_gamma_after_cuts"], truth["n_background_on_after_cuts"]
    expected = float(li_ma_significance(n_gamma + n_bkg, 3 * n_bkg, 1 / 3))
    print(f"2-hour Crab night: σ = {result.significance:.2f} (expected from truth {expected:.2f}), "
          f"γ rate {result.gamma_rate_per_min:.2f} ± {result.gamma_rate_error_per_min:.2f}/min "
          f"(injected {truth['gamma_rate_after_cuts_per_min']:.2f}), "
          f"bkg {result.background_rate_per_min:.2f}/min (injected {truth['background_on_rate_after_cuts_per_min']:.2f})")
    assert result.significance > 5
    assert abs(result.n_on - (n_gamma + n_bkg)) <= 0.02 * (n_gamma + n_bkg) + 3
    assert abs(result.significance - expected) < 3.0
    # counts, not rates: at the reduced simulated trigger rate lstchain's effective-time formula
    # (Δt < 0.01 s) undercounts livetime, so rates per minute are compared only at LST-1's real rate
    assert abs(result.excess - n_gamma) < 3 * result.excess_error
    assert result.cumulative_significance[-1] == pytest.approx(result.significance)


def test_rates_per_minute_match_the_injected_rates(real_rate_dl3):
    """At LST-1's trigger rate the livetime is right, so γ and background rates per minute match the truth."""
    truth = json.loads((real_rate_dl3.parent / "simulation.json").read_text())["total"]
    result = theta2(real_rate_dl3, n_off=3, energy_range=(0.2, 1000.0), **CRAB)
    bkg_error = result.background_rate_error_per_min
    print(f"γ rate {result.gamma_rate_per_min:.2f} ± {result.gamma_rate_error_per_min:.2f}/min "
          f"(injected {truth['gamma_rate_after_cuts_per_min']:.2f}), background {result.background_rate_per_min:.2f} "
          f"± {bkg_error:.2f}/min (injected {truth['background_on_rate_after_cuts_per_min']:.2f}), "
          f"livetime {result.livetime_s:.1f} s (true {truth['livetime_s']:.1f} s)")
    assert result.livetime_s == pytest.approx(truth["livetime_s"], rel=0.01)
    assert abs(result.gamma_rate_per_min - truth["gamma_rate_after_cuts_per_min"]) < 3 * result.gamma_rate_error_per_min
    # the truth counts the background events that fell in the ON region: Poisson-distributed too
    truth_error = np.sqrt(truth["n_background_on_after_cuts"]) / (truth["livetime_s"] / 60.0)
    assert abs(result.background_rate_per_min - truth["background_on_rate_after_cuts_per_min"]) < 3 * np.hypot(
        bkg_error, truth_error)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_night_without_source_is_not_a_detection(tmp_path, seed):
    dl3 = make_night_dl3(tmp_path, n_runs=2, run_minutes=10, seed=seed, source_flux=0.0)
    result = theta2(dl3, n_off=3, **CRAB)
    print(f"seed {seed}: n_on={result.n_on} n_off={result.n_off} σ={result.significance:.2f}")
    assert result.n_on > 0
    assert abs(result.significance) < 3


def test_dl3_made_by_lstchain_gives_gammapys_counts(crab_dl3, lstchain_env, gammapy_python, tmp_path):
    """lappana reads lstchain_create_dl3_file's DL3 (and its index) as gammapy does."""
    dl2 = sorted((crab_dl3.parent / "DL2").rglob("dl2_*.h5"))[0]
    irf = crab_dl3.parent / "IRF" / "eff_gh0.70_th0.70"
    out = tmp_path / "dl3"
    out.mkdir()
    subprocess.run([str(lstchain_env / "bin" / "lstchain_create_dl3_file"), "-d", str(dl2), "-o", str(out),
                    "-i", str(irf), "-p", "irf*.fits.gz", "--source-name", "Crab", "--source-ra", "83.633deg",
                    "--source-dec", "22.014deg", "--use-nearest-irf-node", "--gzip", "--overwrite"],
                   check=True, capture_output=True, timeout=600, cwd=tmp_path)
    subprocess.run([str(lstchain_env / "bin" / "lstchain_create_dl3_index_files"), "-d", str(out),
                    "-p", "dl3*.fits.gz", "--overwrite"], check=True, capture_output=True, timeout=600)
    mine = theta2(out, n_off=3, energy_range=(0.2, 100.0), **CRAB)
    peer = run_gammapy(gammapy_python, {"mode": "reflected", "dl3_dir": str(out), "ra": CRAB["source_ra_deg"],
                                        "dec": CRAB["source_dec_deg"], "n_off": 3, "energy_range": [0.2, 100.0]},
                       tmp_path)
    print(f"lstchain DL3: lappana {mine.n_on}/{mine.n_off} σ={mine.significance:.3f}, gammapy {peer['n_on']}/{peer['n_off']}")
    assert (mine.n_on, mine.n_off) == (peer["n_on"], peer["n_off"]) and mine.n_on > 0
    assert mine.significance == pytest.approx(peer["sqrt_ts"], rel=1e-6)
