"""Upper limits that cover, and significances of an empty sky that are standard normal, over 20 seeds.

Each seed is one simulated 15-minute wobble run of a 2 % Crab source at LST-1's cosmic-ray
rate in the band analysed, above 0.2 TeV (:func:`tests.helpers.highlevel.lst1_rates_above`, as the
2-hour Crab night: the cosmic rays that cannot be reconstructed above 0.2 TeV are not simulated,
the rest, ~2 kHz, come at LST-1's rate, so every count in the band is a real night's).
Its DL2 is written uncompressed (the same rows, so the same DL3: lstchain's blosc:zstd is
~85 % of the simulator's CPU) and made into DL3 by lappana: ~1.8 million events a seed.
Coverage holds at any exposure; in 15 minutes LST-1's 2.4 background/min in ON above
0.2 TeV (lstchain's tables) make ~36 counts, where Li & Ma and the profile likelihood are
still near their asymptotic forms. Its spectrum at the source gives the faint
source's 95 % upper limit; the same run, analysed at an empty position — the source
turned by 90° about the pointing, at the same 0.4° offset, so with the same IRFs and
acceptance — gives the empty sky's significance. With one OFF region each, the four
circles (source, empty position, and their reflections at 180°) are 0.57° apart and
never overlap, so the two analyses count disjoint events: one set of runs tests both
and the suite pays for 20 runs, not 40. ``ASTRAN_FLUX_COVERAGE_WORKERS`` sets the
processes (default 2, the suite's cores).
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

from tests.helpers.highlevel import FLUX_BAND_TEV, make_flux_nights

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
SEEDS = range(100, 120)
WORKERS = int(os.environ.get("ASTRAN_FLUX_COVERAGE_WORKERS", "2"))
FAINT_CRAB = 0.02
RUN_MINUTES = 15
BAND = list(FLUX_BAND_TEV) * u.TeV


def _headline(result) -> dict:
    return {"detected": result.detected, "significance": result.significance, "crab_units": result.crab_units,
            "crab_units_ul": result.crab_units_ul}


def _one(args) -> dict:
    """Simulate a 15-minute run of a 2 % Crab with ``seed`` at LST-1's rate in the band; the spectrum's headline
    at the source and off it."""
    from astropy.coordinates import SkyCoord

    from lappana.highlevel.dl3files import read_dl3_folder
    from lappana.highlevel.regions import rotate_about
    from lappana.highlevel.spectrum import spectrum

    out, seed = args
    dl3, truths = make_flux_nights(Path(out), [{"night": dt.date(2023, 12, 7), "n_runs": 1, "run_minutes": RUN_MINUTES,
                                                "source_flux": FAINT_CRAB}], seed=seed)
    source = SkyCoord(83.633, 22.014, unit="deg")
    run = read_dl3_folder(dl3)[0]
    ra, dec = rotate_about(source.ra.deg, source.dec.deg, run.pointing_ra_deg, run.pointing_dec_deg, 90.0)
    empty = SkyCoord(float(ra), float(dec), unit="deg")
    _, faint = spectrum(dl3, source, energy_range=BAND, flux_points=False)
    _, nothing = spectrum(dl3, empty, energy_range=BAND, flux_points=False)
    return {"seed": seed, "injected": truths[0]["parameters"]["source_flux_crab"], "faint": _headline(faint),
            "empty": _headline(nothing)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[dict]:
    base = tmp_path_factory.mktemp("coverage")
    jobs = [(str(base / f"seed{s}"), s) for s in SEEDS]
    with ProcessPoolExecutor(WORKERS) as pool:
        found = list(pool.map(_one, jobs))
    for r in found:
        print(r)
    return found


def test_upper_limits_of_a_faint_source_cover_its_flux(runs):
    covered = sum(r["faint"]["crab_units_ul"] > r["injected"] for r in runs)
    print(f"95 % upper limits above the injected {FAINT_CRAB} Crab: {covered} of {len(runs)}")
    assert all(r["injected"] == FAINT_CRAB for r in runs)
    assert covered >= 17, runs


def test_an_empty_sky_is_not_detected_and_its_significances_are_standard_normal(runs):
    assert not any(r["empty"]["detected"] for r in runs)
    sig = np.array([r["empty"]["significance"] for r in runs])
    print(f"empty sky: significances mean {sig.mean():.2f}, rms {sig.std():.2f} over {sig.size} runs")
    assert abs(sig.mean()) <= 0.5 and 0.6 <= sig.std() <= 1.4, sig
