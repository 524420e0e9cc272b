"""Notes are not problems: fewer OFF regions where they would overlap loses no data.

With energy-dependent cuts, RAD_MAX at low energy (≈0.3°) exceeds what three OFF
regions allow at LST-1's 0.4° wobble offset; the analysis then uses fewer OFF
regions. That is said in ``notes``; the result stays "ok". A run left out is a
problem and makes it "incomplete".
"""

from lappana.constants import CRAB_DEC_DEG, CRAB_RA_DEG
from lappana.highlevel.summary import build_summary
from lappana.highlevel.theta2 import theta2


def _summary(result, dl3):
    return build_summary(source_name="Crab", source_ra_deg=CRAB_RA_DEG, source_dec_deg=CRAB_DEC_DEG,
                         dl3_dir=dl3, theta2_result=result)


def test_overlapping_off_regions_are_a_note_and_the_result_stays_ok(crab_dl3):
    result = theta2(crab_dl3, source_name="Crab", source_ra_deg=CRAB_RA_DEG, source_dec_deg=CRAB_DEC_DEG, n_off=3)
    assert result.notes and all("would overlap" in note for note in result.notes)
    assert not any("would overlap" in problem for problem in result.problems)
    assert all(run.used and run.n_off_regions < 3 for run in result.runs)
    summary = _summary(result, crab_dl3)
    assert summary["status"] == "ok", summary["problems"]
    assert summary["notes"] == result.notes


def test_a_run_left_out_makes_the_result_incomplete(crab_dl3):
    # the source placed at a pointing position: no OFF region can be placed, the run is left out
    result = theta2(crab_dl3, source_name="pointing", source_ra_deg=CRAB_RA_DEG, source_dec_deg=CRAB_DEC_DEG + 0.4,
                    n_off=1)
    summary = _summary(result, crab_dl3)
    assert any(not run.used for run in result.runs)
    assert summary["status"] in ("incomplete", "failed")
    assert any("left out" in problem for problem in summary["problems"])
