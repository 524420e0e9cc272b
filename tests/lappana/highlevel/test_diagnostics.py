"""Run diagnostics: the cosmic-ray rate against the simulator's truth, quality flags, the command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lappana.highlevel.diagnostics import QualityCuts, expected_cosmic_dr_di, run_diagnostics
from lappana.highlevel.dl3files import RadMax



def test_expected_dr_di_is_the_notes_formula():
    c = np.cos(np.radians(20.0))
    p0 = -0.4475 + 3.625 * c - 1.436 * c**2
    assert expected_cosmic_dr_di(422.0, 20.0) == pytest.approx(p0)
    assert expected_cosmic_dr_di(844.0, 20.0) < expected_cosmic_dr_di(422.0, 20.0) / 4


def test_rad_max_takes_the_nearest_energy_node_in_log():
    rad = RadMax(values_deg=np.array([0.3, 0.2, 0.1]), energy_lo=np.array([0.01, 0.1, 1.0]),
                 energy_hi=np.array([0.1, 1.0, 10.0]))
    assert rad.evaluate(np.array([0.001, 0.05, 0.2, 0.5, 5.0, 1000.0])).tolist() == [0.3, 0.3, 0.2, 0.2, 0.1, 0.1]


def test_cosmic_rate_matches_the_simulated_truth(real_rate_dl3):
    truth = {r["run_id"]: r for r in json.loads((real_rate_dl3.parent / "simulation.json").read_text())["runs"]}
    dl2 = sorted((real_rate_dl3.parent / "DL2").rglob("dl2_*.h5"))
    diags = run_diagnostics(real_rate_dl3, dl2, cuts=QualityCuts(cosmic_ratio_range=(0.1, 2.0)))
    for diag in diags:
        want = truth[diag.obs_id]
        print(f"run {diag.obs_id}: dR/dI(422 p.e.) {diag.dr_di_at_422_pe:.4f} (simulated {want['cosmic_dr_di_at_422_pe']:.4f}), "
              f"expected for LST-1 {diag.dr_di_expected_at_422_pe:.4f} (truth {want['lst1_cosmic_dr_di_at_422_pe']:.4f})")
        assert diag.dr_di_at_422_pe == pytest.approx(want["cosmic_dr_di_at_422_pe"], rel=0.05)
        assert diag.dr_di_expected_at_422_pe == pytest.approx(want["lst1_cosmic_dr_di_at_422_pe"], rel=1e-3)
        assert diag.mean_zenith_deg == pytest.approx(want["mean_zenith_deg"], abs=0.5)
        assert diag.good, diag.flags
        assert len(diag.time_min) >= 3 and min(diag.rate_after_cuts_per_min) > 0
        # the DL2's shower rate is the truth's; the DL3 keeps fewer (the gammaness cut)
        assert len(diag.all_rate_per_min) >= 3
        assert np.mean(diag.all_rate_per_min) == pytest.approx(60.0 * want["n_showers"] / want["duration_s"], rel=0.01)
        assert np.mean(diag.all_rate_per_min) > np.mean(diag.rate_after_cuts_per_min)


def test_quality_cuts_flag_runs(crab_dl3):
    diags = run_diagnostics(crab_dl3, cuts=QualityCuts(max_zenith_deg=1.0, min_deadc=0.999))
    for diag in diags:
        assert not diag.good
        assert any("zenith" in f for f in diag.flags) and any("livetime fraction" in f for f in diag.flags)


def test_diagnostics_command(crab_dl3, tmp_path):
    dl2 = sorted((crab_dl3.parent / "DL2").rglob("dl2_*.h5"))
    done = subprocess.run([sys.executable, "-m", "lappana", "diagnostics", str(crab_dl3), "-o", str(tmp_path),
                           "--dl2", *map(str, dl2), "--cosmic-ratio-range", "0.01", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("— good") == 2
    assert (tmp_path / "cosmic_rate.png").is_file() and len(list(tmp_path.glob("run_*.png"))) == 2
    assert len(json.loads((tmp_path / "diagnostics.json").read_text())) == 2
