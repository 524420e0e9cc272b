"""A simulated run at the default cosmic-ray rate passes LST-1's run-quality check.

The check is lappana's own diagnostics (``lappana.highlevel.diagnostics``): dR/dI of
all showers in the DL2 file, fitted over 250–2000 p.e. and compared at 422 p.e. with
lstchain's fit p0(cos z) (I/422)^p1(cos z); a good run is within 0.7–1.3 of it. Real
LST-1 data pass; the simulator's must too, at low and at larger zenith.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from astropy.time import Time

from lappana.dl3 import make_dl3
from lappana.highlevel.diagnostics import QualityCuts, run_diagnostics
from lappana.index import make_index
from lappana.simulate import model, simulate_night
from lappana.simulate.events import RunSettings

CRAB = {"source_name": "Crab", "source_ra_deg": 83.633, "source_dec_deg": 22.014}


def test_default_rate_is_lst1_like():
    """The default shower rate is the integral of LST-1's dR/dI times the trigger efficiency at 10°.

    The trigger keeps LST-1's dR/dI down to ≈60 p.e. (issue 12), a few kHz in all.
    """
    assert RunSettings().shower_rate_hz == pytest.approx(model.cosmic_rate_hz(10.0), rel=0.02)
    assert model.trigger_efficiency(100.0) > 0.99
    assert model.trigger_efficiency(60.0) > 0.8 > 0.5 > model.trigger_efficiency(45.0)
    assert 3000.0 < RunSettings().shower_rate_hz < 10000.0


@pytest.mark.timeout(600)
@pytest.mark.parametrize("start, zenith_range", [(None, (0.0, 15.0)), ("2023-12-07T21:45:00", (45.0, 58.0))])
def test_default_rate_run_passes_the_cosmic_ray_quality_cut(tmp_path, start, zenith_range):
    night = simulate_night(
        tmp_path, night=dt.date(2023, 12, 7), n_runs=1, run_minutes=2.0, seed=21, levels=("dl2",),
        mc=False, irfs=True, start=Time(start) if start else None, progress=False,
        dl2_compressed=False,  # the same rows in a quarter of the CPU
    )
    dl3 = tmp_path / "DL3"
    for dl2 in night.dl2_files.values():
        make_dl3(dl2, night.irf_dirs["eff_gh0.70_th0.70"], dl3, **CRAB)
    make_index(dl3)
    truth = json.loads(night.truth_file.read_text())["runs"][0]
    (diag,) = run_diagnostics(dl3, list(night.dl2_files.values()), cuts=QualityCuts())
    print(f"\nzenith {diag.mean_zenith_deg:.1f}°: dR/dI(422 p.e.) {diag.dr_di_at_422_pe:.3f} s⁻¹ p.e.⁻¹, "
          f"LST-1 {diag.dr_di_expected_at_422_pe:.3f}, ratio {diag.cosmic_ratio:.3f}; "
          f"truth in 422 p.e. ± 20 %: {truth['cosmic_dr_di_at_422_pe']:.3f} (LST-1 {truth['lst1_cosmic_dr_di_at_422_pe']:.3f})")
    assert zenith_range[0] < diag.mean_zenith_deg < zenith_range[1]
    assert 0.7 <= diag.cosmic_ratio <= 1.3
    assert not [flag for flag in diag.flags if "cosmic" in flag], diag.flags
    # the truth's band count around 422 p.e. is LST-1's value too
    assert truth["cosmic_dr_di_at_422_pe"] == pytest.approx(truth["lst1_cosmic_dr_di_at_422_pe"], rel=0.05)
