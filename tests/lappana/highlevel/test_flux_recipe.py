"""lappana's spectrum and light curve against lstchain's post_DL3_analysis recipe done by hand with gammapy 2.1."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tests.helpers.highlevel import CRAB, FLUX_BAND_TEV, run_gammapy
from lappana.highlevel.lightcurve import LightCurveMaker
from lappana.highlevel.onoff1d import SAFE_AEFF_PERCENT, OnOffMaker, read_observations, reco_energy_edges
from lappana.highlevel.spectrum import SpectrumEstimator

#: crab_2h (LST-1's rate in its band) takes ~2 min of CPU to make (4 min at load 6-8); 1 h leaves room on a busier machine
pytestmark = [pytest.mark.peers, pytest.mark.slow, pytest.mark.timeout(3600)]


def test_spectrum_and_run_wise_light_curve_equal_the_recipe_within_1_percent(crab_2h, gammapy_python, tmp_path):
    dl3, _ = crab_2h
    band = list(FLUX_BAND_TEV) * u.TeV
    target = SkyCoord(CRAB["source_ra_deg"], CRAB["source_dec_deg"], unit="deg")
    maker = OnOffMaker(target, n_off=1, energy_range=band)
    observations = read_observations(dl3)
    datasets = maker.run(observations)
    mine = SpectrumEstimator(flux_points=False).run(datasets)
    lc = LightCurveMaker(mine, maker, "run").run(observations, datasets)
    peer = run_gammapy(gammapy_python, {
        "mode": "recipe", "dl3_dir": str(dl3), "ra": CRAB["source_ra_deg"], "dec": CRAB["source_dec_deg"],
        "n_off": 1, "aeff_percent": SAFE_AEFF_PERCENT,
        "edges": reco_energy_edges(band).to_value(u.TeV).tolist()}, tmp_path)
    assert peer["success"]
    fit = mine.fits["log_parabola"].parameters
    for name in ("reference", "amplitude", "alpha", "beta"):
        assert fit[name] == pytest.approx(peer["parameters"][name], rel=0.01), name
    table = lc.estimate.to_table(sed_type="flux", format="lightcurve")
    assert np.ravel(table["time_min"]) == pytest.approx(peer["lc_time_min"], abs=1e-6)
    assert np.ravel(table["flux"]) == pytest.approx(peer["lc_flux"], rel=0.01)
