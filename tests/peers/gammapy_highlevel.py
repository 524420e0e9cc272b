"""Run with gammapy 2.1's python: the high-level numbers lappana is compared with.

Usage: ``python gammapy_highlevel.py REQUEST.json``; prints one JSON document.
The request has ``mode``:

- ``lima``: ``cases`` = [[n_on, n_off, alpha], ...] → ``sqrt_ts`` of WStatCountsStatistic;
- ``theta2``: ``dl3_dir, ra, dec, n_off, edges, energy_range`` → make_theta_squared_table counts;
- ``reflected``: ``dl3_dir, ra, dec, n_off, energy_range`` → ON/OFF counts per run of
  ReflectedRegionsBackgroundMaker(WobbleRegionsFinder) on a point-like (RAD_MAX) dataset;
- ``excessmap``: ``npz`` (counts, counts_off, acceptance, acceptance_off, wcs header),
  ``radius`` → ExcessMapEstimator sqrt_ts on a MapDatasetOnOff.
- ``recipe``: ``dl3_dir, ra, dec, n_off, edges (TeV), aeff_percent`` → lstchain's post_DL3_analysis
  notebook done by hand: stacked log-parabola (reference at the power law's decorrelation
  energy) and the run-wise light curve's integral flux in [edges[0], edges[-1]].
"""

import json
import sys
import time

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.utils import iers

iers.conf.auto_download = False


def lima(req):
    from gammapy.stats import WStatCountsStatistic

    cases = np.array(req["cases"], dtype=float)
    stat = WStatCountsStatistic(cases[:, 0], cases[:, 1], cases[:, 2])
    return {"sqrt_ts": np.asarray(stat.sqrt_ts).tolist()}


def _observations(dl3_dir, irf=None):
    from gammapy.data import DataStore

    store = DataStore.from_dir(dl3_dir)
    if irf:
        return store.get_observations(required_irf=irf)
    return store.get_observations(required_irf=[])


def theta2(req):
    from gammapy.makers.utils import make_theta_squared_table
    from gammapy.maps import MapAxis

    t0 = time.perf_counter()
    observations = _observations(req["dl3_dir"])
    axis = MapAxis.from_edges(np.array(req["edges"]) * u.deg**2, name="theta_squared")
    energy = req.get("energy_range")
    table = make_theta_squared_table(
        observations, position=SkyCoord(req["ra"], req["dec"], unit="deg", frame="icrs"),
        theta_squared_axis=axis, off_regions_number=req["n_off"],
        energy_edges=None if energy is None else np.array(energy) * u.TeV)
    return {"counts": np.asarray(table["counts"]).tolist(), "counts_off": np.asarray(table["counts_off"]).tolist(),
            "alpha": np.asarray(table["alpha"]).tolist(), "sqrt_ts": np.asarray(table["sqrt_ts"]).tolist(),
            "seconds": time.perf_counter() - t0}


def reflected(req):
    from gammapy.datasets import SpectrumDataset
    from gammapy.makers import ReflectedRegionsBackgroundMaker, SpectrumDatasetMaker, WobbleRegionsFinder
    from gammapy.maps import MapAxis, RegionGeom
    from gammapy.stats import WStatCountsStatistic
    from regions import PointSkyRegion

    t0 = time.perf_counter()
    observations = _observations(req["dl3_dir"], "point-like")
    lo, hi = req.get("energy_range") or (1e-3, 1e3)
    energy = MapAxis.from_energy_edges([lo, hi] * u.TeV, name="energy")
    true_energy = MapAxis.from_energy_bounds(0.005, 200, nbin=10, unit="TeV", name="energy_true")
    target = SkyCoord(req["ra"], req["dec"], unit="deg", frame="icrs")
    geom = RegionGeom.create(region=PointSkyRegion(target), axes=[energy])
    empty = SpectrumDataset.create(geom=geom, energy_axis_true=true_energy)
    maker = SpectrumDatasetMaker(selection=["counts"], containment_correction=False, use_region_center=True)
    bkg = ReflectedRegionsBackgroundMaker(region_finder=WobbleRegionsFinder(n_off_regions=req["n_off"]))
    runs = []
    n_on = n_off = 0
    alpha_live = live = 0.0
    for obs in observations:
        ds = maker.run(empty.copy(name=str(obs.obs_id)), obs)
        onoff = bkg.run(ds, obs)
        on = int(onoff.counts.data.sum())
        off = int(onoff.counts_off.data.sum()) if onoff.counts_off is not None else 0
        alpha = float(np.mean(onoff.alpha.data))
        lt = obs.observation_live_time_duration.to_value("s")
        runs.append({"obs_id": int(obs.obs_id), "n_on": on, "n_off": off, "alpha": alpha, "livetime_s": lt})
        n_on += on
        n_off += off
        alpha_live += alpha * lt
        live += lt
    alpha = alpha_live / live
    sigma = float(WStatCountsStatistic(n_on, n_off, alpha).sqrt_ts)
    return {"runs": runs, "n_on": n_on, "n_off": n_off, "alpha": alpha, "sqrt_ts": sigma,
            "seconds": time.perf_counter() - t0}


def excessmap(req):
    from astropy.io import fits
    from astropy.wcs import WCS
    from gammapy.datasets import MapDatasetOnOff
    from gammapy.estimators import ExcessMapEstimator
    from gammapy.maps import Map, MapAxis, WcsGeom

    data = np.load(req["npz"])
    wcs = WCS(fits.Header.fromstring(str(data["header"])))
    ny, nx = data["counts"].shape
    energy = MapAxis.from_energy_edges([0.001, 1000] * u.TeV, name="energy")
    geom = WcsGeom(wcs=wcs, npix=(nx, ny), axes=[energy])

    def cube(name):
        return Map.from_geom(geom, data=data[name][np.newaxis].astype(float))

    dataset = MapDatasetOnOff(counts=cube("counts"), counts_off=cube("counts_off"),
                              acceptance=cube("acceptance"), acceptance_off=cube("acceptance_off"))
    result = ExcessMapEstimator(correlation_radius=req["radius"] * u.deg, correlate_off=True).run(dataset)
    return {"sqrt_ts": np.nan_to_num(result["sqrt_ts"].data[0], nan=-999.0).tolist(),
            "npred_excess": np.nan_to_num(result["npred_excess"].data[0], nan=-999.0).tolist()}


def recipe(req):
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.estimators import LightCurveEstimator
    from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker, WobbleRegionsFinder
    from gammapy.maps import MapAxis, RegionGeom
    from gammapy.modeling import Fit
    from gammapy.modeling.models import LogParabolaSpectralModel, PowerLawSpectralModel, SkyModel
    from regions import PointSkyRegion

    t0 = time.perf_counter()
    observations = _observations(req["dl3_dir"], "point-like")
    target = SkyCoord(req["ra"], req["dec"], unit="deg", frame="icrs")
    energy = MapAxis.from_energy_edges(np.array(req["edges"]) * u.TeV, name="energy")
    true_energy = MapAxis.from_energy_bounds(0.01, 100, nbin=10, per_decade=True, unit="TeV", name="energy_true")
    empty = SpectrumDataset.create(geom=RegionGeom.create(region=PointSkyRegion(target), axes=[energy]),
                                   energy_axis_true=true_energy)
    maker = SpectrumDatasetMaker(containment_correction=False, selection=["counts", "exposure", "edisp"])
    bkg = ReflectedRegionsBackgroundMaker(region_finder=WobbleRegionsFinder(n_off_regions=req["n_off"]))
    safe = SafeMaskMaker(methods=["aeff-max"], aeff_percent=req["aeff_percent"])
    datasets = Datasets()
    for obs in observations:
        datasets.append(safe.run(bkg.run(maker.run(empty.copy(name=str(obs.obs_id)), obs), obs), obs))
    stacked = datasets.stack_reduce()
    pl = PowerLawSpectralModel(index=2, amplitude=2e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=0.4 * u.TeV)
    stacked.models = SkyModel(spectral_model=pl, name="crab")
    Fit().run(datasets=stacked)
    lp = LogParabolaSpectralModel(amplitude=5e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=pl.pivot_energy,
                                  alpha=2 * u.Unit(""), beta=0.1 * u.Unit(""))
    model = SkyModel(spectral_model=lp, name="crab")
    stacked.models = model
    fit = Fit().run(datasets=stacked)
    for dataset in datasets:
        dataset.models = model
    lc = LightCurveEstimator(energy_edges=[req["edges"][0], req["edges"][-1]] * u.TeV, source="crab",
                             reoptimize=False, selection_optional=None).run(datasets)
    table = lc.to_table(sed_type="flux", format="lightcurve")
    return {"parameters": {p.name: float(p.value) for p in lp.parameters}, "success": bool(fit.success),
            "lc_flux": np.ravel(table["flux"]).tolist(), "lc_time_min": np.ravel(table["time_min"]).tolist(),
            "seconds": time.perf_counter() - t0}


if __name__ == "__main__":
    request = json.loads(open(sys.argv[1]).read())
    print(json.dumps({"lima": lima, "theta2": theta2, "reflected": reflected, "excessmap": excessmap,
                      "recipe": recipe}[request["mode"]](request)))
