"""Customer lifetime value: how many purchases a customer will still make.

Two maximum-likelihood repeat-purchase models, fitted on the per-customer summary that
``clv_summary`` builds with DuckDB:

- ``BgNbd``, the beta-geometric/NBD model (Fader, Hardie and Lee 2005, "Counting your
  customers the easy way"): purchases are Poisson while the customer is alive, and after
  each purchase the customer may drop out for good.
- ``ParetoNbd`` (Schmittlein, Morrison and Colombo 1987, in the form of Fader and
  Hardie's 2005 derivation note): the same purchases, but the dropout can happen at any
  moment, after an exponential lifetime.

What a purchase is worth (Gamma-Gamma) and the CLV are in ``clv_spend.py``; the fitting
they all share is in ``clv_fitting.py``.

The likelihoods are plain functions of plain arrays in ``clv_rules.py``, written from the
papers' formulas in log space so that customers with hundreds of purchases neither
overflow nor lose their precision. Fitting works on customers grouped by identical
(frequency, recency, T), with the group sizes as weights: the cost grows with the number
of distinct histories, which stays in the thousands however many millions of customers
share them.
"""

from abc import abstractmethod
from typing import Self

import numpy as np
import numpy.typing as npt

from regulars.analytics.clv_fitting import MaximumLikelihoodModel
from regulars.analytics.clv_rules import (
    Array,
    WeightedRows,
    bgnbd_expected_while_alive,
    bgnbd_mean_log_likelihood_and_gradient,
    bgnbd_terms,
    paretonbd_expected_while_alive,
    paretonbd_terms,
)
from regulars.errors import InvalidInput


def _history(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike, *, for_fit: bool
) -> tuple[Array, Array, Array]:
    """Check a repeat-purchase history and return it as broadcast float arrays.

    ``for_fit`` also demands equal-length, non-empty columns, since a fit that silently
    broadcast one customer's age to all would be wrong without an error.
    """
    columns = {
        name: np.asarray(values, dtype=np.float64)
        for name, values in (("frequency", frequency), ("recency", recency), ("T", T))
    }
    for name, column in columns.items():
        if for_fit and (column.ndim != 1 or column.size == 0):
            raise InvalidInput(f"{name} must be a non-empty one-dimensional array", field=name)
        if not np.isfinite(column).all():
            raise InvalidInput(f"{name} must be finite", field=name)
    if for_fit and len({column.size for column in columns.values()}) > 1:
        raise InvalidInput("frequency, recency and T must have the same length", field="recency")
    try:
        x, tx, age = np.broadcast_arrays(*columns.values())
    except ValueError as error:
        raise InvalidInput(f"the columns do not line up: {error}", field="recency") from error
    if ((x < 0) | (x != np.round(x))).any():
        raise InvalidInput("frequency must count purchases: whole numbers >= 0", field="frequency")
    if (tx < 0).any() or ((x == 0) & (tx != 0)).any():
        raise InvalidInput(
            "recency must be >= 0, and 0 for customers without a repeat purchase",
            field="recency",
        )
    if (age < tx).any():
        raise InvalidInput("T must not be shorter than recency", field="T")
    return x, tx, age


def _times(t: float | npt.ArrayLike) -> Array:
    values = np.asarray(t, dtype=np.float64)
    if not (np.isfinite(values).all() and (values >= 0).all()):
        raise InvalidInput("t must be finite and >= 0", field="t")
    return values


class _RepeatPurchaseModel(MaximumLikelihoodModel):
    """What BG/NBD and Pareto/NBD share: the history checks, alive-probability and the
    conditional expectation, each written through the likelihood's three log-terms.

    A subclass splits a customer's likelihood as ``exp(base) * (exp(alive) + exp(other))``
    where ``alive`` is the history observed with the customer still alive at ``T``. That
    split gives both the log-likelihood and P(alive) = exp(alive) / (exp(alive) +
    exp(other)), with no overflow for long histories.
    """

    @abstractmethod
    def _terms(self, params: Array, x: Array, tx: Array, age: Array) -> tuple[Array, Array, Array]:
        """The log-terms ``base``, ``alive`` and ``other`` of each history."""

    @abstractmethod
    def _expected_while_alive(self, params: Array, t: Array, x: Array, age: Array) -> Array:
        """Expected purchases in the next ``t`` for a customer known to be alive at ``T``."""

    @abstractmethod
    def _start(self, x: Array, age: Array) -> Array:
        """Log-parameters to start the optimiser from, on the data's time scale."""

    def _log_likelihood(self, params: Array, columns: tuple[Array, ...]) -> Array:
        base, alive, other = self._terms(params, *columns)
        return base + np.logaddexp(alive, other)

    def fit(self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike) -> Self:
        """Find the maximum-likelihood parameters of the customers' histories.

        Args:
            frequency: repeat purchases per customer in the calibration period.
            recency: time from the first to the last purchase (0 without repeat purchase).
            T: time from the first purchase to the end of the calibration period, in the
                same unit as ``recency``; rates and predictions are per this unit.

        Returns:
            The fitted model, with ``params_``, ``log_likelihood_`` (the unpenalised
            log-likelihood of all customers at ``params_``) and ``n_customers_``.

        Raises:
            InvalidInput: a malformed history, or nobody with a repeat purchase (the
                model would have nothing to learn the purchase rate's spread from).
            ModelFitFailed: the optimiser did not converge or ran to a boundary.
        """
        x, tx, age = _history(frequency, recency, T, for_fit=True)
        if not (x > 0).any():
            raise InvalidInput(
                "no customer made a repeat purchase: the model cannot be fitted",
                field="frequency",
            )
        self._fit_grouped((x, tx, age), self._start(x, age))
        return self

    def customer_log_likelihood(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> Array:
        """Each customer's log-likelihood at the fitted parameters.

        Lets an analyst spot histories the model finds implausible, and lets a test check
        the grouped fit against a customer-by-customer sum.
        """
        params = self._fitted()
        return self._log_likelihood(params, _history(frequency, recency, T, for_fit=False))

    def probability_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> Array:
        """Probability that each customer has not dropped out by the end of calibration.

        Args:
            frequency: repeat purchases in the calibration period.
            recency: time from the first to the last purchase.
            T: time from the first purchase to the end of the calibration period.

        Returns:
            Values in [0, 1], broadcast over the arguments.
        """
        params = self._fitted()
        return self._alive(params, *_history(frequency, recency, T, for_fit=False))

    def _alive(self, params: Array, x: Array, tx: Array, age: Array) -> Array:
        _, alive, other = self._terms(params, x, tx, age)
        return np.exp(alive - np.logaddexp(alive, other))

    def expected_purchases(
        self,
        t: float | npt.ArrayLike,
        frequency: npt.ArrayLike,
        recency: npt.ArrayLike,
        T: npt.ArrayLike,
    ) -> Array:
        """Expected repeat purchases of each customer in the next ``t`` periods.

        Args:
            t: the length of the period ahead, in the unit the model was fitted in;
                broadcasts against the history, so a column of times gives a table.
            frequency: repeat purchases in the calibration period.
            recency: time from the first to the last purchase.
            T: time from the first purchase to the end of the calibration period.

        Returns:
            Expected purchases, conditional on each customer's history.
        """
        params = self._fitted()
        times = _times(t)
        x, tx, age = _history(frequency, recency, T, for_fit=False)
        expected = self._expected_while_alive(params, times, x, age)
        return expected * self._alive(params, x, tx, age)

    def expected_purchases_new(self, t: float | npt.ArrayLike) -> Array:
        """Expected purchases of a customer just acquired, in the first ``t`` periods.

        The repeat purchases of someone whose first purchase is now: the conditional
        expectation for a history of zero length, which is alive for certain.
        """
        return self.expected_purchases(t, 0.0, 0.0, 0.0)


class BgNbd(_RepeatPurchaseModel):
    """The BG/NBD model: Poisson purchases at rate ~ Gamma(r, alpha), and after each
    purchase a dropout with probability p ~ Beta(a, b).

    ``params_`` holds ``r``, ``alpha``, ``a`` and ``b``. The gradient is analytic.
    """

    parameter_names = ("r", "alpha", "a", "b")
    analytic_gradient = True

    def _terms(self, params: Array, x: Array, tx: Array, age: Array) -> tuple[Array, Array, Array]:
        return bgnbd_terms(params, x, tx, age)

    def _mean_log_likelihood_and_gradient(
        self, params: Array, rows: WeightedRows
    ) -> tuple[float, Array]:
        return bgnbd_mean_log_likelihood_and_gradient(params, rows)

    def _expected_while_alive(self, params: Array, t: Array, x: Array, age: Array) -> Array:
        return bgnbd_expected_while_alive(params, t, x, age)

    def _start(self, x: Array, age: Array) -> Array:
        # A purchase rate of one per observed lifetime puts alpha on the data's time scale.
        return np.log([1.0, float(age.mean()) / max(float(x.mean()), 1e-3), 1.0, 1.0])


class ParetoNbd(_RepeatPurchaseModel):
    """The Pareto/NBD model: Poisson purchases at rate ~ Gamma(r, alpha) and an exponential
    lifetime whose dropout rate ~ Gamma(s, beta).

    ``params_`` holds ``r``, ``alpha``, ``s`` and ``beta``. The gradient is numerical
    (central differences): the hypergeometric terms have no cheap derivative in r and s.
    """

    parameter_names = ("r", "alpha", "s", "beta")
    analytic_gradient = False

    def _terms(self, params: Array, x: Array, tx: Array, age: Array) -> tuple[Array, Array, Array]:
        return paretonbd_terms(params, x, tx, age)

    def _expected_while_alive(self, params: Array, t: Array, x: Array, age: Array) -> Array:
        return paretonbd_expected_while_alive(params, t, x, age)

    def _start(self, x: Array, age: Array) -> Array:
        mean_age = float(age.mean())
        return np.log([1.0, mean_age / max(float(x.mean()), 1e-3), 1.0, mean_age])
