"""The safe energy threshold and the default band, against gammapy's SafeMaskMaker("aeff-max") itself."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from lappana.errors import LappanaError
from lappana.highlevel.dl3files import read_dl3_folder
from lappana.highlevel.onoff1d import TRUE_ENERGY_TEV, TRUE_PER_DECADE
from lappana.highlevel.threshold import (NO_MAX_TEV, SAFE_AEFF_PERCENT, energy_band, read_effective_area,
                                         safe_reco_min_tev, safe_true_threshold_tev)

from tests.helpers.highlevel import CRAB


def gammapy_threshold_tev(irf_file, offset_deg: float) -> float | None:
    """What SafeMaskMaker("aeff-max") finds on a SpectrumDataset's exposure: its steps, with gammapy's classes."""
    from gammapy.irf import EffectiveAreaTable2D
    from gammapy.maps import MapAxis, RegionGeom, RegionNDMap
    from gammapy.modeling.models import TemplateSpectralModel

    aeff = EffectiveAreaTable2D.read(irf_file, hdu="EFFECTIVE AREA")
    axis = MapAxis.from_energy_bounds(*TRUE_ENERGY_TEV, nbin=TRUE_PER_DECADE, per_decade=True, unit="TeV",
                                      name="energy_true")
    values = aeff.evaluate(offset=offset_deg * u.deg, energy_true=axis.center)
    region = RegionNDMap.create(region=None, axes=[axis], unit=values.unit)
    region.quantity = values.reshape(region.data.shape)
    if not np.any(values > 0):
        return None
    model = TemplateSpectralModel.from_region_map(region)
    energy = model.energy
    lowest = energy[np.nonzero(model.values > 0)[0][0]]
    roots = model.inverse(SAFE_AEFF_PERCENT / 100 * region.quantity.max(), energy_min=lowest, energy_max=energy[-1])
    return float((lowest if np.isnan(roots[0]) else roots[0]).to_value(u.TeV))


@pytest.mark.parametrize("irf_set", ["eff_gh0.70_th0.70", "global_gh0.70_theta0.20"])
def test_true_threshold_is_gammapys_at_every_irf_node(crab_dl3, irf_set):
    files = sorted((crab_dl3.parent / "IRF" / irf_set).glob("irf_*.fits*"))
    assert len(files) >= 2
    for path in files:
        with fits.open(path) as hdus:
            aeff = read_effective_area(hdus)
        for offset in (0.4, 0.32, 0.48, 0.7):  # 0.7° lies beyond the IRF's offsets: no effective area
            mine, theirs = safe_true_threshold_tev(aeff, offset), gammapy_threshold_tev(path, offset)
            assert (mine is None) == (theirs is None) == (offset > 0.5), (path.name, offset)
            if theirs is not None:
                assert mine == pytest.approx(theirs, rel=1e-6), (path.name, offset)


def test_default_band_starts_at_the_highest_runs_first_safe_bin(crab_dl3):
    runs = read_dl3_folder(crab_dl3)
    band = energy_band(runs, CRAB["source_ra_deg"], CRAB["source_dec_deg"])
    assert band.from_threshold and set(band.thresholds_tev) == {r.obs_id for r in runs}
    assert band.range_tev == (safe_reco_min_tev(max(band.thresholds_tev.values())), NO_MAX_TEV)
    assert max(band.thresholds_tev.values()) <= band.range_tev[0]
    # an asked-for end is kept, the other filled in
    assert energy_band(runs, CRAB["source_ra_deg"], CRAB["source_dec_deg"], (0.2, None)).range_tev == (0.2, NO_MAX_TEV)
    upper = energy_band(runs, CRAB["source_ra_deg"], CRAB["source_dec_deg"], (None, 10.0))
    assert upper.range_tev == (band.range_tev[0], 10.0) and upper.from_threshold
    assert "the safe threshold of the IRFs" in band.describe()


def test_a_band_below_the_threshold_or_without_effective_area_is_a_sentence(crab_dl3):
    runs = read_dl3_folder(crab_dl3)
    with pytest.raises(LappanaError, match="is empty"):
        energy_band(runs, CRAB["source_ra_deg"], CRAB["source_dec_deg"], (None, 0.01))
    for run in runs:
        run.aeff = None
    with pytest.raises(LappanaError, match="no safe energy threshold"):
        energy_band(runs, CRAB["source_ra_deg"], CRAB["source_dec_deg"])
    assert energy_band(runs, CRAB["source_ra_deg"], CRAB["source_dec_deg"], (0.2, 10.0)).range_tev == (0.2, 10.0)
