"""Gamma/hadron separation of the simulated telescope: a latent score per shower.

Every image parameter of a simulated shower is drawn from the same distributions for
gammas and hadrons (:mod:`lappana.simulate.showers`) except the image width, which
follows a latent gamma-like score ``x``:

- gammas: ``x ~ N(+s/2, 1)``;
- hadrons: ``x ~ N(−s/2, σ_h)``;

with ``s`` and ``σ_h`` functions of the shower's energy (the gamma-equivalent energy
for a hadron), shifted to higher energies at larger zenith angles as the showers get
dimmer. So a random forest trained on simulated MC can at best learn this score: the
separation it reaches is the one set here, not better.

``s`` and ``σ_h`` were calibrated on lstchain's LST-1 tables
(``LST1_backg_irf_gheffi_0.70_theffi_0.70.csv`` at 6° zenith): in every reconstructed-energy
bin from 0.03 to 10 TeV, two conditions fix the two numbers,

1. the gammaness cut that keeps 70 % of the gammas equals the table's ``Gammaness_cut``,
   the gammaness being the posterior that lstchain's classifier learns: lstchain trains it
   on 20 % of the gamma MC against all of the proton MC (``n_training_events`` of its
   standard configuration), so with MC files of equal size the odds are
   g(x) / (:data:`TRAINING_PROTONS_PER_GAMMA` · h(x));
2. the hadrons passing that cut, times the simulated cosmic-ray rate in the bin
   (:func:`lappana.simulate.model.cosmic_dr_di`) and the fraction of them that the θ cut
   of the table puts in the ON region, give the table's ``BckgRate_per_second``.

Where the real forests, trained by ``lstchain_mc_trainpipe`` on the simulated MC, came out
otherwise (``scripts/check-realism``), the nodes were moved against what they gave, not
against the simulator's own gammaness: at 0.16 and 0.25 TeV (log10 E = −0.8, −0.6) their
70 % cut sat above the table's (0.59 against 0.44 and 0.50), so ``s`` and ``σ_h`` there were
solved for a posterior 0.3 and 0.15 lower in log-odds with 1.4 and 1.2 times the hadrons
passing it; from 0.63 TeV up they let through half of the table's background above 1 TeV
with the table's cuts, so ``s`` is 0.1 (at −0.2) and 0.2 (from 0.0) lower. :data:`_FOREST_BLUR`
was re-solved at the same nodes so that the simulator's own 70 % cut stays where it was.

``scripts/check-realism`` shows what the real lstchain tools make of it.
"""

from __future__ import annotations

import numpy as np

#: Protons per gamma in the training set of lstchain's classifier (20 % of the gammas
#: against all the protons, with gamma and proton MC files of the same size).
TRAINING_PROTONS_PER_GAMMA = 5.0
#: Nodes of the calibration, log10 of the energy in TeV at the reference zenith.
_LOG_E_NODES = np.array([-1.4, -1.2, -1.0, -0.8, -0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
#: Separation s of the mean scores of gammas and hadrons (in units of the gammas' spread).
_SEPARATION = np.array([1.20, 1.15, 2.15, 2.31, 1.95, 2.15, 2.28, 2.40, 2.70, 2.80, 2.80, 3.00, 3.20])
#: Spread σ_h of the hadrons' score (the gammas' is 1).
_HADRON_SPREAD = np.array([1.20, 1.20, 1.10, 0.87, 0.72, 0.68, 0.80, 0.90, 0.80, 0.75, 0.70, 0.70, 0.70])
#: Zenith angle (deg) of the tables the nodes were calibrated on.
_REFERENCE_ZENITH_DEG = 6.0


def _scaled_log_energy(energy_tev: np.ndarray, zenith_deg: float | np.ndarray) -> np.ndarray:
    """log10 of the energy a shower would need at the reference zenith to look the same.

    Showers get dimmer with zenith as the threshold rises, ∝ cos(z)^−2.5
    (:func:`lappana.simulate.model.threshold_energy`).
    """
    ratio = np.cos(np.radians(_REFERENCE_ZENITH_DEG)) / np.cos(np.radians(zenith_deg))
    return np.log10(np.asarray(energy_tev, dtype=float)) - 2.5 * np.log10(ratio)


def score_shape(energy_tev: np.ndarray, zenith_deg: float | np.ndarray = _REFERENCE_ZENITH_DEG):
    """The separation ``s`` and the hadron spread ``σ_h`` at an energy and zenith.

    Returns
    -------
    tuple of numpy.ndarray
        ``(s, σ_h)``, interpolated linearly in log10 E between the calibration nodes and
        constant beyond them.
    """
    le = _scaled_log_energy(energy_tev, zenith_deg)
    return np.interp(le, _LOG_E_NODES, _SEPARATION), np.interp(le, _LOG_E_NODES, _HADRON_SPREAD)


def gamma_score(rng: np.random.Generator, energy_tev: np.ndarray, is_gamma: np.ndarray,
                zenith_deg: float | np.ndarray = _REFERENCE_ZENITH_DEG) -> np.ndarray:
    """Draw the latent gamma-like score of showers (see the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
    energy_tev : numpy.ndarray
        True energy of a gamma, gamma-equivalent energy of a hadron (TeV).
    is_gamma : numpy.ndarray of bool
    zenith_deg : float or numpy.ndarray
        Zenith angle of the pointing.
    """
    s, spread = score_shape(energy_tev, zenith_deg)
    centre = np.where(is_gamma, 0.5 * s, -0.5 * s)
    width = np.where(is_gamma, 1.0, spread)
    return centre + width * rng.standard_normal(np.shape(energy_tev))


def gammaness_from_score(score: np.ndarray, energy_tev: np.ndarray,
                         zenith_deg: float | np.ndarray = _REFERENCE_ZENITH_DEG,
                         blur: float | np.ndarray = 0.0) -> np.ndarray:
    """Gammaness in [0, 1]: the posterior lstchain's classifier learns from the score.

    g(x) / (g(x) + :data:`TRAINING_PROTONS_PER_GAMMA` · h(x)) with g and h the score
    densities of gammas and hadrons, each widened in quadrature by ``blur`` when the
    score was measured with that error (:func:`forest_gammaness`). Below the score where
    the log-odds are smallest (far on the hadron side, where the narrower hadron density
    falls faster) the gammaness is held at its minimum, so that it never rises with a more
    hadron-like score.
    """
    s, spread = score_shape(energy_tev, zenith_deg)
    blur2 = np.asarray(blur, dtype=float) ** 2
    gamma_var = 1.0 + blur2
    hadron_var = spread**2 + blur2
    x = np.asarray(score, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        # d/dx of the log-odds vanishes at x* = -(s/2)(1/σh² + 1/σg²) / (1/σh² - 1/σg²)
        a, b = 1.0 / hadron_var, 1.0 / gamma_var
        turning = np.where(a > b, -0.5 * s * (a + b) / (a - b), -np.inf)
    x = np.maximum(x, turning)
    log_odds = (-0.5 * (x - 0.5 * s) ** 2 / gamma_var + 0.5 * (x + 0.5 * s) ** 2 / hadron_var
                + 0.5 * np.log(hadron_var / gamma_var) - np.log(TRAINING_PROTONS_PER_GAMMA))
    return 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50.0, 50.0)))


def forest_blur(energy_tev: np.ndarray, zenith_deg: float | np.ndarray = _REFERENCE_ZENITH_DEG) -> np.ndarray:
    """Error (in score units) with which lstchain's small forests read the score off the image.

    Trained on 20 000 simulated events per particle, the forests separate worse than the
    ideal posterior of the score, most at high energy where their training events are few.
    Calibrated so that the simulator's own gammaness (:func:`forest_gammaness`) has the
    70 % cuts of LST-1's table, as the forests' gammaness has (``scripts/check-realism``).
    """
    return np.interp(_scaled_log_energy(energy_tev, zenith_deg), _LOG_E_NODES, _FOREST_BLUR)


_FOREST_BLUR = np.array([0.25, 0.20, 0.40, 0.37, 0.05, 0.25, 0.05, 0.05, 0.35, 0.42, 0.49, 0.58, 0.69])


def forest_gammaness(rng: np.random.Generator, score: np.ndarray, energy_tev: np.ndarray,
                     zenith_deg: float | np.ndarray = _REFERENCE_ZENITH_DEG) -> np.ndarray:
    """The gammaness lstchain's forests give a shower: the posterior of its score read with :func:`forest_blur`."""
    blur = forest_blur(energy_tev, zenith_deg)
    measured = np.asarray(score, dtype=float) + blur * rng.standard_normal(np.shape(score))
    return gammaness_from_score(measured, energy_tev, zenith_deg, blur=blur)
