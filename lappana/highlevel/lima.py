"""Li & Ma significance (eq. 17), signed, and the excess with its error.

The significance is ``WStatCountsStatistic(n_on, n_off, alpha).sqrt_ts`` of
gammapy: Li & Ma (1983) eq. 17, positive for an excess and negative for a
deficit, with the terms of empty counts taken as zero.
"""

from __future__ import annotations

import numpy as np


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x·log(y), zero where x is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(np.where(x > 0, y, 1.0))
    return np.where(x > 0, out, 0.0)


def li_ma_ts(n_on, n_off, alpha) -> np.ndarray:
    """Return the test statistic 2·[...] of Li & Ma eq. 17 (σ²).

    Parameters
    ----------
    n_on, n_off : array_like
        Counts in the ON and OFF regions.
    alpha : array_like
        Exposure ratio ON/OFF (1/n for n OFF regions).
    """
    n_on = np.asarray(n_on, dtype=float)
    n_off = np.asarray(n_off, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    total = n_on + n_off
    with np.errstate(divide="ignore", invalid="ignore"):
        term_on = _xlogy(n_on, (1.0 + alpha) / alpha * n_on / total)
        term_off = _xlogy(n_off, (1.0 + alpha) * n_off / total)
    return np.clip(2.0 * (term_on + term_off), 0.0, None)


def li_ma_significance(n_on, n_off, alpha) -> np.ndarray | float:
    """Return the signed Li & Ma significance (eq. 17), as gammapy's ``WStatCountsStatistic.sqrt_ts``.

    Parameters
    ----------
    n_on, n_off : array_like
        Counts in the ON and OFF regions.
    alpha : array_like
        Exposure ratio ON/OFF.

    Returns
    -------
    float or numpy.ndarray
        σ, positive for an excess, negative for a deficit; NaN where alpha is not finite.

    Examples
    --------
    >>> round(float(li_ma_significance(10, 5, 0.3)), 7)
    3.5853813
    """
    n_on = np.asarray(n_on, dtype=float)
    n_off = np.asarray(n_off, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    sign = np.sign(n_on - alpha * n_off)
    with np.errstate(invalid="ignore"):
        sigma = sign * np.sqrt(li_ma_ts(n_on, n_off, alpha))
    sigma = np.where(np.isfinite(alpha) & (alpha > 0), sigma, np.nan)
    return float(sigma) if sigma.ndim == 0 else sigma


def excess(n_on, n_off, alpha):
    """Return the excess ``n_on − α·n_off``."""
    return np.asarray(n_on, dtype=float) - np.asarray(alpha, dtype=float) * np.asarray(n_off, dtype=float)


def excess_error(n_on, n_off, alpha):
    """Return the Gaussian error of the excess, ``sqrt(n_on + α²·n_off)``."""
    alpha = np.asarray(alpha, dtype=float)
    return np.sqrt(np.asarray(n_on, dtype=float) + alpha**2 * np.asarray(n_off, dtype=float))
