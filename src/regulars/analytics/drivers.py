"""What drives satisfaction: driver importance and the importance-performance grid, as
plain functions over plain arrays.

Driver importance is LMG (Lindeman, Merenda and Gold), the Shapley value of R²: each
predictor's gain in R² averaged over every order in which the predictors can enter an OLS
regression. Unlike standardised coefficients it adds up to R² and stays meaningful when the
drivers are correlated, as satisfaction items always are. It is exact: the R² of all 2^p
subsets from the correlation matrix (``_subset_r2``), then Shapley weights over them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from math import factorial
from typing import Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator

from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.analytics.scores import (
    Array,
    check_confidence,
    numbers,
    require,
    scores_array,
)

# Each extra predictor doubles the subsets; past this an exact decomposition stops being quick.
MOST_PREDICTORS = 15
# A conditional variance (on the correlation scale) below this means "already explained".
_PIVOT_TOLERANCE = 1e-10
# Floats one bootstrap batch may gather (resamples x rows x columns): 32 MB.
_GATHERED_VALUES = 4_000_000


def _standardized(columns: Array) -> Array:
    return (columns - columns.mean(axis=0)) / columns.std(axis=0)


def _subset_r2(correlation: Array) -> Array:
    """R² of the last variable on every subset of the others, for each matrix in a stack.

    Column ``mask`` holds the subset whose bits are set. Each subset is its parent (itself
    without its highest predictor) plus one variable, and conditioning on one more variable
    is a rank-one update (Schur complement) of the parent's conditional covariance, kept for
    the variables after it only. So each of the 2^p subsets costs one small update, batched
    over all resamples, instead of a least-squares fit over the rows; the outcome's
    remaining variance is 1 - R².
    """
    stack, size, _ = correlation.shape
    predictors = size - 1
    r2 = np.zeros((stack, 1 << predictors))

    def extend(conditional: Array, mask: int, first: int) -> None:
        # ``conditional``: covariance of predictors first.. and the outcome, given ``mask``
        for offset in range(predictors - first):
            pivot = conditional[:, offset, offset]
            usable = pivot > _PIVOT_TOLERANCE  # else it adds nothing to what ``mask`` explains
            inverse = np.divide(1.0, pivot, out=np.zeros_like(pivot), where=usable)
            column = conditional[:, offset + 1 :, offset]
            child = conditional[:, offset + 1 :, offset + 1 :] - (
                column[:, :, None] * (column * inverse[:, None])[:, None, :]
            )
            child_mask = mask | 1 << (first + offset)
            r2[:, child_mask] = 1.0 - child[:, -1, -1]
            extend(child, child_mask, first + offset + 1)

    extend(correlation, 0, 0)
    return r2


def _shapley_weights(predictors: int) -> Array:
    """The matrix that turns a row of subset R² into each predictor's LMG importance.

    Of the p! orders of entry, |S|! (p - |S| - 1)! add predictor j right after exactly the
    subset S, so the average over orders is a weighted sum over subsets: +weight at S with
    j, -weight at S without.
    """
    masks = np.arange(1 << predictors)
    sizes = np.array([mask.bit_count() for mask in range(masks.size)])
    orders = [factorial(k) * factorial(predictors - k - 1) for k in range(predictors)]
    per_size = np.array(orders, dtype=float) / factorial(predictors)
    weights = np.zeros((masks.size, predictors))
    for j in range(predictors):
        without = masks[(masks >> j) & 1 == 0]
        weights[without | 1 << j, j] = per_size[sizes[without]]
        weights[without, j] = -per_size[sizes[without]]
    return weights


def _checked_regression(
    X: npt.ArrayLike, y: npt.ArrayLike, names: Sequence[str]
) -> tuple[Array, tuple[str, ...]]:
    """The predictors and outcome as one float array (outcome last), and the names."""
    predictors, outcome = numbers(X, "X"), numbers(y, "y")
    require(predictors.ndim == 2, "X", "X must be two-dimensional: rows by predictors")
    rows, count = predictors.shape
    problem = f"X has {count} predictors; importance needs 2 to {MOST_PREDICTORS}"
    require(2 <= count <= MOST_PREDICTORS, "X", problem)
    problem = f"X has {rows} rows; {count} predictors need more than {count + 1}"
    require(rows > count + 1, "X", problem)
    require(outcome.shape == (rows,), "y", f"y must be one value per row of X ({rows})")
    labels = tuple(names)
    strings = len(labels) == count and all(isinstance(name, str) for name in labels)
    require(strings, "names", f"names must be {count} strings, one per column")
    require(len(set(labels)) == count, "names", "names must not repeat")
    require((outcome != outcome[0]).any(), "y", "y is constant: there is nothing to explain")
    for j, name in enumerate(labels):
        varies = (predictors[:, j] != predictors[0, j]).any()
        require(varies, "X", f"predictor {name!r} is constant")
    # each predictor's variance left after the earlier ones: zero means a linear combination
    standardized = _standardized(predictors)
    conditional = standardized.T @ standardized / rows
    for j, name in enumerate(labels):
        problem = f"predictor {name!r} is a linear combination of {', '.join(labels[:j])}"
        require(conditional[j, j] >= _PIVOT_TOLERANCE, "X", problem)
        after = conditional[j + 1 :, j]
        conditional[j + 1 :, j + 1 :] -= np.outer(after, after) / conditional[j, j]
    return np.column_stack([predictors, outcome]), labels


@dataclass(frozen=True)
class DriverImportance:
    """One predictor's share of R²; ``low``/``high`` are None when not bootstrapped."""

    name: str
    importance: float
    low: float | None
    high: float | None
    share: float


class RelativeImportance(BaseEstimator):
    """How much each driver (satisfaction item) explains of an outcome (overall score, NPS).

    Args:
        n_bootstrap: row resamples for the intervals; 0 skips them.
        confidence: coverage of the percentile intervals.
        random_state: seed or ``numpy.random.Generator``, for reproducible intervals.

    Learned: ``names_``, ``r2_`` (full OLS model), ``importance_`` (LMG, sums
    to ``r2_``), ``share_`` (importance / R²), ``intervals_`` (p x 2, low and high, or None),
    ``ranking_`` (names, most important first). Neither ``X`` nor ``y`` is kept.
    """

    def __init__(
        self,
        *,
        n_bootstrap: int = 500,
        confidence: float = 0.95,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_bootstrap = n_bootstrap
        self.confidence = confidence
        self.random_state = random_state

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike, names: Sequence[str]) -> Self:
        """Decompose the R² of ``y`` on the columns of ``X`` (named ``names``).

        Raises:
            InvalidDriverInput: also a ValueError; names the field and the problem.
        """
        level = check_confidence(self.confidence)
        resamples = self.n_bootstrap
        whole = isinstance(resamples, int) and not isinstance(resamples, bool) and resamples >= 0
        problem = f"n_bootstrap must be a whole number >= 0, not {resamples!r}"
        require(whole, "n_bootstrap", problem)
        columns, labels = _checked_regression(X, y, names)
        rows = columns.shape[0]
        standardized = _standardized(columns)
        weights = _shapley_weights(len(labels))
        importance = (_subset_r2((standardized.T @ standardized / rows)[None]) @ weights)[0]
        self.names_ = labels
        self.importance_ = importance
        self.r2_ = float(importance.sum())
        self.share_ = importance / self.r2_ if self.r2_ > 0 else np.zeros_like(importance)
        self.ranking_ = tuple(labels[j] for j in np.argsort(-importance, kind="stable"))
        self.intervals_: Array | None = None
        if resamples:
            rng = np.random.default_rng(self.random_state)
            replicates = self._bootstrap(standardized, weights, resamples, rng)
            tails = [(1 - level) / 2, (1 + level) / 2]
            self.intervals_ = np.nanquantile(replicates, tails, axis=0).T
        return self

    @staticmethod
    def _bootstrap(
        standardized: Array, weights: Array, resamples: int, rng: np.random.Generator
    ) -> Array:
        """Each resample's importances (resamples x p); NaN where the outcome came out constant.

        Only a resample's correlation matrix is needed, so rows are gathered a batch of
        resamples at a time for one stacked matrix product, and the subsets are then walked
        once for all resamples together.
        """
        rows, size = standardized.shape
        batch = max(1, _GATHERED_VALUES // (rows * size))
        covariances = []
        for start in range(0, resamples, batch):
            picks = rng.integers(0, rows, size=(min(batch, resamples - start), rows))
            sample = standardized[picks]
            means = sample.mean(axis=1)
            moments = np.matmul(sample.transpose(0, 2, 1), sample) / rows
            covariances.append(moments - means[:, :, None] * means[:, None, :])
        covariance = np.concatenate(covariances)
        variance = np.diagonal(covariance, axis1=1, axis2=2)
        varies = variance > _PIVOT_TOLERANCE  # a column made constant gets no correlation
        scale = np.divide(1.0, np.sqrt(np.abs(variance)), out=np.zeros_like(variance), where=varies)
        correlation = covariance * scale[:, :, None] * scale[:, None, :]
        replicates = _subset_r2(correlation) @ weights
        replicates[~varies[:, -1]] = np.nan
        return replicates

    def importance_table(self) -> tuple[DriverImportance, ...]:
        """One row per predictor, most important first, for reports and charts."""
        if not hasattr(self, "importance_"):
            raise ModelNotFitted("fit the relative importance model first", field="model")
        intervals = self.intervals_
        return tuple(
            DriverImportance(
                name=self.names_[j],
                importance=float(self.importance_[j]),
                low=None if intervals is None else float(intervals[j, 0]),
                high=None if intervals is None else float(intervals[j, 1]),
                share=float(self.share_[j]),
            )
            for j in [self.names_.index(name) for name in self.ranking_]
        )


class Quadrant(StrEnum):
    """Where an attribute sits in the importance-performance grid, most urgent first; the
    value is a stable code, ``advice`` the quadrant's name in the classic grid."""

    ACT_FIRST = "act_first"
    KEEP_UP = "keep_up"
    LOW_PRIORITY = "low_priority"
    OVERKILL = "overkill"

    @property
    def advice(self) -> str:
        return _ADVICE[self]


_ADVICE = {
    Quadrant.ACT_FIRST: "concentrate here",
    Quadrant.KEEP_UP: "keep up the good work",
    Quadrant.LOW_PRIORITY: "low priority",
    Quadrant.OVERKILL: "possible overkill",
}
# (important, performing at or above the mean) -> quadrant
_QUADRANTS = {
    (True, False): Quadrant.ACT_FIRST,
    (True, True): Quadrant.KEEP_UP,
    (False, False): Quadrant.LOW_PRIORITY,
    (False, True): Quadrant.OVERKILL,
}


@dataclass(frozen=True)
class AttributePriority:
    name: str
    importance: float
    performance: float
    quadrant: Quadrant


def importance_performance(
    names: Sequence[str], importance: npt.ArrayLike, performance: npt.ArrayLike
) -> tuple[AttributePriority, ...]:
    """Each attribute's quadrant, the ones to act on first at the top.

    Args:
        names: the attributes (checkout speed, fresh produce, ...).
        importance: how much each matters, e.g. ``RelativeImportance().importance_``.
        performance: how well the chain does on each, e.g. its mean score.

    The cross sits at the mean importance and mean performance of these attributes, so
    quadrants are relative to the rest of this survey, not to an absolute scale; an
    attribute at a mean (give or take rounding) counts as above it. Rows go by quadrant,
    then importance descending, then performance ascending: within a quadrant, what matters
    most and does worst comes first.
    """
    labels = tuple(names)
    importances = scores_array(importance, "importance")
    levels = scores_array(performance, "performance")
    sizes = f"{len(labels)}, {importances.size} and {levels.size}"
    problem = f"names, importance and performance have {sizes} entries: one each per attribute"
    require(len(labels) == importances.size == levels.size, "names", problem)
    problem = "the grid needs two or more distinct names"
    require(2 <= len(set(labels)) == len(labels), "names", problem)
    above = [
        (values > values.mean()) | np.isclose(values, values.mean())
        for values in (importances, levels)
    ]
    important, performing = above[0].tolist(), above[1].tolist()
    rows = [
        AttributePriority(
            name, float(importances[j]), float(levels[j]), _QUADRANTS[important[j], performing[j]]
        )
        for j, name in enumerate(labels)
    ]
    urgency = list(Quadrant)
    rows.sort(key=lambda row: (urgency.index(row.quadrant), -row.importance, row.performance))
    return tuple(rows)
