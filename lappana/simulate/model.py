"""LST-1 performance as a model: spectra, collection area, resolutions, cosmic-ray rate.

Everything here is a smooth function of true energy (TeV) and zenith angle, tuned so
that the simulated telescope reproduces LST-1's published low-zenith performance
(see ``docs/simulate.md``): with 70 % gammaness and 70 % θ-containment cuts the Crab
gives ≈10 γ/min above 0.2 TeV reconstructed energy, ≈20 γ/min above 0.1 TeV and
≈1.5 γ/min above 1 TeV; the energy resolution is ≈30 % at 100 GeV, ≈20 % at 0.4 TeV,
≈18 % at 1 TeV; the 70 % θ containment is ≈0.27° at 100 GeV, 0.20° at 250 GeV and
≈0.17° above 0.6 TeV.

The gamma/hadron separation is :mod:`lappana.simulate.separation`. The simulator
draws events from these functions, and :mod:`lappana.simulate.irf`
derives the IRFs from the same functions by Monte Carlo, so the IRFs describe the
simulated telescope exactly.
"""

from __future__ import annotations

import numpy as np

#: Focal length that lstchain uses to turn camera positions into directions (m).
EFFECTIVE_FOCAL_LENGTH_M = 29.30565
#: Equivalent (nominal) focal length of LST-1 (m).
EQUIVALENT_FOCAL_LENGTH_M = 28.0
#: Minimum time between two triggers of LST-1's camera (s).
DEAD_TIME_S = 7.1e-6
#: Camera radius in metres (the LSTCam field of view is ≈4.3° across).
CAMERA_RADIUS_M = 1.1

#: Collection area of triggered and cleaned gamma showers, plateau normalisation (m²).
_AREA_NORM_M2 = 3.0e5
#: Threshold energy of the collection area at 10° zenith (TeV).
_THRESHOLD_TEV = 0.03
_THRESHOLD_SLOPE = 2.5
_AREA_GROWTH = 0.35
_REFERENCE_ZENITH_DEG = 10.0


#: The Crab's log-parabola (MAGIC): amplitude at 1 TeV (TeV⁻¹ cm⁻² s⁻¹), index, curvature.
CRAB_AMPLITUDE, CRAB_ALPHA, CRAB_BETA = 3.23e-11, 2.47, 0.24


def crab_flux(energy_tev: np.ndarray) -> np.ndarray:
    """Differential flux of the Crab Nebula, MAGIC's log-parabola.

    Parameters
    ----------
    energy_tev : numpy.ndarray
        True energy in TeV.

    Returns
    -------
    numpy.ndarray
        dN/dE in TeV⁻¹ cm⁻² s⁻¹: 3.23e-11 (E/TeV)^(−2.47 − 0.24 log10 E/TeV).
    """
    e = np.asarray(energy_tev, dtype=float)
    return CRAB_AMPLITUDE * e ** (-CRAB_ALPHA - CRAB_BETA * np.log10(e))


def _zenith_ratio(zenith_deg: float | np.ndarray) -> np.ndarray:
    return np.cos(np.radians(_REFERENCE_ZENITH_DEG)) / np.cos(np.radians(zenith_deg))


def threshold_energy(zenith_deg: float | np.ndarray) -> np.ndarray:
    """Energy (TeV) where the collection area reaches half its plateau; grows as cos(z)^-2.5."""
    return _THRESHOLD_TEV * _zenith_ratio(zenith_deg) ** 2.5


def collection_area(energy_tev: np.ndarray, zenith_deg: float | np.ndarray) -> np.ndarray:
    """Collection area (m²) of gamma showers that trigger and survive image cleaning.

    No gammaness or θ cut is applied here: those come from the event-wise gammaness and
    direction, as in the real analysis.

    Parameters
    ----------
    energy_tev : numpy.ndarray
        True energy in TeV.
    zenith_deg : float or numpy.ndarray
        Zenith angle of the pointing in degrees.
    """
    e = np.asarray(energy_tev, dtype=float)
    ratio = _zenith_ratio(zenith_deg)
    e_th = _THRESHOLD_TEV * ratio**2.5
    norm = _AREA_NORM_M2 * ratio**1.6  # with the shift of the threshold: ∝ cos z^-2.5 at high energy
    growth = e**_AREA_GROWTH / (1.0 + (e / 10.0) ** _AREA_GROWTH)
    scaled = e / ratio**2.5
    return norm * growth * _area_correction(scaled) / (1.0 + (e_th / e) ** _THRESHOLD_SLOPE)


#: Correction of the area's shape (log10 E/TeV at 10° zenith → factor), calibrated with
#: ``scripts/check-realism`` so that the Crab's rate after lstchain's 70 %/70 % cuts follows
#: LST-1's table per reconstructed-energy bin.
_AREA_CORRECTION_LOG_E = np.array([-1.5, -1.2, -1.0, -0.8, -0.6, 0.0, 0.5, 2.0])
_AREA_CORRECTION = np.array([1.0, 0.85, 1.1, 1.35, 1.55, 1.65, 1.7, 1.7])


def _area_correction(energy_tev: np.ndarray) -> np.ndarray:
    return np.interp(np.log10(energy_tev), _AREA_CORRECTION_LOG_E, _AREA_CORRECTION)


def energy_resolution(energy_tev: np.ndarray) -> np.ndarray:
    """Relative energy resolution σ(E_reco/E_true) (≈0.30 at 0.1 TeV, 0.20 at 0.4, 0.18 at 1)."""
    le = np.log10(np.asarray(energy_tev, dtype=float))
    # 0.30 at log10 E = -1, 0.20 at -0.4, 0.18 at 0 and above; 0.40 at 30 GeV.
    return np.interp(le, [-1.6, -1.0, -0.4, 0.0, 2.0], [0.42, 0.30, 0.20, 0.18, 0.18])


def energy_bias(energy_tev: np.ndarray) -> np.ndarray:
    """Relative bias of the reconstructed energy: positive near threshold, ~0 above 0.2 TeV."""
    le = np.log10(np.asarray(energy_tev, dtype=float))
    return np.interp(le, [-1.7, -1.0, -0.7, 2.0], [0.25, 0.05, 0.0, 0.0])


def typical_disp_deg(energy_tev: np.ndarray) -> np.ndarray:
    """Median distance (deg) between a shower's arrival direction and its image centroid."""
    le = np.log10(np.asarray(energy_tev, dtype=float))
    return 0.45 * (1.0 + 0.25 * np.clip(le + 1.0, -1.0, 2.0))


#: Spread (σ of ln) of the true disp about :func:`typical_disp_deg`.
DISP_SPREAD = 0.4


def disp_resolution(energy_tev: np.ndarray) -> np.ndarray:
    """Relative error (σ of ln) of the ``disp`` that a shower's image parameters measure.

    The reconstructed source lies ``disp`` along the image axis; this error (along the
    axis) and the axis' own error (:func:`axis_error_rad`, across) make the angular
    resolution. Calibrated so that the 70 % containment radius of θ is LST-1's
    (lstchain's 70 %/70 % table at 6° zenith): 0.27° at 0.1 TeV, 0.20° at 0.25 TeV,
    0.175° above 0.5 TeV, and the clip of 0.32° below 80 GeV.
    """
    le = np.log10(np.asarray(energy_tev, dtype=float))
    return np.interp(le, _DISP_NODES_LOG_E, _DISP_RESOLUTION)


_DISP_NODES_LOG_E = np.array([-1.5, -1.2, -1.0, -0.8, -0.6, -0.4, -0.2, 0.0, 0.5, 1.0, 2.0])
_DISP_RESOLUTION = np.array([1.1, 0.95, 0.75, 0.50, 0.42, 0.38, 0.38, 0.38, 0.36, 0.35, 0.34])


def axis_error_rad(intensity_pe: np.ndarray) -> np.ndarray:
    """σ (rad) of the image axis' direction: 0.56 at 60 p.e., 0.30 at 150 p.e., 0.09 at 1500 p.e."""
    i = np.asarray(intensity_pe, dtype=float)
    return 0.04 + 0.36 * (100.0 / i) ** 0.75


def head_tail_flip_probability(energy_tev: np.ndarray) -> np.ndarray:
    """Probability that the image's skewness and time gradient point to the wrong side."""
    le = np.log10(np.asarray(energy_tev, dtype=float))
    return np.interp(le, [-1.5, -1.0, -0.5, 0.0], [0.20, 0.08, 0.03, 0.01])


def cosmic_rate_parameters(zenith_deg: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LST-1's cosmic-ray differential rate vs intensity, dR/dI = p0 (I / 422 p.e.)^p1.

    The zenith dependence lstchain's ``lstchain_cherenkov_transparency`` uses
    (fitted on good-quality LST-1 data): p0 = −0.4475 + 3.625 c − 1.436 c² (s⁻¹ p.e.⁻¹),
    p1 = −2.8925 + 0.9944 c − 0.3401 c², with c = cos(zenith).
    """
    c = np.cos(np.radians(zenith_deg))
    p0 = -0.44751321 + 3.62502037 * c - 1.43611437 * c**2
    p1 = -2.89253919 + 0.99443457 * c - 0.34012985 * c**2
    return p0, p1


#: Intensity (p.e.) where the simulated trigger and cleaning keep half of the cosmic rays.
TRIGGER_THRESHOLD_PE = 50.0
#: Steepness of the trigger efficiency curve (power of the intensity ratio).
TRIGGER_STEEPNESS = 10.0
#: Spread of ln(intensity) of a shower about the mean intensity of its energy (gamma-equivalent for a hadron).
INTENSITY_LN_SPREAD = 0.08


def trigger_efficiency(intensity_pe: np.ndarray) -> np.ndarray:
    """Fraction of cosmic-ray showers of an intensity that trigger and survive cleaning.

    A smooth step, 1 / (1 + (I_T / I)^k) with I_T = :data:`TRIGGER_THRESHOLD_PE` and
    k = :data:`TRIGGER_STEEPNESS`: 0.5 at 50 p.e., 0.86 at 60 p.e., 0.98 at 75 p.e.,
    1 above 100 p.e., so that dR/dI is LST-1's down to ≈60 p.e. and the showers reach the
    intensity of the 30 GeV gammas at the threshold of the collection area.
    """
    i = np.asarray(intensity_pe, dtype=float)
    return 1.0 / (1.0 + (TRIGGER_THRESHOLD_PE / i) ** TRIGGER_STEEPNESS)


def cosmic_dr_di(intensity_pe: np.ndarray, zenith_deg: float | np.ndarray) -> np.ndarray:
    """Simulated cosmic-ray rate per p.e. (s⁻¹ p.e.⁻¹): LST-1's dR/dI times the trigger efficiency."""
    i = np.asarray(intensity_pe, dtype=float)
    p0, p1 = cosmic_rate_parameters(zenith_deg)
    return trigger_efficiency(i) * p0 * (i / 422.0) ** p1


_INTENSITY_GRID = np.logspace(1.0, 6.0, 4001)


def cosmic_rate_hz(zenith_deg: float) -> float:
    """Total rate (Hz) of simulated cosmic-ray showers at a zenith: ∫ :func:`cosmic_dr_di` dI."""
    return float(np.trapezoid(cosmic_dr_di(_INTENSITY_GRID, zenith_deg), _INTENSITY_GRID))


#: LST-1's rate (Hz) of cosmic-ray showers that trigger and survive cleaning at 10° zenith.
LST1_SHOWER_RATE_HZ = round(cosmic_rate_hz(_REFERENCE_ZENITH_DEG), -1)
#: Spread (deg, per axis of a 2-D Gaussian) of the cosmic rays' arrival directions in the
#: camera, so that the background acceptance is about flat within the wobble offset.
HADRON_FIELD_SPREAD_DEG = 1.5


def hadron_energy_spectrum(energy_tev: np.ndarray, zenith_deg: float = _REFERENCE_ZENITH_DEG) -> np.ndarray:
    """Gamma-equivalent energy spectrum of detected hadrons (s⁻¹ TeV⁻¹).

    The intensity of a hadron follows its gamma-equivalent energy
    (:func:`mean_intensity_pe`), so the spectrum is :func:`cosmic_dr_di` at that
    intensity times dI/dE. The intensity scatter of showers (σ = 0.08 in ln I) raises a
    power law's normalisation by exp(σ²(p1+1)²/2) (0.5 %); the spectrum is divided by
    that so that the *observed* dR/dI is LST-1's.
    """
    e = np.asarray(energy_tev, dtype=float)
    intensity = mean_intensity_pe(e, zenith_deg)
    _, p1 = cosmic_rate_parameters(zenith_deg)
    smearing = np.exp(0.5 * (INTENSITY_LN_SPREAD * (p1 + 1.0)) ** 2)
    return cosmic_dr_di(intensity, zenith_deg) * 1.05 * intensity / e / smearing


def cosmic_rate_scale(zenith_deg: float | np.ndarray) -> np.ndarray:
    """Cosmic-ray rate at a zenith relative to 10° (:func:`cosmic_rate_hz`).

    LST-1's dR/dI above the fixed trigger threshold changes with zenith in
    normalisation and slope; the total rate follows both.
    """
    return np.asarray(cosmic_rate_hz(float(zenith_deg)) / cosmic_rate_hz(_REFERENCE_ZENITH_DEG))


def mean_intensity_pe(energy_tev: np.ndarray, zenith_deg: float | np.ndarray) -> np.ndarray:
    """Typical image intensity (p.e.) of a gamma shower: ≈40 p.e. at 30 GeV, ≈1500 at 1 TeV."""
    e = np.asarray(energy_tev, dtype=float)
    return 1500.0 * e**1.05 / _zenith_ratio(zenith_deg) ** 1.5
