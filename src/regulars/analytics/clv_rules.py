"""The likelihoods and conditional expectations of the CLV models, as plain functions.

No state, no I/O: parameters and per-customer columns in, per-customer values out, so
``clv.py``'s models stay thin and these formulas can be checked against the papers one by
one. ``params`` is always the model's parameter vector in its documented order; ``x`` is
the frequency, ``tx`` the recency and ``age`` the customer's age T.
"""

from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt
from scipy.integrate import quad
from scipy.special import digamma, gammaln, hyp2f1

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class WeightedRows:
    """Data rows with weights, for the mean log-likelihood that a fit evaluates again and again.

    ``columns`` start with the frequency ``x``. The gamma and digamma functions in the
    likelihoods depend on the frequency alone, and a customer base has only a few dozen
    distinct frequencies against thousands of distinct rows; ``frequencies`` and
    ``frequency_weight`` (the summed weight of the rows with each) let those terms be
    summed once per frequency.
    """

    columns: tuple[Array, ...]
    weight: Array
    frequencies: Array
    frequency_weight: Array

    @classmethod
    def of(cls, columns: tuple[Array, ...], weight: Array) -> Self:
        frequencies, index = np.unique(columns[0], return_inverse=True)
        frequency_weight = np.bincount(index, weights=weight).astype(np.float64)
        return cls(columns, weight, frequencies, frequency_weight)


def bgnbd_terms(params: Array, x: Array, tx: Array, age: Array) -> tuple[Array, Array, Array]:
    """BG/NBD log-likelihood as (base, alive, other) log-terms, parameters (r, alpha, a, b)."""
    r, alpha, a, b = params
    base = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x)
        - gammaln(b)
        - gammaln(a + b + x)
    )
    alive = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    # Dropped out right after the last purchase: only possible after a repeat purchase.
    other = np.full(np.broadcast(x, tx).shape, -np.inf)
    other[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + tx[repeat])
    )
    return base, alive, other


def bgnbd_log_likelihood_and_gradient(
    params: Array, x: Array, tx: Array, age: Array
) -> tuple[Array, Array]:
    """Per-customer BG/NBD log-likelihood and its gradient (rows x (r, alpha, a, b)).

    Together because the gradient weighs the two ways of explaining a history (alive at
    T, or gone right after the last purchase) by their shares of the likelihood.
    """
    r, alpha, a, b = params
    base, alive, other = bgnbd_terms(params, x, tx, age)
    tail = np.logaddexp(alive, other)
    weight_other = np.exp(other - tail)
    weight_alive = 1 - weight_other
    over_b = np.divide(weight_other, b + x - 1, out=np.zeros_like(x), where=x > 0)
    common = digamma(a + b) - digamma(a + b + x)
    return base + tail, np.column_stack(
        [
            digamma(r + x)
            - digamma(r)
            + np.log(alpha)
            - weight_alive * np.log(alpha + age)
            - weight_other * np.log(alpha + tx),
            r / alpha - (r + x) * (weight_alive / (alpha + age) + weight_other / (alpha + tx)),
            common + weight_other / a,
            common + digamma(b + x) - digamma(b) - over_b,
        ]
    )


def bgnbd_mean_log_likelihood_and_gradient(
    params: Array, rows: WeightedRows
) -> tuple[float, Array]:
    """Weighted sum over ``rows`` (x, tx, age) of the BG/NBD log-likelihood and its gradient.

    The same values as ``weight @ bgnbd_log_likelihood_and_gradient(...)``: the
    frequency-only gamma terms are summed per distinct frequency, and only the two
    explanations of the silence since the last purchase (alive at T, or gone right after
    t_x) are computed per row.
    """
    r, alpha, a, b = params
    x, tx, age = rows.columns
    weight, v, v_weight = rows.weight, rows.frequencies, rows.frequency_weight
    total = v_weight.sum()
    repeat = x > 0
    log_age, log_tx = np.log(alpha + age), np.log(alpha + tx)
    alive = -(r + x) * log_age
    # Dropped out right after the last purchase: only possible after a repeat purchase.
    after_last = np.log(b + x - 1, out=np.full_like(x, np.inf), where=repeat)
    other = np.log(a) - after_last - (r + x) * log_tx
    tail = np.logaddexp(alive, other)
    weight_other = np.exp(other - tail)
    weight_alive = 1 - weight_other
    over_b = np.divide(weight_other, b + x - 1, out=np.zeros_like(x), where=repeat)
    common = digamma(a + b) - digamma(a + b + v)
    log_likelihood = (
        v_weight @ (gammaln(r + v) + gammaln(b + v) - gammaln(a + b + v))
        + total * (r * np.log(alpha) - gammaln(r) + gammaln(a + b) - gammaln(b))
        + weight @ tail
    )
    gradient = np.array(
        [
            v_weight @ digamma(r + v)
            + total * (np.log(alpha) - digamma(r))
            - weight @ (weight_alive * log_age + weight_other * log_tx),
            total * r / alpha
            - weight @ ((r + x) * (weight_alive / (alpha + age) + weight_other / (alpha + tx))),
            v_weight @ common + weight @ weight_other / a,
            v_weight @ (common + digamma(b + v)) - total * digamma(b) - weight @ over_b,
        ]
    )
    return float(log_likelihood), gradient


def bgnbd_expected_while_alive(params: Array, t: Array, x: Array, age: Array) -> Array:
    """BG/NBD expected purchases in the next ``t`` given the customer is alive at T."""
    # Equation (10) of the paper divided by P(alive); its 2F1(r+x, b+x; a+b+x-1; z)
    # after Euler's transformation, which keeps the hypergeometric term small for
    # customers with many purchases. Ill-conditioned only for a within ~1e-6 of 1.
    r, alpha, a, b = params
    z = t / (alpha + age + t)
    remaining = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a - 1, a + b - 1 - r, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * (1 - remaining)


def _log_hyp2f1_next(m: Array, b: Array, z: Array) -> Array:
    """log 2F1(m, b; m + 1; z) for m, b > 0 and 0 <= z < 1.

    Euler's transformation leaves 2F1(1, m + 1 - b; m + 1; z), whose terms are all
    positive and whose value stays moderate where the original grows like
    (1 - z)^(1 - b); its logarithm is then added to the power in log space.
    """
    return (1 - b) * np.log1p(-z) + np.log(hyp2f1(1.0, m + 1 - b, m + 1, z))


def log_dropout_integral(params: Array, x: Array, tx: Array, age: Array) -> Array:
    """log of s * integral from t_x to T of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy.

    That integral is the likelihood of a dropout at y in (t_x, T]. It is the difference
    of two Gauss hypergeometric terms (Fader and Hardie's A0), taken on the side where the
    argument |alpha - beta| / (max(alpha, beta) + y) is in [0, 1). Where SciPy's 2F1 gives
    no finite value (hundreds of purchases with one of alpha, beta thousands of times the
    other), the integral is computed by adaptive quadrature instead, scaled by its
    integrand's value at t_x.
    """
    r, alpha, s, beta = params
    shape = x.shape
    x, tx, age = (np.ravel(column) for column in (x, tx, age))
    m = r + s + x
    if alpha >= beta:
        scale, power = alpha, np.full_like(x, s + 1)
    else:
        scale, power = beta, r + x

    def log_term(y: Array) -> Array:
        z = abs(alpha - beta) / (scale + y)
        return -m * np.log(scale + y) + _log_hyp2f1_next(m, power, z)

    with np.errstate(divide="ignore", invalid="ignore"):
        from_tx, from_age = log_term(tx), log_term(age)
        difference = np.minimum(from_age - from_tx, 0.0)
        result = np.log(s / m) + from_tx + np.log1p(-np.exp(difference))
    # No dropout is possible in an empty interval: the customer bought on the last day.
    result[tx == age] = -np.inf
    for index in np.flatnonzero(~np.isfinite(result) & (tx < age)):
        result[index] = _log_dropout_quadrature(params, x[index], tx[index], age[index])
    return result.reshape(shape)


def _log_dropout_quadrature(params: Array, x: float, tx: float, age: float) -> float:
    """The same integral as ``log_dropout_integral`` for one customer, by quadrature."""
    r, alpha, s, beta = params

    def log_integrand(y: float) -> float:
        return float(-(r + x) * np.log(alpha + y) - (s + 1) * np.log(beta + y))

    # The integrand is largest at t_x and falls off on the scale of 1 / (its log-slope
    # there); break points on that scale stop the quadrature from stepping over the peak.
    peak = log_integrand(tx)
    decay = 1 / ((r + x) / (alpha + tx) + (s + 1) / (beta + tx))
    breaks = [tx + decay * factor for factor in (1, 10, 100) if tx + decay * factor < age]
    value, _ = quad(
        lambda y: np.exp(log_integrand(y) - peak),
        tx,
        age,
        points=breaks or None,
        limit=200,
        epsrel=1e-12,
    )
    return float(np.log(s) + peak + np.log(value))


def paretonbd_terms(params: Array, x: Array, tx: Array, age: Array) -> tuple[Array, Array, Array]:
    """Pareto/NBD log-likelihood as (base, alive, other), parameters (r, alpha, s, beta)."""
    r, alpha, s, beta = params
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    return base, alive, log_dropout_integral(params, x, tx, age)


def paretonbd_expected_while_alive(params: Array, t: Array, x: Array, age: Array) -> Array:
    """Pareto/NBD expected purchases in the next ``t`` given the customer is alive at T."""
    # Purchases at the posterior rate (r+x)/(alpha+T) for the expected remaining part
    # of t under the posterior lifetime: (beta+T) (1 - ((beta+T)/(beta+T+t))^(s-1))
    # / (s-1), whose s -> 1 limit is (beta+T) log((beta+T+t)/(beta+T)).
    r, alpha, s, beta = params
    horizon = np.log1p(t / (beta + age))
    if s == 1:
        lifetime = horizon
    else:
        lifetime = -np.expm1(-(s - 1) * horizon) / (s - 1)
    return (r + x) * (beta + age) / (alpha + age) * lifetime


def gamma_gamma_log_likelihood(params: Array, x: Array, spend: Array) -> Array:
    """Log-density of each repeat buyer's average spend, parameters (p, q, gamma)."""
    p, q, gamma = params
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(spend)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + x * spend)
    )


def gamma_gamma_mean_log_likelihood_and_gradient(
    params: Array, rows: WeightedRows
) -> tuple[float, Array]:
    """Weighted sum over ``rows`` (x, spend) of the Gamma-Gamma log-likelihood and gradient.

    The same values as ``gamma_gamma_log_likelihood`` and ``gamma_gamma_gradient`` weighted,
    with the gamma and digamma functions of p x + q and p x summed per distinct frequency.
    """
    p, q, gamma = params
    x, spend = rows.columns
    weight, v, v_weight = rows.weight, rows.frequencies, rows.frequency_weight
    total = v_weight.sum()
    log_spend, log_pooled = np.log(spend), np.log(gamma + x * spend)
    shared = digamma(p * v + q)
    log_likelihood = (
        v_weight @ (gammaln(p * v + q) - gammaln(p * v) + p * v * np.log(v))
        + total * (q * np.log(gamma) - gammaln(q))
        + weight @ ((p * x - 1) * log_spend - (p * x + q) * log_pooled)
    )
    gradient = np.array(
        [
            v_weight @ (v * (shared - digamma(p * v) + np.log(v)))
            + weight @ (x * (log_spend - log_pooled)),
            v_weight @ shared + total * (np.log(gamma) - digamma(q)) - weight @ log_pooled,
            total * q / gamma - weight @ ((p * x + q) / (gamma + x * spend)),
        ]
    )
    return float(log_likelihood), gradient


def gamma_gamma_gradient(params: Array, x: Array, spend: Array) -> Array:
    """Per-customer gradient of the Gamma-Gamma log-likelihood (rows x (p, q, gamma))."""
    p, q, gamma = params
    shared = digamma(p * x + q) - np.log(gamma + x * spend)
    return np.column_stack(
        [
            x * (shared - digamma(p * x) + np.log(spend) + np.log(x)),
            shared - digamma(q) + np.log(gamma),
            q / gamma - (p * x + q) / (gamma + x * spend),
        ]
    )
