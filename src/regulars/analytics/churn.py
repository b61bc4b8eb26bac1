"""Churn risk: who is likely to stop buying, why, and how much better than BG/NBD we know it.

A customer has churned after a cut-off day when they make no purchase in the next
``horizon_days`` days. The model is trained and judged on two past cut-offs, so no label
ever overlaps the data its features came from::

    train cut-off T1 = C - 2N    features up to T1, labels from (T1, T2]
    test cut-off  T2 = C - N     features up to T2, labels from (T2, C]
    score cut-off C              features up to C, labels unknown: the risk we report

The test metrics come from the model fitted at T1; the scores at C come from the same
model refitted at T2, the latest cut-off whose labels are known. Each is set against the
buy-till-you-die baseline of a BG/NBD fitted on the purchases up to the same cut-off
(``clv.py``): its probability of no purchase in the horizon, since a churn model earns its
keep only by beating that. (1 - P(alive) alone would be a poor baseline: BG/NBD holds that
a customer can only drop out right after a purchase, so it gives every one-off buyer a
risk of 0, and on CDNOW it ranks worse than chance.) When the model does not beat the
baseline on the test cut-off, the summary says so.

The default horizon comes from the data (``default_horizon``): long enough that most
customers who are still around buy again within it, short enough to leave room for the
two cut-offs.

Who is scored: every customer with a purchase on or before the cut-off; members who never
bought have no behaviour to go on.

Drivers are honest about what they are: for each customer and feature, the change in
predicted risk when that feature alone is set to its median over the training customers.
It shows what about this customer, compared with a typical one, moves the model; it is
not additive (the contributions need not sum to the risk) and ignores interactions between
features that change together.
"""

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final, Self

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier

from regulars.analytics.churn_features import (
    FEATURE_NAMES,
    ChurnFeatures,
    Evaluation,
    churn_features,
    churned_after,
    evaluate,
)
from regulars.analytics.clv import BgNbd
from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.analytics.clv_summary import calibration_summary
from regulars.analytics.transactions import purchase_days
from regulars.clock import calendar_day
from regulars.errors import InvalidInput

SCORES_FILE: Final = "churn_scores.parquet"
DRIVERS_FILE: Final = "churn_drivers.parquet"
SUMMARY_FILE: Final = "churn_summary.json"


@dataclass(frozen=True)
class FeatureImportance:
    """A feature's mean absolute driver contribution over the scored customers."""

    feature: str
    mean_abs_contribution: float


def _check_top(top: int, features: int, *, field: str) -> None:
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= features:
        raise InvalidInput(f"{field} must be between 1 and {features}, not {top!r}", field=field)


@dataclass(frozen=True, eq=False)
class RiskDrivers:
    """Every feature's contribution to every customer's risk (method in the module doc).

    ``contributions[i, j]`` is customer ``i``'s risk minus their risk with feature ``names[j]``
    at ``typical_values[j]``, its training median: positive means the feature raises this
    customer's risk.
    """

    customer_ids: npt.NDArray[np.str_]
    names: tuple[str, ...]
    values: npt.NDArray[np.float64]
    typical_values: npt.NDArray[np.float64]
    contributions: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        for array in (self.customer_ids, self.values, self.typical_values, self.contributions):
            array.setflags(write=False)

    def importance(self) -> tuple[FeatureImportance, ...]:
        """Features by how much they move risk on average, strongest first."""
        means = np.abs(self.contributions).mean(axis=0)
        return tuple(
            FeatureImportance(self.names[j], float(means[j]))
            for j in np.argsort(-means, kind="stable")
        )

    def to_arrow(self, *, top: int = 3) -> pa.Table:
        """Each customer's ``top`` drivers, one row per customer and rank, strongest first.

        Ranked by the size of the change, up or down, so every customer has drivers,
        including those whose features mostly lower their risk.
        """
        _check_top(top, len(self.names), field="top")
        order = np.argsort(-np.abs(self.contributions), axis=1, kind="stable")[:, :top]
        rows = np.arange(self.customer_ids.size)[:, None]
        return pa.table(
            {
                "customer_id": pa.array(np.repeat(self.customer_ids, top)),
                "rank": pa.array(np.tile(np.arange(1, top + 1), self.customer_ids.size)),
                "feature": pa.array(np.asarray(self.names, dtype=np.str_)[order].ravel()),
                "value": pa.array(self.values[rows, order].ravel()),
                "typical_value": pa.array(self.typical_values[order].ravel()),
                "contribution": pa.array(self.contributions[rows, order].ravel()),
            }
        )


class ChurnModel(BaseEstimator):
    """Gradient-boosted trees over ``ChurnFeatures``, predicting the chance of churning.

    Trees because the features are counts, shares and flags on very different scales, with
    thresholds (no visit for a month) that matter more than straight lines; sklearn's
    histogram version is fast and needs no scaling.

    Args:
        max_iter: boosting rounds.
        learning_rate: shrinkage of each round; small with few rounds keeps it smooth.
        max_depth: depth of each tree; shallow trees generalise from a few hundred
            customers.
        min_samples_leaf: customers a leaf must hold, against fitting single households.
        l2_regularization: penalty on leaf values.
        random_state: seed, for reproducible scores.
    """

    def __init__(
        self,
        *,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def fit(self, features: ChurnFeatures, churned: npt.ArrayLike) -> Self:
        """Learn risk from customers whose outcome after ``features.cutoff`` is known.

        Raises:
            InvalidInput: the labels do not match the customers (field ``churned``), or all
                customers share one outcome, so there is nothing to tell apart (field
                ``horizon_days``: a different horizon usually mixes them).
        """
        labels = np.asarray(churned, dtype=bool)
        if labels.shape != (len(features),):
            raise InvalidInput(
                f"churned has {labels.size} labels for {len(features)} customers",
                field="churned",
            )
        if labels.all() or not labels.any():
            outcome = "churned" if labels.all() else "came back"
            raise InvalidInput(
                f"all {labels.size} customers {outcome} after {features.cutoff.isoformat()}: "
                "a model needs both outcomes to learn from",
                field="horizon_days",
            )
        self.classifier_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        ).fit(features.values, labels)
        self.feature_names_ = features.names
        self.typical_values_ = np.median(features.values, axis=0)
        return self

    def _check(self, features: ChurnFeatures) -> None:
        if not hasattr(self, "classifier_"):
            raise ModelNotFitted("fit the churn model before predicting", field="model")
        if features.names != self.feature_names_:
            raise InvalidInput(
                "the features differ from those the model was fitted on", field="features"
            )

    def churn_probability(self, features: ChurnFeatures) -> npt.NDArray[np.float64]:
        """Each customer's chance of no purchase in the horizon after ``features.cutoff``."""
        self._check(features)
        return self._risk(features.values)

    def _risk(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        risk: npt.NDArray[np.float64] = self.classifier_.predict_proba(values)[:, 1]
        return risk

    def risk_drivers(self, features: ChurnFeatures) -> RiskDrivers:
        """How much each feature moves each customer's risk away from a typical customer's."""
        self._check(features)
        risk = self._risk(features.values)
        contributions = np.zeros_like(features.values)
        for j, typical in enumerate(self.typical_values_):
            # A customer already at the typical value has nothing to explain; most are, for
            # features like a tier downgrade, so only the others are predicted again.
            differ = features.values[:, j] != typical
            if not differ.any():
                continue
            typical_customers = features.values[differ]
            typical_customers[:, j] = typical
            contributions[differ, j] = risk[differ] - self._risk(typical_customers)
        return RiskDrivers(
            customer_ids=features.customer_ids,
            names=features.names,
            values=features.values,
            typical_values=self.typical_values_.copy(),
            contributions=contributions,
        )


def baseline_risk(
    connection: duckdb.DuckDBPyConnection,
    customer_ids: npt.NDArray[np.str_],
    *,
    cutoff: date,
    horizon_days: int,
) -> npt.NDArray[np.float64]:
    """The BG/NBD probability of no purchase in the ``horizon_days`` after ``cutoff``, from a
    model fitted on the purchases up to it.

    A customer who has dropped out buys nothing; one still alive buys at a rate lambda whose
    posterior, given x repeat purchases in T weeks, is Gamma(r + x, alpha + T), so they buy
    nothing in the next t weeks with probability ((alpha + T) / (alpha + T + t))^(r + x):
    P(none) = 1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x).

    ``customer_ids`` must be the customers with a purchase on or before ``cutoff`` (those of
    ``churn_features``), the same population the BG/NBD summary holds.
    """
    summary = calibration_summary(connection, calibration_end=cutoff, time_unit="week")
    history = (summary.frequency, summary.recency, summary.T)
    model = BgNbd().fit(*history)
    alive = model.probability_alive(*history)
    r, alpha = model.params_["r"], model.params_["alpha"]
    quiet_if_alive = ((alpha + summary.T) / (alpha + summary.T + horizon_days / 7)) ** (
        r + summary.frequency
    )
    none = 1.0 - alive + alive * quiet_if_alive
    order = np.argsort(summary.customer_ids)
    at = order[np.searchsorted(summary.customer_ids, customer_ids, sorter=order)]
    return np.asarray(none[at], dtype=np.float64)


BASELINE_FEATURE: Final = "bgnbd_no_purchase"


def _features(
    connection: duckdb.DuckDBPyConnection, cutoff: date, horizon_days: int
) -> tuple[ChurnFeatures, npt.NDArray[np.float64]]:
    """The features at ``cutoff`` with the baseline's figure among them (the model learns
    what it adds to BG/NBD), and that figure."""
    features = churn_features(connection, cutoff=cutoff)
    baseline = baseline_risk(
        connection, features.customer_ids, cutoff=cutoff, horizon_days=horizon_days
    )
    return features.with_column(BASELINE_FEATURE, baseline), baseline


def default_horizon(connection: duckdb.DuckDBPyConnection) -> int:
    """Days without a purchase that say a customer has left, from the data: the time within
    which nine in ten repeat purchases follow the one before (at least 30 days), but no more
    than a third of the history, which must also hold the train and test cut-offs."""
    first, last = purchase_days(connection, empty="nobody can churn")
    [(gap,)] = connection.execute(
        """
        SELECT quantile_cont(gap, 0.9) FROM (
            SELECT date_diff('day', lag(day) OVER (PARTITION BY customer_id ORDER BY day), day)
                AS gap
            FROM (SELECT DISTINCT customer_id, CAST(purchased_at AS DATE) AS day
                  FROM transactions)
        ) WHERE gap IS NOT NULL
        """
    ).fetchall()
    usual = max(30, round(gap)) if gap is not None else 90
    return max(1, min(usual, ((last - first).days - 1) // 3))


@dataclass(frozen=True)
class ChurnSummary:
    """What ``churn_report`` found and wrote; also saved as ``churn_summary.json``."""

    horizon_days: int
    train_cutoff: date
    test_cutoff: date
    score_cutoff: date
    train_customers: int
    train_churn_rate: float
    test_customers: int
    test_churn_rate: float
    model: Evaluation
    baseline: Evaluation  # BG/NBD's probability of no purchase in the horizon, same history
    beats_baseline: bool  # the model ranks the test customers better than the baseline
    scored_customers: int
    mean_risk: float
    importance: tuple[FeatureImportance, ...]  # strongest first
    missing_tables: tuple[str, ...]  # optional tables absent: their features were 0
    scores_path: Path
    drivers_path: Path
    summary_path: Path


def _cutoffs(
    connection: duckdb.DuckDBPyConnection, horizon_days: int, cutoff: date | None
) -> tuple[date, date, date]:
    """Train, test and score cut-offs, refusing any the purchases cannot support."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise InvalidInput(
            f"horizon_days must be a whole number of days, at least 1, not {horizon_days!r}",
            field="horizon_days",
        )
    first, last = purchase_days(connection, empty="nobody can churn")
    score = last if cutoff is None else calendar_day(cutoff)
    if not first <= score <= last:
        raise InvalidInput(
            f"cutoff {score.isoformat()} is outside the transactions, which run from "
            f"{first.isoformat()} to {last.isoformat()}",
            field="cutoff",
        )
    horizon = timedelta(days=horizon_days)
    train = score - 2 * horizon
    if train <= first:
        raise InvalidInput(
            f"a train and a test cut-off of {horizon_days} days each need more than "
            f"{2 * horizon_days} days of purchases before {score.isoformat()}; they start on "
            f"{first.isoformat()}",
            field="horizon_days" if cutoff is None else "cutoff",
        )
    return train, score - horizon, score


def _write_scores(
    path: Path,
    features: ChurnFeatures,
    risk: npt.NDArray[np.float64],
    baseline: npt.NDArray[np.float64],
    horizon_days: int,
) -> None:
    table = pa.table(
        {
            "customer_id": pa.array(features.customer_ids),
            "churn_risk": pa.array(risk),
            "baseline_risk": pa.array(baseline),
        }
    ).replace_schema_metadata(
        {"cutoff": features.cutoff.isoformat(), "horizon_days": str(horizon_days)}
    )
    pq.write_table(table, path)


def churn_report(
    connection: duckdb.DuckDBPyConnection,
    output: Path,
    *,
    horizon_days: int | None = None,
    cutoff: date | None = None,
    top_drivers: int = 3,
    model: ChurnModel | None = None,
) -> ChurnSummary:
    """Train, test and apply the churn model, writing scores, drivers and a summary.

    Args:
        connection: a DuckDB connection with the ``transactions`` table, and the warehouse's
            member tables when available (``churn_features``).
        output: folder for ``churn_scores.parquet`` (risk and baseline per customer),
            ``churn_drivers.parquet`` (one row per customer and driver rank) and
            ``churn_summary.json``; created if missing.
        horizon_days: days without a purchase that count as churn; by default from the
            data (``default_horizon``).
        cutoff: the day to score customers on; default the last purchase day. There must be
            more than ``2 * horizon_days`` days of purchases before it (module doc).
        top_drivers: drivers kept per customer.
        model: the hyper-parameters to use, as a ``ChurnModel``; it is cloned, never fitted
            in place. Default ``ChurnModel()``.

    Raises:
        InvalidInput: a ``horizon_days`` that is not a positive whole number or leaves no
            room for the train and test cut-offs, a ``cutoff`` outside the purchases or too
            early, a ``top_drivers`` out of range, one outcome only at a cut-off, or (code
            ``no_transactions``) an empty table.
        ModelFitFailed: the BG/NBD baseline found no maximum-likelihood fit (``clv.py``).
    """
    if horizon_days is None:
        horizon_days = default_horizon(connection)
    train_cutoff, test_cutoff, score_cutoff = _cutoffs(connection, horizon_days, cutoff)
    _check_top(top_drivers, len(FEATURE_NAMES) + 1, field="top_drivers")
    template = model or ChurnModel()
    train, _ = _features(connection, train_cutoff, horizon_days)
    test, test_baseline = _features(connection, test_cutoff, horizon_days)
    scored, scored_baseline = _features(connection, score_cutoff, horizon_days)
    train_churned = churned_after(
        connection, train.customer_ids, cutoff=train_cutoff, horizon_days=horizon_days
    )
    test_churned = churned_after(
        connection, test.customer_ids, cutoff=test_cutoff, horizon_days=horizon_days
    )
    tested = clone(template).fit(train, train_churned)
    model_evaluation = evaluate(test_churned, tested.churn_probability(test))
    baseline_evaluation = evaluate(test_churned, test_baseline)

    final = clone(template).fit(test, test_churned)
    risk = final.churn_probability(scored)
    drivers = final.risk_drivers(scored)
    output.mkdir(parents=True, exist_ok=True)
    summary = ChurnSummary(
        horizon_days=horizon_days,
        train_cutoff=train_cutoff,
        test_cutoff=test_cutoff,
        score_cutoff=score_cutoff,
        train_customers=len(train),
        train_churn_rate=float(train_churned.mean()),
        test_customers=len(test),
        test_churn_rate=float(test_churned.mean()),
        model=model_evaluation,
        baseline=baseline_evaluation,
        beats_baseline=model_evaluation.roc_auc > baseline_evaluation.roc_auc,
        scored_customers=len(scored),
        mean_risk=float(risk.mean()),
        importance=drivers.importance(),
        missing_tables=scored.missing_tables,
        scores_path=output / SCORES_FILE,
        drivers_path=output / DRIVERS_FILE,
        summary_path=output / SUMMARY_FILE,
    )
    _write_scores(summary.scores_path, scored, risk, scored_baseline, horizon_days)
    pq.write_table(drivers.to_arrow(top=top_drivers), summary.drivers_path)
    summary.summary_path.write_text(json.dumps(asdict(summary), default=str, indent=2))
    return summary
