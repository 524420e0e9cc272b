"""Light curves: the integral flux above the spectrum's threshold per run, per night or per livetime bin.

gammapy's ``LightCurveEstimator`` fits the normalisation of the spectrum's best
model (its shape fixed, lstchain's recipe) in each time bin; bins with TS < 4 are
upper limits (95 %, one-sided). Fixed bins hold a given *livetime* (default
20 minutes, FACT's quick-look choice), counted along each night's good time
intervals; a night's last bin holds what is left. Observations are cut at the bin
edges before the ON/OFF reduction, so a run can feed several bins. Constancy is
tested with the χ² of the fluxes around their weighted mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.time import Time

from lappana.errors import LappanaError
from lappana.highlevel.crab import FLUX_UNIT, crab_integral_flux
from lappana.highlevel.onoff1d import OnOffMaker, night_of
from lappana.highlevel.spectrum import INTEGRAL_MAX, SOURCE, UL_N_SIGMA, SpectrumResult

#: Default fixed bin: 20 minutes of livetime.
DEFAULT_BIN = 20 * u.min


def parse_bin(value) -> str | u.Quantity:
    """``"run"``, ``"night"`` or a livetime such as ``"20 min"`` (a Quantity); a sentence when it is none of these."""
    if isinstance(value, u.Quantity):
        q = value
    else:
        text = str(value).strip().lower()
        if text in ("run", "night"):
            return text
        try:
            q = u.Quantity(text)
        except (TypeError, ValueError):
            q = None
    if q is None or not q.unit.is_equivalent(u.s) or not q.to_value(u.s) > 0:
        raise LappanaError(f"A light-curve bin is run, night or a livetime such as \"20 min\", not {value!r}.")
    return q.to(u.min)


def _span(obs) -> tuple[float, float]:
    """First start and last stop (unix s) of an observation's GTIs.

    gammapy's ``Observation.tstop`` is the stop of the *first* GTI, so a run with
    DAQ breaks looks shorter than it is there; the GTI table is the truth.
    """
    return float(obs.gti.time_start.unix.min()), float(obs.gti.time_stop.unix.max())


def slice_observations(observations, intervals: list[Time]):
    """The parts of ``observations`` inside each interval (gammapy ``Observations``), interval by interval."""
    from gammapy.data import Observations

    parts = []
    for interval in intervals:
        a, b = interval.unix
        for obs in observations:
            start, stop = _span(obs)
            if start < b and stop > a:
                parts.append(obs.select_time(interval))
    return Observations(parts)


def livetime_bins(observations, width: u.Quantity) -> list[Time]:
    """Time intervals each holding ``width`` of livetime, restarted every night.

    Parameters
    ----------
    observations : gammapy Observations
    width : astropy.units.Quantity

    Returns
    -------
    list of astropy.time.Time
        ``[start, stop]`` per bin, in time order.
    """
    width_s = width.to_value(u.s)
    by_night: dict[str, list] = {}
    for obs in sorted(observations, key=lambda o: _span(o)[0]):
        by_night.setdefault(night_of(Time(_span(obs)[0], format="unix")), []).append(obs)
    bins = []
    for night_obs in by_night.values():
        start = None
        live = 0.0
        last = None
        for obs in night_obs:
            deadc = obs.observation_live_time_duration.to_value(u.s) / obs.observation_time_duration.to_value(u.s)
            for t0, t1 in zip(obs.gti.time_start.unix, obs.gti.time_stop.unix):
                t = float(t0)
                start = t if start is None else start
                while t < t1:
                    need = (width_s - live) / deadc
                    if t + need <= t1:
                        t += need
                        bins.append((start, t))
                        start, live = t, 0.0
                    else:
                        live += (t1 - t) * deadc
                        t = float(t1)
                last = float(t1)
        if start is not None and last is not None and last > start and live > 0:
            bins.append((start, last))
    return [Time([a, b], format="unix", scale="utc") for a, b in bins]


def night_bins(observations) -> list[Time]:
    """One interval per night: from its first run's start to its last run's stop."""
    nights: dict[str, list[float]] = {}
    for obs in observations:
        start, stop = _span(obs)
        span = nights.setdefault(night_of(Time(start, format="unix")), [np.inf, -np.inf])
        span[0] = min(span[0], start - 1.0)
        span[1] = max(span[1], stop + 1.0)
    return [Time(v, format="unix", scale="utc") for _, v in sorted(nights.items())]


@dataclass
class LightCurve:
    """Integral flux above ``energy_band[0]`` in time bins; ``to_dict()`` is summary.json's entry.

    Fluxes are cm⁻² s⁻¹ Quantities with symmetric (parabolic) errors; ``crab_units*``
    the same divided by the Crab's integral over the same band. ``chi2``/``dof``/``p_constant`` test a constant flux.
    """

    bin: str
    energy_band: u.Quantity
    time_start: Time
    time_stop: Time
    livetime: u.Quantity
    flux: u.Quantity
    flux_error: u.Quantity
    flux_ul: u.Quantity
    ts: np.ndarray
    is_ul: np.ndarray
    crab_units: np.ndarray
    crab_units_error: np.ndarray
    crab_units_ul: np.ndarray
    chi2: float
    dof: int
    p_constant: float
    estimate: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        def fl(a):
            return [float(x) if np.isfinite(x) else None for x in np.asarray(a, dtype=float)]
        return {
            "bin": self.bin, "energy_band_tev": [float(e) for e in self.energy_band.to_value(u.TeV)],
            "integral_above_tev": float(self.energy_band[0].to_value(u.TeV)),
            "time_start_utc": [t.isot for t in self.time_start], "time_stop_utc": [t.isot for t in self.time_stop],
            "livetime_s": fl(self.livetime.to_value(u.s)), "flux_cm2_s": fl(self.flux.to_value(FLUX_UNIT)),
            "flux_error_cm2_s": fl(self.flux_error.to_value(FLUX_UNIT)),
            "flux_ul_cm2_s": fl(self.flux_ul.to_value(FLUX_UNIT)), "ts": fl(self.ts),
            "is_ul": [bool(x) for x in self.is_ul], "crab_units": fl(self.crab_units),
            "crab_units_error": fl(self.crab_units_error), "crab_units_ul": fl(self.crab_units_ul),
            "constancy": {"chi2": float(self.chi2) if np.isfinite(self.chi2) else None, "dof": int(self.dof),
                          "p_value": float(self.p_constant) if np.isfinite(self.p_constant) else None},
        }


def constancy(values: np.ndarray, errors: np.ndarray) -> tuple[float, int, float]:
    """χ² of ``values`` around their inverse-variance weighted mean, its degrees of freedom and p-value."""
    from scipy.stats import chi2 as chi2_dist

    v, e = np.asarray(values, float), np.asarray(errors, float)
    ok = np.isfinite(v) & np.isfinite(e) & (e > 0)
    if ok.sum() < 2:
        return float("nan"), 0, float("nan")
    w = 1.0 / e[ok] ** 2
    mean = np.sum(w * v[ok]) / np.sum(w)
    chi2 = float(np.sum(w * (v[ok] - mean) ** 2))
    dof = int(ok.sum() - 1)
    return chi2, dof, float(chi2_dist.sf(chi2, dof))


@dataclass
class LightCurveMaker:
    """Make a light curve of the runs of a spectrum.

    Parameters
    ----------
    spectrum : SpectrumResult
        Gives the band and the spectral shape.
    maker : OnOffMaker
        How the (time-sliced) runs are reduced; the same as for the spectrum.
    bin : str or astropy.units.Quantity
        ``"run"``, ``"night"`` or a livetime per bin (default 20 min).
    """

    spectrum: SpectrumResult
    maker: OnOffMaker
    bin: str | u.Quantity = DEFAULT_BIN

    def run(self, observations, datasets=None) -> LightCurve:
        """Estimate from the gammapy ``Observations`` (and, for ``run``/``night`` bins, their datasets)."""
        from gammapy.datasets import Datasets
        from gammapy.estimators import LightCurveEstimator

        kind = parse_bin(self.bin)
        band = self.spectrum.energy_band
        if kind == "run":
            intervals, label = None, "run"
        elif kind == "night":
            intervals, label = night_bins(observations), "night"
        else:
            intervals, label = livetime_bins(observations, kind), f"{kind.to_value(u.min):g} min"
        if datasets is None or isinstance(kind, u.Quantity):
            sliced = observations if intervals is None else slice_observations(observations, intervals)
            datasets = self.maker.run(sliced)
        datasets = Datasets(datasets)
        model = self.spectrum.model.copy(name=SOURCE)
        for d in datasets:
            d.models = model  # one model for all runs, as in the recipe (it replaces the datasets' models)
        estimator = LightCurveEstimator(time_intervals=intervals, energy_edges=band, source=SOURCE,
                                        selection_optional=["ul"], n_sigma_ul=UL_N_SIGMA,
                                        reoptimize=False)
        lc = estimator.run(datasets)
        if lc is None or len(lc.geom.axes["time"].time_min) == 0:
            raise LappanaError("No time bin of the light curve holds a usable run.")
        norm, err, ul = (np.ravel(getattr(lc, n).data) for n in ("norm", "norm_err", "norm_ul"))
        ts = np.ravel(lc.ts.data)
        is_ul = np.ravel(lc.is_ul.data).astype(bool)
        axis = lc.geom.axes["time"]
        start, stop = Time(axis.time_min, scale="utc"), Time(axis.time_max, scale="utc")
        spans = [(d.gti.time_start[0].unix, d.gti.time_stop[-1].unix, d.exposure.meta["livetime"].to_value(u.s))
                 for d in datasets]
        live = [sum(t for t0, t1, t in spans if a - 1e-3 <= t0 and t1 <= b + 1e-3)
                for a, b in zip(start.unix, stop.unix)]
        model_flux = self.spectrum.model.spectral_model.integral(band[0], INTEGRAL_MAX).to(FLUX_UNIT)
        crab = crab_integral_flux(band[0], INTEGRAL_MAX)
        flux, flux_err, flux_ul = norm * model_flux, err * model_flux, ul * model_flux
        cu, cu_err = (flux / crab).to_value(u.one), (flux_err / crab).to_value(u.one)
        chi2, dof, p = constancy(cu, cu_err)
        return LightCurve(bin=label, energy_band=band, time_start=start, time_stop=stop, livetime=np.array(live) * u.s,
                          flux=flux, flux_error=flux_err, flux_ul=flux_ul, ts=ts, is_ul=is_ul, crab_units=cu,
                          crab_units_error=cu_err, crab_units_ul=(flux_ul / crab).to_value(u.one), chi2=chi2,
                          dof=dof, p_constant=p, estimate=lc)
