"""The hypergeometric probability of a count, to full precision however many baskets.

Written as log-gammas, log C(N, k) subtracts numbers near N log N, and at a million
baskets the difference has lost seven of its sixteen digits. Catherine Loader's
saddle-point form ("Fast and accurate computation of binomial probabilities", 2000) keeps
them: the hypergeometric probability is a ratio of three binomial ones, and each binomial
is written through Stirling's error term (under 0.1 for every count) and a deviance
``x log(x / m) + m - x`` computed by a series where x is near its mean m. Every part is
small, so the log-probability is exact to a few units in its last place.
"""

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

Floats = npt.NDArray[np.float64]

HALF_LOG_TWO_PI: Final = 0.5 * np.log(2 * np.pi)
SERIES_FROM: Final = 15  # Stirling's error by its asymptotic series above this count
TERMS: Final = 8  # of the deviance series; its ratio is under 0.01 where it is used


def log_pmf(count: Floats, marked: Floats, drawn: Floats, total: float) -> Floats:
    """log P(X = count) for X hypergeometric: ``drawn`` of ``total`` baskets, ``marked`` of
    them marked; ``-inf`` where the count cannot happen."""
    share = drawn / total
    rest = (total - drawn) / total
    return (
        _log_binomial(count, marked, share, rest)
        + _log_binomial(drawn - count, total - marked, share, rest)
        - _log_binomial(drawn, np.full_like(drawn, total), share, rest)
    )


def _log_binomial(x: Floats, n: Floats, p: Floats, q: Floats) -> Floats:
    """log P(Y = x) for Y binomial(n, p), with q = 1 - p given exactly."""
    found = np.full(x.shape, -np.inf)
    i = np.flatnonzero((0 < x) & (x < n))
    xi, ni = x[i], n[i]
    found[i] = (
        _stirling_error(ni)
        - _stirling_error(xi)
        - _stirling_error(ni - xi)
        - _deviance(xi, ni * p[i])
        - _deviance(ni - xi, ni * q[i])
        - HALF_LOG_TWO_PI
        - 0.5 * (np.log(xi) + np.log1p(-xi / ni))
    )
    none = np.flatnonzero((x == 0) & (n > 0))
    found[none] = _log_power(n[none], p[none], q[none])
    every = np.flatnonzero((x == n) & (n > 0))
    found[every] = _log_power(n[every], q[every], p[every])
    found[(x == 0) & (n == 0)] = 0.0
    return found


def _log_power(n: Floats, p: Floats, q: Floats) -> Floats:
    """log q^n, for q = 1 - p, through the deviance when p is small."""
    small = p < 0.1
    found = np.empty(n.shape)
    found[small] = -_deviance(n[small], n[small] * q[small]) - n[small] * p[small]
    with np.errstate(divide="ignore"):
        found[~small] = n[~small] * np.log(q[~small])
    return found


def _stirling_error(n: Floats) -> Floats:
    """log n! - log(sqrt(2 pi n) (n/e)^n), zero at n = 0."""
    found = np.zeros(n.shape)
    large = n > SERIES_FROM
    square = n[large] ** 2
    found[large] = (
        1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * square)) / square) / square)
        / square
    ) / n[large]  # fmt: skip
    small = (n > 0) & ~large
    k = n[small]
    found[small] = gammaln(k + 1) - (k + 0.5) * np.log(k) + k - HALF_LOG_TWO_PI
    return found


def _deviance(x: Floats, mean: Floats) -> Floats:
    """x log(x / mean) + mean - x, without cancellation when x is near the mean."""
    gap = x - mean
    near = np.abs(gap) < 0.1 * (x + mean)
    found = np.empty(x.shape)
    far = ~near
    with np.errstate(divide="ignore", invalid="ignore"):
        found[far] = x[far] * np.log(x[far] / mean[far]) + mean[far] - x[far]
    g, v = gap[near], gap[near] / (x[near] + mean[near])
    total, step = g * v, 2 * x[near] * v
    for j in range(1, TERMS + 1):
        step = step * v * v
        total = total + step / (2 * j + 1)
    found[near] = total
    return found
