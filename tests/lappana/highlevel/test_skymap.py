"""Sky maps: the significance map equals gammapy's ExcessMapEstimator on the same counts."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from lappana.highlevel.skymap import correlate, make_skymap, tophat_kernel, write_skymap_fits

from tests.helpers.highlevel import CRAB, run_gammapy


def test_correlate_sums_the_disk():
    image = np.zeros((21, 21))
    image[10, 10] = 1.0
    image[0, 0] = 5.0
    kernel = tophat_kernel(0.1, 0.02)
    out = correlate(image, kernel)
    assert out.sum() == pytest.approx(kernel.sum() + 5.0 * (kernel[kernel.shape[0] // 2:, kernel.shape[1] // 2:]).sum())
    assert out[10, 10] == 1.0 and out[10, 15] == 1.0 and out[10, 16] == 0.0


def test_significance_map_equals_gammapy_excess_map_estimator(crab_dl3, gammapy_python, tmp_path):
    maps = make_skymap(crab_dl3, energy_range=(0.2, 100.0), correlation_radius_deg=0.1, width_deg=1.6, **CRAB)
    npz = tmp_path / "maps.npz"
    np.savez(npz, counts=maps.counts, counts_off=maps.counts_off, acceptance=maps.acceptance,
             acceptance_off=maps.acceptance_off, header=maps.wcs.to_header().tostring())
    peer = run_gammapy(gammapy_python, {"mode": "excessmap", "npz": str(npz), "radius": 0.1}, tmp_path)
    theirs = np.array(peer["sqrt_ts"])
    mine = maps.significance
    both = np.isfinite(mine) & (theirs != -999.0)
    print(f"sky map {mine.shape}: {both.sum()} pixels compared, σ at source {maps.summary()['significance_at_source']:.2f}, "
          f"max |Δσ| {np.max(np.abs(mine[both] - theirs[both])):.2e}")
    assert both.mean() > 0.9
    # gammapy convolves by FFT: round-off of ~1e-7 in σ where σ is ~0; lappana sums exactly
    np.testing.assert_allclose(mine[both], theirs[both], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(maps.excess_correlated[both], np.array(peer["npred_excess"])[both], rtol=1e-6, atol=1e-4)


def test_crab_stands_out_and_the_field_is_normal(crab_dl3):
    maps = make_skymap(crab_dl3, energy_range=(0.2, 100.0), **CRAB)
    summary = maps.summary()
    assert summary["significance_at_source"] > 5
    # away from the source (> 0.4 deg) the significance is distributed about 0 with a width ~1
    ny, nx = maps.counts.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    ra, dec = maps.wcs.pixel_to_world_values(xx, yy)
    far = (np.hypot((ra - CRAB["source_ra_deg"]) * np.cos(np.radians(dec)), dec - CRAB["source_dec_deg"]) > 0.4)
    far &= np.isfinite(maps.significance) & (maps.n_on_correlated + maps.n_off_correlated > 0)
    values = maps.significance[far]
    print(f"field: mean σ {values.mean():.3f}, std {values.std():.3f} over {values.size} pixels")
    assert abs(values.mean()) < 0.5
    assert 0.5 < values.std() < 1.6


def test_fits_has_wcs_and_every_map(crab_dl3, tmp_path):
    maps = make_skymap(crab_dl3, **CRAB)
    path = write_skymap_fits(maps, tmp_path / "skymap.fits")
    with fits.open(path) as hdus:
        names = [h.name for h in hdus[1:]]
        assert names == ["COUNTS", "BACKGROUND", "COUNTS_OFF", "ACCEPTANCE", "ACCEPTANCE_OFF", "N_ON_CORR",
                         "BACKGROUND_CORR", "EXCESS", "SIGNIFICANCE"]
        header = hdus["SIGNIFICANCE"].header
        assert header["CTYPE1"] == "RA---TAN" and header["CRVAL1"] == pytest.approx(CRAB["source_ra_deg"])
        assert hdus["COUNTS"].data.sum() == maps.counts.sum()
