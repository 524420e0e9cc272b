"""The events of one run: trigger times, event types, pointing, showers, chunk by chunk.

Showers (cosmic rays, and gammas from the source) arrive as a Poisson process;
pedestal (``event_type`` 2) and flatfield (0) events are interleaved at fixed rates;
the camera is dead for :data:`lappana.simulate.model.DEAD_TIME_S` after every
trigger, so ``delta_t`` is exponential above that minimum, as in LST-1 data and as
lstchain's effective-time estimate expects. Events are produced in time chunks so
that a run of any length is written with flat memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from lappana.constants import EVENT_TYPE_FLATFIELD, EVENT_TYPE_PEDESTAL, EVENT_TYPE_SHOWER
from lappana.simulate import model
from lappana.simulate.camera import altaz_to_camera, camera_to_altaz
from lappana.simulate.observation import RunPlan
from lappana.simulate.separation import gamma_score
from lappana.simulate.showers import draw_reco_energy, image_parameters, reconstruct

#: Columns of a DL1 parameter table, in lstchain's order and types.
DL1_COLUMNS: dict[str, str] = {
    "obs_id": "i8", "event_id": "i8", "tel_id": "i8",
    "intensity": "f8", "log_intensity": "f8", "x": "f8", "y": "f8", "r": "f8", "phi": "f8",
    "length": "f8", "length_uncertainty": "f8", "width": "f8", "width_uncertainty": "f8",
    "psi": "f8", "skewness": "f8", "kurtosis": "f8", "time_gradient": "f8", "intercept": "f8",
    "leakage_intensity_width_1": "f8", "leakage_intensity_width_2": "f8",
    "leakage_pixels_width_1": "f8", "leakage_pixels_width_2": "f8",
    "n_pixels": "i8", "concentration_cog": "f8", "concentration_core": "f8",
    "concentration_pixel": "f8", "n_islands": "i8",
    "alt_tel": "f8", "az_tel": "f8", "sin_az_tel": "f8", "calibration_id": "i8",
    "dragon_time": "f8", "ucts_time": "f8", "tib_time": "f8", "ucts_jump": "?",
    "wl": "f8", "tel_pos_x": "f8", "tel_pos_y": "f8", "tel_pos_z": "f8",
    "trigger_type": "i8", "ucts_trigger_type": "i8", "trigger_time": "f8", "event_type": "i8",
}

#: Columns lstchain_dl1_to_dl2 adds.
DL2_EXTRA_COLUMNS: dict[str, str] = {
    "log_reco_energy": "f8", "reco_energy": "f8", "reco_disp_norm": "f8",
    "reco_disp_sign": "i8", "reco_disp_sign_proba": "f8",
    "reco_disp_dx": "f8", "reco_disp_dy": "f8", "reco_src_x": "f8", "reco_src_y": "f8",
    "signed_time_gradient": "f8", "signed_skewness": "f8",
    "reco_alt": "f8", "reco_az": "f8", "gammaness": "f8", "reco_type": "i8",
}

#: Truth columns kept in memory (never written to observed data).
TRUTH_COLUMNS = ("true_energy", "is_gamma", "source_alt", "source_az")

_TRIGGER_TYPE = {EVENT_TYPE_SHOWER: 1, EVENT_TYPE_PEDESTAL: 32, EVENT_TYPE_FLATFIELD: 4}

#: Energy grid (TeV) of the samplers.
_ENERGY_GRID = np.logspace(np.log10(0.005), 2.0, 1401)


@dataclass(frozen=True)
class RunSettings:
    """Rates and source of a simulated run.

    Attributes
    ----------
    shower_rate_hz : float
        Rate of cosmic-ray showers that survive image cleaning at 10° zenith (Hz),
        before dead time; it falls with zenith as LST-1's
        (:func:`lappana.simulate.model.cosmic_rate_scale`).
    pedestal_rate_hz, flatfield_rate_hz : float
        Rates of the interleaved calibration events (Hz).
    dead_time_s : float
        Dead time after each trigger (s).
    source_flux : float
        Source flux in Crab units (0: no source).
    chunk_seconds : float
        Length of the time chunks produced at once.
    hadron_min_energy_tev : float
        Simulate only the cosmic rays of at least this gamma-equivalent energy (TeV), at
        their own rate (the spectrum is cut, not renormalised): the high-energy background,
        whose rate is a few per mille of the whole, gets the statistics of hours in minutes
        (``scripts/check-realism``). 0 simulates them all.
    """

    shower_rate_hz: float = model.LST1_SHOWER_RATE_HZ
    pedestal_rate_hz: float = 100.0
    flatfield_rate_hz: float = 100.0
    dead_time_s: float = model.DEAD_TIME_S
    source_flux: float = 1.0
    chunk_seconds: float = 30.0
    hadron_min_energy_tev: float = 0.0


@dataclass
class RunCounts:
    """What a simulated run contained (filled while it is generated)."""

    n_events: int = 0
    n_showers: int = 0
    n_gammas: int = 0
    n_pedestal: int = 0
    n_flatfield: int = 0
    first_time: float = float("nan")
    last_time: float = float("nan")
    zeniths: list[float] = field(default_factory=list)


def gamma_rate_hz(zenith_deg: float, source_flux: float = 1.0) -> float:
    """Rate (Hz) of triggered and cleaned gamma showers from a source of ``source_flux`` Crab."""
    if source_flux <= 0:
        return 0.0
    dn = model.crab_flux(_ENERGY_GRID) * 1e4 * model.collection_area(_ENERGY_GRID, zenith_deg)
    return float(source_flux * np.trapezoid(dn, _ENERGY_GRID))


def _inverse_cdf_sampler(density: np.ndarray):
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(_ENERGY_GRID))])
    cdf /= cdf[-1]
    log_grid = np.log(_ENERGY_GRID)

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        return np.exp(np.interp(rng.uniform(size=n), cdf, log_grid))

    return sample


def gamma_energy_sampler(zenith_deg: float):
    """Sampler of true energies of detected Crab-like gammas at a zenith angle."""
    density = model.crab_flux(_ENERGY_GRID) * model.collection_area(_ENERGY_GRID, zenith_deg)
    return _inverse_cdf_sampler(density)


_HADRON_SAMPLERS: dict[tuple[float, float], object] = {}


def _hadron_density(zenith_deg: float, min_energy_tev: float) -> np.ndarray:
    return model.hadron_energy_spectrum(_ENERGY_GRID, zenith_deg) * (_ENERGY_GRID >= min_energy_tev)


def hadron_energy_sampler(zenith_deg: float, min_energy_tev: float = 0.0):
    """Sampler of gamma-equivalent energies of detected hadrons, above ``min_energy_tev``
    (cached per 0.5° of zenith)."""
    key = (round(zenith_deg * 2.0) / 2.0, float(min_energy_tev))
    if key not in _HADRON_SAMPLERS:
        _HADRON_SAMPLERS[key] = _inverse_cdf_sampler(_hadron_density(key[0], key[1]))
    return _HADRON_SAMPLERS[key]


def hadron_fraction_above(zenith_deg: float, min_energy_tev: float) -> float:
    """Fraction of the detected cosmic rays with a gamma-equivalent energy of at least ``min_energy_tev``."""
    if min_energy_tev <= 0:
        return 1.0
    whole = model.hadron_energy_spectrum(_ENERGY_GRID, zenith_deg)
    return float(np.trapezoid(_hadron_density(zenith_deg, min_energy_tev), _ENERGY_GRID)
                 / np.trapezoid(whole, _ENERGY_GRID))


def cosmic_rate_hz(settings: RunSettings, zenith_deg: float) -> float:
    """Rate (Hz) of the simulated cosmic-ray showers of a run at a zenith, before dead time."""
    return (settings.shower_rate_hz * float(model.cosmic_rate_scale(zenith_deg))
            * hadron_fraction_above(zenith_deg, settings.hadron_min_energy_tev))


def _trigger_times_ns(
    rng: np.random.Generator,
    t0_ns: int,
    t1_ns: int,
    shower_rate_hz: float,
    settings: RunSettings,
    last_ns: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Recorded trigger times in [t0, t1) (ns from run start) and their event types."""
    span_s = (t1_ns - t0_ns) * 1e-9
    n_showers = rng.poisson(shower_rate_hz * span_s)
    showers = t0_ns + np.sort(rng.integers(0, t1_ns - t0_ns, n_showers))
    parts = [showers]
    types = [np.full(n_showers, EVENT_TYPE_SHOWER)]
    for rate, event_type, phase in (
        (settings.pedestal_rate_hz, EVENT_TYPE_PEDESTAL, 0.25),
        (settings.flatfield_rate_hz, EVENT_TYPE_FLATFIELD, 0.75),
    ):
        if rate <= 0:
            continue
        period = 1e9 / rate
        k0 = int(np.ceil((t0_ns / period) - phase))
        k1 = int(np.ceil((t1_ns / period) - phase))
        ticks = ((np.arange(k0, k1) + phase) * period).astype(np.int64)
        parts.append(ticks)
        types.append(np.full(ticks.size, event_type))
    times = np.concatenate(parts)
    kinds = np.concatenate(types)
    order = np.argsort(times, kind="stable")
    times, kinds = times[order], kinds[order]
    # A trigger within the dead time of the previous one is lost.
    previous = np.concatenate([[last_ns], times[:-1]])
    keep = (times - previous) >= int(round(settings.dead_time_s * 1e9))
    return times[keep], kinds[keep]


def iter_run_events(
    plan: RunPlan,
    settings: RunSettings,
    *,
    seed: int,
    duration_s: float | None = None,
    counts: RunCounts | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Yield the events of a run, time chunk by time chunk, as DL2 columns plus truth.

    Parameters
    ----------
    plan : RunPlan
        The run's times and pointing.
    settings : RunSettings
        Rates and source flux.
    seed : int
        Seed; the run's random stream is ``numpy.random.default_rng([seed, run_id])``.
    duration_s : float, optional
        Simulate only this many seconds from the start (default: the whole run).
    counts : RunCounts, optional
        Filled with the number of events of each kind.

    Yields
    ------
    dict of str to numpy.ndarray
        The columns of :data:`DL1_COLUMNS` and :data:`DL2_EXTRA_COLUMNS`, plus
        :data:`TRUTH_COLUMNS`.
    """
    rng = np.random.default_rng([int(seed), int(plan.run_id)])
    counts = counts if counts is not None else RunCounts()
    total_ns = int(round((duration_s if duration_s is not None else plan.duration_s) * 1e9))
    chunk_ns = int(round(settings.chunk_seconds * 1e9))
    last_ns = -(10**12)
    next_event_id = 1
    for t0_ns in range(0, total_ns, chunk_ns):
        t1_ns = min(t0_ns + chunk_ns, total_ns)
        mid = plan.start_unix + 0.5 * (t0_ns + t1_ns) * 1e-9
        p_alt, _ = plan.pointing_at(np.array([mid]))
        zenith = float(90.0 - np.degrees(p_alt[0]))
        counts.zeniths.append(zenith)
        r_gamma = gamma_rate_hz(zenith, settings.source_flux)
        r_cosmic = cosmic_rate_hz(settings, zenith)
        times_ns, kinds = _trigger_times_ns(
            rng, t0_ns, t1_ns, r_cosmic + r_gamma, settings, last_ns
        )
        if times_ns.size == 0:
            continue
        delta_ns = np.diff(np.concatenate([[last_ns], times_ns]))
        first_in_run = last_ns < 0
        last_ns = int(times_ns[-1])
        chunk = _chunk_columns(
            rng, plan, times_ns, kinds, zenith, r_gamma / (r_cosmic + r_gamma), next_event_id,
            settings.hadron_min_energy_tev,
        )
        delta_t = delta_ns * 1e-9
        if first_in_run:
            delta_t[0] = 0.0
        chunk["delta_t"] = delta_t
        next_event_id += times_ns.size
        _count(counts, chunk)
        yield chunk


def _count(counts: RunCounts, chunk: dict[str, np.ndarray]) -> None:
    kinds = chunk["event_type"]
    counts.n_events += kinds.size
    counts.n_showers += int(np.count_nonzero(kinds == EVENT_TYPE_SHOWER))
    counts.n_gammas += int(np.count_nonzero(chunk["is_gamma"]))
    counts.n_pedestal += int(np.count_nonzero(kinds == EVENT_TYPE_PEDESTAL))
    counts.n_flatfield += int(np.count_nonzero(kinds == EVENT_TYPE_FLATFIELD))
    if np.isnan(counts.first_time):
        counts.first_time = float(chunk["dragon_time"][0])
    counts.last_time = float(chunk["dragon_time"][-1])


def _chunk_columns(rng, plan, times_ns, kinds, zenith, p_gamma, first_event_id, hadron_min_energy_tev=0.0):
    n = times_ns.size
    t_unix = plan.start_unix + times_ns * 1e-9
    alt_tel, az_tel = plan.pointing_at(t_unix)
    src_alt, src_az = plan.source_at(t_unix)
    shower = kinds == EVENT_TYPE_SHOWER
    n_sh = int(np.count_nonzero(shower))
    is_gamma_sh = rng.uniform(size=n_sh) < p_gamma
    n_g = int(np.count_nonzero(is_gamma_sh))
    energy = np.empty(n_sh)
    energy[is_gamma_sh] = gamma_energy_sampler(zenith)(rng, n_g)
    energy[~is_gamma_sh] = hadron_energy_sampler(zenith, hadron_min_energy_tev)(rng, n_sh - n_g)

    # True arrival position in the camera: the source for gammas; hadrons spread over the field.
    sx, sy = altaz_to_camera(src_alt[shower], src_az[shower], alt_tel[shower], az_tel[shower])
    spread_m = np.radians(model.HADRON_FIELD_SPREAD_DEG) * model.EFFECTIVE_FOCAL_LENGTH_M
    hx = spread_m * rng.standard_normal(n_sh)
    hy = spread_m * rng.standard_normal(n_sh)
    src_x = np.where(is_gamma_sh, sx, hx)
    src_y = np.where(is_gamma_sh, sy, hy)
    zen = np.full(n_sh, zenith)

    reco_energy = draw_reco_energy(rng, energy, is_gamma_sh)
    score = gamma_score(rng, energy, is_gamma_sh, zenith)
    image = image_parameters(
        rng, energy=energy, reco_energy=reco_energy, score=score, is_gamma=is_gamma_sh,
        src_x=src_x, src_y=src_y, zenith_deg=zen,
    )
    reco = reconstruct(
        rng, energy=energy, reco_energy=reco_energy, score=score, is_gamma=is_gamma_sh,
        src_x=src_x, src_y=src_y, image=image, zenith_deg=zenith,
    )
    reco_alt, reco_az = camera_to_altaz(reco["reco_src_x"], reco["reco_src_y"], alt_tel[shower], az_tel[shower])
    reco["reco_alt"] = reco_alt
    reco["reco_az"] = reco_az

    cols: dict[str, np.ndarray] = {}
    for name, dtype in {**DL1_COLUMNS, **DL2_EXTRA_COLUMNS}.items():
        cols[name] = np.zeros(n, dtype=dtype)
    for name, values in {**image, **reco}.items():
        if name in cols:
            cols[name][shower] = values
    _fill_interleaved(cols, ~shower, kinds, alt_tel, az_tel)
    cols["obs_id"][:] = plan.run_id
    cols["event_id"][:] = first_event_id + np.arange(n)
    cols["tel_id"][:] = 1
    cols["alt_tel"][:] = alt_tel
    cols["az_tel"][:] = az_tel
    cols["sin_az_tel"][:] = np.sin(az_tel)
    cols["dragon_time"][:] = t_unix
    cols["ucts_time"][:] = t_unix
    cols["tib_time"][:] = t_unix
    cols["trigger_time"][:] = t_unix
    cols["event_type"][:] = kinds
    cols["trigger_type"][:] = np.vectorize(_TRIGGER_TYPE.get, otypes=[np.int64])(kinds) if n else 0
    cols["ucts_trigger_type"][:] = cols["trigger_type"]
    cols["tel_pos_x"][:] = 50.0
    cols["tel_pos_y"][:] = 50.0
    cols["tel_pos_z"][:] = 16.0
    true_energy = np.zeros(n)
    true_energy[shower] = energy
    is_gamma = np.zeros(n, dtype=bool)
    is_gamma[shower] = is_gamma_sh
    cols["true_energy"] = true_energy
    cols["is_gamma"] = is_gamma
    cols["source_alt"] = src_alt
    cols["source_az"] = src_az
    return cols


def _fill_interleaved(cols, mask, kinds, alt_tel, az_tel):
    """Pedestal and flatfield events: finite parameters that fail every shower cut."""
    if not np.any(mask):
        return
    flat = mask & (kinds == EVENT_TYPE_FLATFIELD)
    ped = mask & (kinds == EVENT_TYPE_PEDESTAL)
    cols["intensity"][ped] = 2.0
    cols["intensity"][flat] = 140000.0
    cols["log_intensity"][mask] = np.log10(cols["intensity"][mask])
    cols["n_pixels"][flat] = 1855
    cols["n_pixels"][ped] = 1
    cols["n_islands"][mask] = 1
    cols["length"][flat] = 0.62
    cols["width"][flat] = 0.61
    cols["wl"][flat] = 0.61 / 0.62
    cols["kurtosis"][flat] = 1.8
    cols["leakage_intensity_width_1"][flat] = 0.08
    cols["leakage_intensity_width_2"][flat] = 0.15
    cols["reco_energy"][mask] = 1e-3
    cols["log_reco_energy"][mask] = -3.0
    cols["reco_alt"][mask] = alt_tel[mask]
    cols["reco_az"][mask] = az_tel[mask]
    cols["reco_type"][mask] = 101
    cols["reco_disp_sign"][mask] = 1
