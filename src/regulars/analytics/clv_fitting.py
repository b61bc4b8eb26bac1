"""Maximum-likelihood fitting shared by the CLV models: grouping, the optimiser, fitted checks.

Customers with identical histories contribute identical likelihood terms, so fits run on
the distinct rows weighted by their counts. The optimiser works in log-parameter space,
within a box whose walls mark a likelihood without a maximum.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cache
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from regulars.analytics.clv_rules import Array, WeightedRows
from regulars.errors import InvalidInput, RegularsError


class ModelNotFitted(RegularsError):
    """A prediction was asked of a model before ``fit``."""

    code = "model_not_fitted"
    status = 409


class ModelFitFailed(RegularsError):
    """The optimiser found no maximum: the data cannot identify the model's parameters."""

    code = "model_fit_failed"
    status = 422


# The optimiser searches log-parameters within +-25 (about 1e-11 to 7e10); a parameter that
# ends within 1 of that box is a likelihood running off to a boundary on degenerate data,
# not a maximum. (Large parameters alone are no sign of trouble: r and alpha growing
# together is the limit of customers who all buy at the same rate.)
_LOG_PARAMETER_BOUND = 25.0

# Rows from which grouping them by hashing beats sorting them (measured on CDNOW copies).
_HASH_GROUPING_FROM = 100_000


def distinct_rows(
    columns: tuple[Array, ...],
) -> tuple[tuple[Array, ...], Array, npt.NDArray[np.intp]]:
    """The distinct rows of equal-length ``columns``, their counts and each row's group.

    A lexicographic sort and a scan for changes: the same as ``np.unique(axis=0)`` at a
    tenth of its cost, which matters when the fit itself takes milliseconds.
    """
    order = np.lexsort(columns[::-1])
    ordered = [column[order] for column in columns]
    changes = np.zeros(order.size, dtype=bool)
    changes[0] = True
    for column in ordered:
        changes[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(changes)
    counts = np.diff(np.append(starts, order.size)).astype(np.float64)
    group = np.empty(order.size, dtype=np.intp)
    group[order] = np.cumsum(changes) - 1
    return tuple(column[starts] for column in ordered), counts, group


def _distinct_rows_and_counts(columns: tuple[Array, ...]) -> tuple[tuple[Array, ...], Array]:
    """The distinct rows of equal-length ``columns`` in lexicographic order, and their counts.

    What a fit needs of ``distinct_rows``, without each row's group. From
    ``_HASH_GROUPING_FROM`` rows on, Arrow's hash grouping takes one pass over the
    customers, where the lexicographic sort of all of them took three times as long at a
    quarter of a million (below, Arrow's fixed cost outweighs the sort's); only the few
    thousand distinct rows are then sorted, so both ways give the same rows in the same
    order.
    """
    if columns[0].size < _HASH_GROUPING_FROM:
        distinct, counts, _ = distinct_rows(columns)
        return distinct, counts
    table = pa.table({f"column_{index}": column for index, column in enumerate(columns)})
    grouped = table.group_by(table.column_names, use_threads=False).aggregate([([], "count_all")])
    rows = [grouped[name].to_numpy() for name in table.column_names]
    order = np.lexsort(rows[::-1])
    counts = grouped["count_all"].to_numpy().astype(np.float64)
    return tuple(column[order] for column in rows), counts[order]


@cache
def _blas_threads() -> ThreadpoolController:
    """The process's BLAS libraries, found once (a scan of the loaded libraries)."""
    return ThreadpoolController()


def _maximise(
    objective: Callable[[Array], tuple[float, Array] | float],
    start: Array,
    *,
    analytic_gradient: bool,
    tolerance: float,
    max_iterations: int,
) -> Array:
    """Minimise ``objective`` over log-parameters; refuse a non-converged or runaway fit.

    Log-parameters turn the positivity constraints into a plain box and put parameters of
    very different scales (a rate per week and a shape) on an even footing. Without an
    analytic gradient, central differences keep the gradient accurate enough for a tight
    tolerance.

    BLAS runs single-threaded meanwhile: L-BFGS-B's linear algebra is on matrices of a
    few rows, where handing work to OpenBLAS's threads and back costs far more than the
    arithmetic (it tripled the time of a whole BG/NBD fit on a busy two-core machine).
    """
    with _blas_threads().limit(limits=1, user_api="blas"):
        result = minimize(
            objective,
            start,
            jac=True if analytic_gradient else "3-point",
            method="L-BFGS-B",
            bounds=[(-_LOG_PARAMETER_BOUND, _LOG_PARAMETER_BOUND)] * start.size,
            options={"gtol": tolerance, "ftol": tolerance * 1e-3, "maxiter": max_iterations},
        )
    log_params = np.asarray(result.x, dtype=np.float64)
    if not np.isfinite(result.fun) or (np.abs(log_params) > _LOG_PARAMETER_BOUND - 1).any():
        shown = ", ".join(f"{value:.3g}" for value in np.exp(log_params))
        raise ModelFitFailed(
            f"the fit is degenerate (parameters {shown}): the likelihood has no proper "
            "maximum for this data, which has too few customers or repeat purchases"
        )
    if not result.success:
        reason = str(result.message).strip().rstrip(":").strip() or f"status {result.status}"
        raise ModelFitFailed(
            f"the optimiser stopped without converging after {result.nit} iterations "
            f"({reason.lower()}); more history or --time-unit day may help"
        )
    return log_params


class MaximumLikelihoodModel(ABC):
    """Hyper-parameters, the grouped weighted fit and the fitted check all models share."""

    parameter_names: ClassVar[tuple[str, ...]]
    analytic_gradient: ClassVar[bool]
    params_: dict[str, float]
    log_likelihood_: float
    n_customers_: int

    def __init__(
        self, *, penalizer: float = 0.0, tolerance: float = 1e-8, max_iterations: int = 1000
    ) -> None:
        """Set the fitting hyper-parameters.

        Args:
            penalizer: weight of an L2 penalty on the parameters, added to the mean
                negative log-likelihood per customer; a small value (0.001 to 0.1) keeps
                parameters finite on small or degenerate data, 0 gives the plain maximum
                likelihood that reproduces the published values.
            tolerance: the optimiser stops when no log-parameter's gradient of the mean
                negative log-likelihood exceeds this, or when an iteration improves that
                mean by less than a thousandth of it, relatively.
            max_iterations: the optimiser's iteration budget; running out raises
                ``ModelFitFailed``.
        """
        self.penalizer = penalizer
        self.tolerance = tolerance
        self.max_iterations = max_iterations

    @abstractmethod
    def _log_likelihood(self, params: Array, columns: tuple[Array, ...]) -> Array:
        """Per-row log-likelihood of the model's data columns."""

    def _mean_log_likelihood_and_gradient(
        self, params: Array, rows: WeightedRows
    ) -> tuple[float, Array]:
        """Weighted sum of the rows' log-likelihoods and its gradient, where it is analytic."""
        raise NotImplementedError

    def _fit_grouped(self, columns: tuple[Array, ...], start: Array) -> None:
        """Maximise the likelihood over the distinct rows of ``columns``, weighted by count."""
        if not (np.isfinite(self.penalizer) and self.penalizer >= 0):
            raise InvalidInput("penalizer must be finite and >= 0", field="penalizer")
        if not (np.isfinite(self.tolerance) and self.tolerance > 0):
            raise InvalidInput("tolerance must be finite and > 0", field="tolerance")
        if self.max_iterations < 1:
            raise InvalidInput("max_iterations must be at least 1", field="max_iterations")
        groups, counts = _distinct_rows_and_counts(columns)
        rows = WeightedRows.of(groups, counts / counts.sum())

        def objective(log_params: Array) -> tuple[float, Array] | float:
            params = np.exp(log_params)
            if not self.analytic_gradient:
                value = -float(rows.weight @ self._log_likelihood(params, groups))
                return value + self.penalizer * float(params @ params) if self.penalizer else value
            mean, mean_gradient = self._mean_log_likelihood_and_gradient(params, rows)
            value, gradient = -mean, -mean_gradient
            if self.penalizer:
                value += self.penalizer * float(params @ params)
                gradient += 2 * self.penalizer * params
            return value, gradient * params

        params = np.exp(
            _maximise(
                objective,
                start,
                analytic_gradient=self.analytic_gradient,
                tolerance=self.tolerance,
                max_iterations=self.max_iterations,
            )
        )
        self.params_ = dict(zip(self.parameter_names, params.tolist(), strict=True))
        if self.analytic_gradient:
            mean, _ = self._mean_log_likelihood_and_gradient(params, rows)
        else:
            mean = float(rows.weight @ self._log_likelihood(params, groups))
        self.n_customers_ = int(counts.sum())
        self.log_likelihood_ = mean * self.n_customers_

    def _fitted(self) -> Array:
        if not hasattr(self, "params_"):
            raise ModelNotFitted(f"{type(self).__name__} is not fitted yet: call fit first")
        return np.array([self.params_[name] for name in self.parameter_names])
