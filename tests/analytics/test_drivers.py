"""Satisfaction statistics against values worked out by hand or by brute force."""

import itertools
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.analytics.drivers import Quadrant, RelativeImportance, importance_performance
from regulars.analytics.scores import InvalidDriverInput
from regulars.errors import InvalidInput


def r2_by_least_squares(X: np.ndarray, y: np.ndarray, columns: tuple[int, ...]) -> float:
    """R² of an OLS fit with intercept on the chosen columns, the textbook way."""
    if not columns:
        return 0.0
    design = np.column_stack([np.ones(len(y)), X[:, list(columns)]])
    residuals = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    centred = y - y.mean()
    return float(1 - residuals @ residuals / (centred @ centred))


def average_over_orders(p: int, r2: Callable[[tuple[int, ...]], float]) -> np.ndarray:
    """Each predictor's R² gain on entering, averaged over all p! orders of entry."""
    gains = np.zeros(p)
    orders = list(itertools.permutations(range(p)))
    for order in orders:
        for k, j in enumerate(order):
            gains[j] += r2(tuple(sorted(order[: k + 1]))) - r2(tuple(sorted(order[:k])))
    return gains / len(orders)


def lmg_by_orders(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    r2 = cache(lambda columns: r2_by_least_squares(X, y, columns))
    return average_over_orders(X.shape[1], r2)


def population_lmg(covariance: np.ndarray, weights: np.ndarray, noise: float) -> np.ndarray:
    """LMG of y = X weights + noise * e for X ~ N(0, covariance), from population moments."""
    cross = covariance @ weights
    variance = weights @ covariance @ weights + noise**2

    def r2(columns: tuple[int, ...]) -> float:
        if not columns:
            return 0.0
        index = list(columns)
        c = cross[index]
        return float(c @ np.linalg.solve(covariance[np.ix_(index, index)], c) / variance)

    return average_over_orders(len(weights), cache(r2))


def correlated_data(
    rng: np.random.Generator, rows: int, weights: list[float], correlation: float, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = len(weights)
    covariance = np.full((p, p), correlation) + (1 - correlation) * np.eye(p)
    X = rng.multivariate_normal(np.zeros(p), covariance, size=rows)
    y = X @ np.asarray(weights) + noise * rng.normal(size=rows)
    return X, y, covariance


def names(p: int) -> list[str]:
    return [f"item {j}" for j in range(p)]


def test_importances_add_up_to_the_full_model_r2() -> None:
    X, y, _ = correlated_data(np.random.default_rng(1), 300, [1.0, 0.5, 0.2, 0.0, 2.0], 0.5, 1.0)
    model = RelativeImportance(n_bootstrap=0).fit(X, y, names(5))
    assert model.r2_ == pytest.approx(r2_by_least_squares(X, y, (0, 1, 2, 3, 4)), abs=1e-10)
    assert model.importance_.sum() == pytest.approx(model.r2_, abs=1e-12)
    assert model.share_.sum() == pytest.approx(1.0)


def test_with_orthogonal_predictors_importance_is_the_squared_correlation() -> None:
    rng = np.random.default_rng(2)
    raw = rng.normal(size=(200, 4))
    orthogonal, _ = np.linalg.qr(raw - raw.mean(axis=0))  # centred, exactly uncorrelated
    X = orthogonal * [3.0, 0.5, 10.0, 1.0] + [1.0, -2.0, 0.0, 7.0]
    y = orthogonal @ [4.0, 2.0, 1.0, 0.0] + 0.3 * rng.normal(size=200)
    model = RelativeImportance(n_bootstrap=0).fit(X, y, names(4))
    squared = [np.corrcoef(X[:, j], y)[0, 1] ** 2 for j in range(4)]
    np.testing.assert_allclose(model.importance_, squared, atol=1e-12)


def test_exact_subsets_equal_the_average_over_all_orders() -> None:
    X, y, _ = correlated_data(np.random.default_rng(3), 150, [1.0, -0.7, 0.3, 0.5], 0.6, 1.5)
    X *= [1.0, 20.0, 0.05, 3.0]
    model = RelativeImportance(n_bootstrap=0).fit(X, y, names(4))
    np.testing.assert_allclose(model.importance_, lmg_by_orders(X, y), atol=1e-10)


def test_importance_does_not_depend_on_units() -> None:
    X, y, _ = correlated_data(np.random.default_rng(4), 120, [0.4, 1.0, 0.2], 0.3, 1.0)
    first = RelativeImportance(n_bootstrap=50, random_state=9).fit(X, y, names(3))
    rescaled = X * [1000.0, -0.01, 3.0] + [5.0, 1e4, -2.0]
    second = RelativeImportance(n_bootstrap=50, random_state=9).fit(rescaled, 7 * y - 3, names(3))
    np.testing.assert_allclose(second.importance_, first.importance_, atol=1e-10)
    assert first.intervals_ is not None
    assert second.intervals_ is not None
    np.testing.assert_allclose(second.intervals_, first.intervals_, atol=1e-8)


def test_ranking_recovers_known_drivers_among_correlated_ones() -> None:
    weights = [2.0, 0.2, 1.2, 0.0, 0.7, 0.4]
    X, y, covariance = correlated_data(np.random.default_rng(5), 2000, weights, 0.4, 2.0)
    truth = population_lmg(covariance, np.asarray(weights), 2.0)
    model = RelativeImportance(n_bootstrap=0).fit(X, y, names(6))
    assert stats.spearmanr(model.importance_, truth).statistic >= 0.9
    assert model.ranking_[0] == "item 0"
    np.testing.assert_allclose(model.importance_, truth, atol=0.03)


def test_bootstrap_intervals_cover_the_true_importance() -> None:
    rng = np.random.default_rng(6)
    weights = [1.0, 0.6, 0.3]
    runs = 40
    covered = np.zeros(3)
    for run in range(runs):
        X, y, covariance = correlated_data(rng, 300, weights, 0.5, 1.2)
        model = RelativeImportance(n_bootstrap=200, random_state=run).fit(X, y, names(3))
        assert model.intervals_ is not None
        truth = population_lmg(covariance, np.asarray(weights), 1.2)
        covered += (model.intervals_[:, 0] <= truth) & (truth <= model.intervals_[:, 1])
    assert (covered >= 0.8 * runs).all(), covered


def test_a_predictor_a_resample_leaves_constant_explains_nothing_there() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    X[:, 2] = 0.0
    X[[5, 17], 2] = 1.0  # rare flag: most resamples miss both rows
    y = X[:, 0] + rng.normal(size=40)
    model = RelativeImportance(n_bootstrap=300, random_state=0).fit(X, y, names(3))
    assert model.intervals_ is not None
    assert np.isfinite(model.intervals_).all()
    assert model.intervals_[2, 0] == pytest.approx(0.0, abs=1e-12)


def test_importance_table_is_sorted_and_keeps_no_data() -> None:
    X, y, _ = correlated_data(np.random.default_rng(8), 500, [0.2, 1.0, 0.5], 0.2, 1.0)
    items = ["fresh", "queue", "staff"]
    model = RelativeImportance(n_bootstrap=100, random_state=1).fit(X, y, items)
    table = model.importance_table()
    assert [row.name for row in table] == list(model.ranking_) == ["queue", "staff", "fresh"]
    for row in table:
        assert row.low is not None
        assert row.high is not None
        assert row.low <= row.importance <= row.high
    assert sum(row.share for row in table) == pytest.approx(1.0)
    for value in vars(model).values():
        assert not (isinstance(value, np.ndarray) and 500 in value.shape)
    unfitted = clone(model)
    assert unfitted.get_params() == {"n_bootstrap": 100, "confidence": 0.95, "random_state": 1}
    with pytest.raises(ModelNotFitted):
        unfitted.importance_table()
    without = RelativeImportance(n_bootstrap=0).fit(X, y, items)
    assert without.intervals_ is None
    assert without.importance_table()[0].low is None


GOOD_X = np.random.default_rng(9).normal(size=(20, 3))
GOOD_Y = GOOD_X.sum(axis=1) + np.random.default_rng(10).normal(size=20)


@pytest.mark.parametrize(
    ("X", "y", "labels", "message"),
    [
        (np.where(np.eye(20, 3, dtype=bool), np.nan, GOOD_X), GOOD_Y, names(3), "X must not"),
        (GOOD_X, np.append(GOOD_Y[:-1], np.inf), names(3), "y must not contain NaN"),
        (GOOD_X[:, :1], GOOD_Y, names(1), "X has 1 predictors"),
        (GOOD_X[:4], GOOD_Y[:4], names(3), "X has 4 rows; 3 predictors need more than 4"),
        (GOOD_X[0], GOOD_Y, names(3), "two-dimensional"),
        (GOOD_X, GOOD_Y[:-1], names(3), "one value per row"),
        (GOOD_X, GOOD_Y, names(2), "names must be 3 strings"),
        (GOOD_X, GOOD_Y, ["a", "b", "a"], "names must not repeat"),
        (np.column_stack([GOOD_X[:, :2], np.ones(20)]), GOOD_Y, ["a", "b", "c"], "'c' is constant"),
        (GOOD_X, np.full(20, 3.0), names(3), "y is constant"),
        (
            np.column_stack([GOOD_X[:, :2], GOOD_X[:, 0] - 2 * GOOD_X[:, 1]]),
            GOOD_Y,
            ["a", "b", "c"],
            "'c' is a linear combination of a, b",
        ),
        ([["x"] * 3] * 20, GOOD_Y, names(3), "must be numbers"),
    ],
)
def test_bad_regression_input_is_refused_by_name(
    X: np.ndarray, y: np.ndarray, labels: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        RelativeImportance(n_bootstrap=0).fit(X, y, labels)
    assert isinstance(raised.value, InvalidInput)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_bootstrap": -1}, "n_bootstrap must be a whole number"),
        ({"n_bootstrap": 2.5}, "n_bootstrap must be a whole number"),
        ({"confidence": 1.0}, "confidence must be between 0 and 1"),
    ],
)
def test_bad_settings_are_refused_at_fit(settings: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidDriverInput, match=message):
        RelativeImportance(**settings).fit(GOOD_X, GOOD_Y, names(3))  # type: ignore[arg-type]


def test_importance_performance_puts_what_to_fix_first() -> None:
    rows = importance_performance(
        ["queue", "fresh", "parking", "music", "staff", "prices"],
        [0.30, 0.25, 0.05, 0.02, 0.20, 0.28],  # mean 0.1833
        [3.1, 4.5, 2.5, 4.8, 3.0, 4.0],  # mean 3.65
    )
    assert [(row.name, row.quadrant) for row in rows] == [
        ("queue", Quadrant.ACT_FIRST),
        ("staff", Quadrant.ACT_FIRST),
        ("prices", Quadrant.KEEP_UP),
        ("fresh", Quadrant.KEEP_UP),
        ("parking", Quadrant.LOW_PRIORITY),
        ("music", Quadrant.OVERKILL),
    ]
    assert rows[0].quadrant == "act_first"
    assert rows[0].quadrant.advice == "concentrate here"
    assert rows[-1].quadrant.advice == "possible overkill"
    with pytest.raises(ValueError, match="one each per attribute"):
        importance_performance(["a", "b"], [0.1, 0.2, 0.3], [1, 2])
    with pytest.raises(ValueError, match="two or more distinct names"):
        importance_performance(["a", "a"], [0.1, 0.2], [1, 2])
