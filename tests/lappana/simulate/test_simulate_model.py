"""The simulator's pieces: geometry, trigger times, rates, resolutions and IRF cuts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from lappana.constants import EVENT_TYPE_FLATFIELD, EVENT_TYPE_PEDESTAL, EVENT_TYPE_SHOWER
from lappana.errors import LappanaError
from lappana.simulate import model
from lappana.simulate.camera import altaz_to_camera, angular_separation, camera_to_altaz
from lappana.simulate.events import RunCounts, RunSettings, gamma_rate_hz, iter_run_events
from lappana.simulate.irf import binned_cut, make_irf, simulate_point_gammas
from lappana.simulate.observation import plan_night

NIGHT = dt.date(2023, 12, 7)


@pytest.fixture(scope="module")
def plan():
    (p,) = plan_night(NIGHT, source_ra_deg=83.633, source_dec_deg=22.014, n_runs=1,
                      run_minutes=1.0, first_run=15864)
    return p


def test_camera_round_trip_and_scale():
    rng = np.random.default_rng(3)
    alt_tel = rng.uniform(0.6, 1.5, 200)
    az_tel = rng.uniform(0, 2 * np.pi, 200)
    x = rng.uniform(-1, 1, 200)
    y = rng.uniform(-1, 1, 200)
    alt, az = camera_to_altaz(x, y, alt_tel, az_tel)
    x2, y2 = altaz_to_camera(alt, az, alt_tel, az_tel)
    assert np.allclose(x2, x, atol=1e-12) and np.allclose(y2, y, atol=1e-12)
    # Distance from the camera centre is the angle from the pointing times the focal length.
    sep = angular_separation(alt, az, alt_tel, az_tel)
    assert np.allclose(sep * model.EFFECTIVE_FOCAL_LENGTH_M, np.hypot(x, y), rtol=2e-4)
    # Camera x points up in the sky (towards higher altitude).
    alt_up, _ = camera_to_altaz(np.array([0.5]), np.array([0.0]), np.array([1.0]), np.array([0.3]))
    assert alt_up[0] > 1.0


def test_night_plan_centres_on_culmination_and_wobbles():
    plans = plan_night(NIGHT, source_ra_deg=83.633, source_dec_deg=22.014, n_runs=4,
                       run_minutes=20.0, first_run=100)
    assert [p.run_id for p in plans] == [100, 101, 102, 103]
    assert [p.wobble_angle_deg for p in plans] == [0.0, 180.0, 90.0, 270.0]
    zeniths = [p.mean_zenith_deg() for p in plans]
    assert max(zeniths) < 20.0  # the Crab culminates at ~7° zenith at La Palma
    for p in plans:
        sep = np.degrees(angular_separation(p.pointing_alt, p.pointing_az, p.source_alt, p.source_az))
        assert np.allclose(sep, 0.4, atol=2e-3)
    for a, b in zip(plans, plans[1:]):
        assert b.start_unix >= a.stop_unix


def test_night_plan_refuses_impossible_nights():
    with pytest.raises(LappanaError, match="darkness"):
        plan_night(NIGHT, source_ra_deg=83.633, source_dec_deg=22.014, n_runs=40,
                   run_minutes=20.0, first_run=1)
    with pytest.raises(LappanaError, match="altitude"):
        plan_night(NIGHT, source_ra_deg=83.633, source_dec_deg=-60.0, n_runs=1,
                   run_minutes=20.0, first_run=1)


def test_trigger_times_rates_and_dead_time(plan):
    counts = RunCounts()
    chunks = list(iter_run_events(plan, RunSettings(), seed=5, duration_s=20.0, counts=counts))
    types = np.concatenate([c["event_type"] for c in chunks])
    delta_t = np.concatenate([c["delta_t"] for c in chunks])
    times = np.concatenate([c["dragon_time"] for c in chunks])
    assert np.all(np.diff(times) > 0)
    assert delta_t[0] == 0.0
    assert delta_t[1:].min() >= model.DEAD_TIME_S * (1 - 1e-9)
    assert delta_t[1:].min() < model.DEAD_TIME_S + 2e-6  # the minimum is seen in ~kHz data
    assert np.allclose(np.diff(times), delta_t[1:], atol=1e-6)
    shower_rate = np.count_nonzero(types == EVENT_TYPE_SHOWER) / 20.0
    zenith = float(np.mean(counts.zeniths))
    injected = RunSettings().shower_rate_hz * float(model.cosmic_rate_scale(zenith)) + gamma_rate_hz(zenith)
    # a trigger within the dead time of the one before is lost: the kept fraction is exp(−R τ)
    kept = np.exp(-(injected + 200.0) * model.DEAD_TIME_S)
    print(f"shower rate {shower_rate:.0f} Hz (injected {injected:.0f} Hz, kept {kept:.3f}), "
          f"pedestal {np.count_nonzero(types == 2) / 20:.0f} Hz")
    assert shower_rate == pytest.approx(injected * kept, rel=0.02)  # ≈160 000 showers: Poisson 0.25 %
    for kind in (EVENT_TYPE_PEDESTAL, EVENT_TYPE_FLATFIELD):  # 100 Hz each, minus the dead time's loss
        assert np.count_nonzero(types == kind) / 20.0 == pytest.approx(100.0 * kept, rel=0.03)
    ids = np.concatenate([c["event_id"] for c in chunks])
    assert np.array_equal(ids, np.arange(1, ids.size + 1))
    # Exponential inter-arrival above the dead time: mean of delta_t − τ ≈ std of delta_t.
    showers = delta_t[1:][types[1:] == EVENT_TYPE_SHOWER] - model.DEAD_TIME_S
    assert abs(showers.mean() / showers.std() - 1) < 0.1


def test_lstchain_effective_time_matches_true_livetime(plan):
    """lstchain's t_eff (elapsed / (1 + R τ)) on the simulated run ≈ true livetime."""
    counts = RunCounts()
    chunks = list(iter_run_events(plan, RunSettings(), seed=6, duration_s=30.0, counts=counts))
    t = np.concatenate([c["dragon_time"] for c in chunks])
    dt_ = np.concatenate([c["delta_t"] for c in chunks])
    showers = np.concatenate([c["event_type"] for c in chunks]) == EVENT_TYPE_SHOWER
    diffs = np.diff(t[showers])
    elapsed = diffs[diffs < 0.01].sum()
    d = dt_[showers]
    d = d[(d > 0) & (d < 0.01)]
    tau = d.min()
    rate = 1.0 / (d.mean() - tau)
    t_eff = elapsed / (1 + rate * tau)
    true_live = 30.0 - counts.n_events * model.DEAD_TIME_S
    print(f"lstchain t_eff {t_eff:.4f} s, true livetime {true_live:.4f} s")
    assert abs(t_eff / true_live - 1) < 0.005


def test_interleaved_events_are_finite_and_fail_selection(plan):
    chunk = next(iter_run_events(plan, RunSettings(chunk_seconds=5.0), seed=1, duration_s=5.0))
    inter = chunk["event_type"] != EVENT_TYPE_SHOWER
    assert inter.any()
    for name, values in chunk.items():
        if values.dtype.kind == "f":
            assert np.all(np.isfinite(values[inter])), name
    assert np.all(chunk["gammaness"][inter] == 0.0)


def test_gamma_rate_grows_with_flux_and_is_zero_without_source():
    assert gamma_rate_hz(10.0, 0.0) == 0.0
    assert gamma_rate_hz(10.0, 2.0) == pytest.approx(2 * gamma_rate_hz(10.0, 1.0))
    assert 1.0 < gamma_rate_hz(10.0) < 4.0  # detected Crab showers before cuts, Hz


def test_resolutions_follow_lst1_performance():
    assert model.energy_resolution(np.array([0.1]))[0] == pytest.approx(0.30)
    assert model.energy_resolution(np.array([0.4]))[0] == pytest.approx(0.20, abs=0.005)
    assert model.energy_resolution(np.array([1.0]))[0] == pytest.approx(0.18)
    assert model.threshold_energy(20.0) > model.threshold_energy(10.0)


def test_irf_cuts_keep_the_promised_efficiency():
    """GH_CUTS keep 70 % of an independent gamma sample per bin; RAD_MAX holds 70 % of the rest."""
    irf = make_irf(simulate_point_gammas(np.random.default_rng(1), 10.0), 10.0,
                   gh_efficiency=0.7, theta_containment=0.7)
    other = simulate_point_gammas(np.random.default_rng(2), 10.0)
    band = (other.reco_energy > 0.1) & (other.reco_energy < 10.0)
    gh = binned_cut(other.gammaness, other.reco_energy, irf.gh_cuts)
    kept = other.gammaness[band] >= gh[band]
    rad = binned_cut(other.theta_deg, other.reco_energy, irf.rad_max_deg)
    contained = (other.theta_deg < rad)[band][kept]
    print(f"gh efficiency {kept.mean():.3f}, theta containment {contained.mean():.3f}")
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    assert contained.mean() == pytest.approx(0.7, abs=0.03)
    # θ containment as LST-1's: ≈0.27° at 100 GeV, ≈0.20° at 250 GeV, ≈0.16° at 1 TeV
    centres = np.sqrt(np.logspace(-2, 2, 21)[:-1] * np.logspace(-2, 2, 21)[1:])
    assert np.interp(np.log10(0.1), np.log10(centres), irf.rad_max_deg) == pytest.approx(0.27, abs=0.04)
    assert np.interp(np.log10(0.25), np.log10(centres), irf.rad_max_deg) == pytest.approx(0.20, abs=0.03)
    assert np.interp(np.log10(1.0), np.log10(centres), irf.rad_max_deg) == pytest.approx(0.165, abs=0.02)


def test_cosmic_intensity_spectrum_has_lst1_slope(plan):
    """dR/dI of the showers falls as LST-1's p1(zenith) above the peak; the rate falls with zenith."""
    chunks = list(iter_run_events(plan, RunSettings(source_flux=0.0), seed=8, duration_s=30.0))
    intensity = np.concatenate([c["intensity"][c["event_type"] == EVENT_TYPE_SHOWER] for c in chunks])
    edges = np.logspace(np.log10(300), np.log10(3000), 6)
    counts = np.histogram(intensity, edges)[0]
    centres = np.sqrt(edges[1:] * edges[:-1])
    slope = np.polyfit(np.log(centres), np.log(counts / np.diff(edges)), 1)[0]
    _, p1 = model.cosmic_rate_parameters(plan.mean_zenith_deg())
    print(f"dR/dI slope {slope:.2f}, LST-1 {p1:.2f}")
    assert slope == pytest.approx(p1, abs=0.15)
    assert model.cosmic_rate_scale(40.0) < model.cosmic_rate_scale(20.0) < model.cosmic_rate_scale(10.0) == 1.0


def test_cosmic_rays_above_an_energy_come_at_their_own_rate():
    """check-realism's long run of high-energy cosmic rays: the spectrum is cut, not renormalised."""
    from lappana.simulate.events import cosmic_rate_hz, hadron_energy_sampler, hadron_fraction_above

    full, high = RunSettings(), RunSettings(hadron_min_energy_tev=0.4)
    fraction = hadron_fraction_above(10.0, 0.4)
    assert 0.0 < fraction < 0.2
    assert cosmic_rate_hz(high, 10.0) == pytest.approx(cosmic_rate_hz(full, 10.0) * fraction, rel=1e-12)
    rng = np.random.default_rng(4)
    n = 2_000_000
    above = np.count_nonzero(hadron_energy_sampler(10.0)(rng, n) >= 0.4)
    assert above == pytest.approx(n * fraction, abs=4.0 * np.sqrt(n * fraction))
    assert hadron_energy_sampler(10.0, 0.4)(rng, 100_000).min() >= 0.4 * 0.99  # within a step of the grid
