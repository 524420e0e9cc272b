"""Image (Hillas) and reconstruction parameters of simulated showers.

A shower is described by its true energy, whether it is a gamma, its true arrival
position in the camera and the zenith angle. From these the functions below draw
the DL1 parameters lstchain computes (intensity, Hillas ellipse, leakage, …) with
the correlations lstchain's random forests learn from (intensity follows energy,
gammas are narrower than hadrons, the image axis points to the source at a distance
``disp``, skewness and time gradient say on which side), and the DL2 columns
(reco_energy, gammaness, reco_src_x/y, …) with LST-1's resolutions from
:mod:`lappana.simulate.model`.
"""

from __future__ import annotations

import numpy as np

from lappana.simulate import model
from lappana.simulate.separation import forest_gammaness

_DEG_TO_M = np.radians(1.0) * model.EFFECTIVE_FOCAL_LENGTH_M


def _wrap_axis(angle: np.ndarray) -> np.ndarray:
    """Wrap an axis direction into [-π/2, π/2) (an ellipse axis has no head)."""
    return np.mod(angle + np.pi / 2.0, np.pi) - np.pi / 2.0


def draw_reco_energy(rng: np.random.Generator, energy: np.ndarray, is_gamma: np.ndarray) -> np.ndarray:
    """Reconstructed energy (TeV): log-normal around the true energy with LST-1's bias and resolution.

    A hadron's is what lstchain's regressor, trained on gammas, reads off its intensity:
    its gamma-equivalent energy, within the scatter of the intensity about it (8 % in ln I,
    :func:`image_parameters`).
    """
    sigma = np.where(is_gamma, np.log1p(model.energy_resolution(energy)), model.INTENSITY_LN_SPREAD / 1.05)
    bias = np.where(is_gamma, np.log1p(model.energy_bias(energy)), 0.0)
    return energy * np.exp(bias + sigma * rng.standard_normal(energy.shape))


def image_parameters(
    rng: np.random.Generator,
    *,
    energy: np.ndarray,
    reco_energy: np.ndarray,
    score: np.ndarray,
    is_gamma: np.ndarray,
    src_x: np.ndarray,
    src_y: np.ndarray,
    zenith_deg: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw the DL1 image parameters of showers.

    Parameters
    ----------
    rng : numpy.random.Generator
    energy : numpy.ndarray
        True (gamma-equivalent for hadrons) energy, TeV.
    reco_energy : numpy.ndarray
        The energy the analysis will reconstruct; a gamma's intensity follows it.
        A hadron's intensity follows its gamma-equivalent ``energy`` instead (that
        energy is defined by the intensity, so the cosmic-ray intensity spectrum and
        its trigger turn-over, :func:`lappana.simulate.model.cosmic_dr_di`, are not
        blurred by the hadrons' wide energy misreconstruction).
    score : numpy.ndarray
        Latent gamma-like score (:func:`lappana.simulate.model.gamma_score`).
    is_gamma : numpy.ndarray of bool
    src_x, src_y : numpy.ndarray
        True arrival position in the camera (m).
    zenith_deg : numpy.ndarray
        Zenith angle of the pointing.

    Returns
    -------
    dict of str to numpy.ndarray
        Image parameters plus ``true_disp_sign``, ``shown_disp_sign`` (the side that
        skewness and time gradient show) and ``measured_disp_m`` (used by the
        reconstruction).
    """
    n = energy.shape[0]
    normal = rng.standard_normal
    intensity_energy = np.where(is_gamma, reco_energy, energy)
    intensity = model.mean_intensity_pe(intensity_energy, zenith_deg) * np.exp(model.INTENSITY_LN_SPREAD * normal(n))
    intensity = np.maximum(intensity, 10.0)
    log_i = np.log10(intensity)

    # Distance from the arrival position to the image centroid, and the distance the
    # image measures (what lstchain's disp regressor can learn), the same for gammas and
    # hadrons: only the width tells them apart (lappana.simulate.separation).
    disp_deg = model.typical_disp_deg(energy) * np.exp(model.DISP_SPREAD * normal(n))
    disp_m = np.clip(disp_deg, 0.05, 1.8) * _DEG_TO_M
    measured_disp_m = disp_m * np.exp(model.disp_resolution(energy) * normal(n))
    direction = rng.uniform(0.0, 2.0 * np.pi, n)  # from source towards centroid
    x = src_x + disp_m * np.cos(direction)
    y = src_y + disp_m * np.sin(direction)
    psi = _wrap_axis(direction + model.axis_error_rad(intensity) * normal(n))
    # The sign that puts the source at centroid + sign * disp * (cos psi, sin psi).
    true_sign = np.where(np.cos(direction + np.pi - psi) > 0, 1.0, -1.0)
    # The side the image shows (skewness, time gradient): wrong for a head-tail mistake.
    flip = rng.uniform(size=n) < model.head_tail_flip_probability(energy)
    shown_sign = np.where(flip, -true_sign, true_sign)

    length = 0.035 * (intensity / 100.0) ** 0.22 * (1.0 + 0.6 * measured_disp_m) * np.exp(0.15 * normal(n))
    width = 0.014 * (intensity / 100.0) ** 0.18 * np.exp(-0.25 * score + 0.03 * normal(n))
    width = np.minimum(width, 0.98 * length)
    r = np.hypot(x, y)

    skewness = -shown_sign * np.abs(0.35 + 0.25 * normal(n))
    time_gradient = -shown_sign * np.abs(9.0 * measured_disp_m / _DEG_TO_M + 0.3 * normal(n))
    kurtosis = 2.0 + np.abs(0.7 * normal(n))

    edge = r + 1.5 * length
    leak2 = np.clip((edge - 0.85) / 0.5, 0.0, 1.0) * rng.uniform(0.3, 1.0, n)
    leak1 = leak2 * rng.uniform(0.2, 0.7, n)
    n_pixels = np.maximum(3, np.round(1.6 * intensity**0.62 * (1 + 0.15 * normal(n)))).astype(np.int64)
    n_islands = (1 + rng.poisson(0.3, n)).astype(np.int64)
    return {
        "intensity": intensity,
        "log_intensity": log_i,
        "x": x,
        "y": y,
        "r": r,
        "phi": np.arctan2(y, x),
        "length": length,
        "length_uncertainty": length * 0.05,
        "width": width,
        "width_uncertainty": width * 0.07,
        "psi": psi,
        "skewness": skewness,
        "kurtosis": kurtosis,
        "time_gradient": time_gradient,
        "intercept": 10.0 + 2.0 * normal(n),
        "leakage_intensity_width_1": leak1,
        "leakage_intensity_width_2": leak2,
        "leakage_pixels_width_1": leak1 * 0.8,
        "leakage_pixels_width_2": leak2 * 0.8,
        "n_pixels": n_pixels,
        "concentration_cog": np.clip(0.25 * (intensity / 100.0) ** -0.2 * np.exp(0.2 * score), 0, 1),
        "concentration_core": np.clip(0.5 * np.exp(0.15 * score + 0.1 * normal(n)), 0, 1),
        "concentration_pixel": np.clip(0.12 * (intensity / 100.0) ** -0.1, 0, 1),
        "n_islands": n_islands,
        "wl": width / length,
        "true_disp_sign": true_sign,
        "shown_disp_sign": shown_sign,
        "measured_disp_m": measured_disp_m,
    }


def reconstruct(
    rng: np.random.Generator,
    *,
    energy: np.ndarray,
    reco_energy: np.ndarray,
    score: np.ndarray,
    is_gamma: np.ndarray,
    src_x: np.ndarray,
    src_y: np.ndarray,
    image: dict[str, np.ndarray],
    zenith_deg: np.ndarray | float,
) -> dict[str, np.ndarray]:
    """DL2 columns of showers as lstchain's random forests would give them.

    The reconstructed arrival position is what the image parameters say: the ``disp``
    they measure, pulled towards the typical disp of the energy as a regressor does, from
    the centroid along the image axis, on the side that skewness and
    time gradient show (:func:`image_parameters`), the same rule for gammas and
    hadrons, so the angular resolution is the one lstchain's regressors can reach on
    these parameters. The gammaness is what lstchain's forests make of the latent score
    (:func:`lappana.simulate.separation.forest_gammaness`). ``reco_alt/az`` are
    left to the caller (they need the pointing).
    """
    n = energy.shape[0]
    # What a regressor makes of a measured disp: the most likely true disp, pulled from the
    # measured value towards the typical one as much as the measurement is uncertain.
    weight = model.DISP_SPREAD**2 / (model.DISP_SPREAD**2 + model.disp_resolution(energy) ** 2)
    typical_m = model.typical_disp_deg(energy) * _DEG_TO_M
    disp = np.exp(weight * np.log(image["measured_disp_m"]) + (1.0 - weight) * np.log(typical_m))
    along = image["shown_disp_sign"] * disp
    rx = image["x"] + along * np.cos(image["psi"])
    ry = image["y"] + along * np.sin(image["psi"])
    dx = rx - image["x"]
    dy = ry - image["y"]
    disp_norm = np.hypot(dx, dy)
    sign = np.where(np.cos(np.arctan2(dy, dx) - image["psi"]) >= 0, 1, -1).astype(np.int64)
    longi_sign = sign  # the source lies at +sign along psi
    gammaness = forest_gammaness(rng, score, energy, zenith_deg)
    return {
        "log_reco_energy": np.log10(reco_energy),
        "reco_energy": reco_energy,
        "reco_disp_norm": disp_norm,
        "reco_disp_sign": sign,
        "reco_disp_sign_proba": np.clip(0.75 + 0.2 * rng.standard_normal(n), 0.5, 1.0),
        "reco_disp_dx": dx,
        "reco_disp_dy": dy,
        "reco_src_x": rx,
        "reco_src_y": ry,
        "signed_time_gradient": -longi_sign * image["time_gradient"],
        "signed_skewness": -longi_sign * image["skewness"],
        "gammaness": gammaness,
        "reco_type": np.where(gammaness >= 0.5, 0, 101).astype(np.int64),
    }
