"""The repeat-purchase history that lifetime-value models are fitted on, and their holdout check.

DuckDB reduces the ``transactions`` table to one row per customer (frequency, recency, age
``T``, average spend, holdout purchases); the models in ``clv.py`` only ever see these
aggregated NumPy columns, so the reduction is the part that moves to Spark unchanged.

Purchases are counted by distinct day, as in the buy-till-you-die literature: two
receipts on the same day are one purchase occasion worth their combined amount. With
``time_unit="week"`` a week is exactly 7 days, so on Fader and Hardie's CDNOW sample a
calibration end of 1997-09-30 gives the published ``T`` of 272 / 7 = 38.86 weeks for a
customer who first bought on 1997-01-01.
"""

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, Protocol

import duckdb
import numpy as np
import numpy.typing as npt

from regulars.analytics.transactions import purchase_days
from regulars.clock import calendar_day
from regulars.errors import InvalidInput

TimeUnit = Literal["day", "week"]
DAYS_PER_UNIT: Final[dict[str, int]] = {"day": 1, "week": 7}
FREQUENCY_BUCKETS: Final = 8  # the holdout chart's columns: 0, 1, ..., 6 and "7+"

# One row per customer and purchase day up to the last day of interest, then one
# aggregation per customer: the first day is min(day), and the mean spend of the repeat
# days is the calibration spend less the first day's, over the repeat days.
_SUMMARY_SQL: Final = """
WITH days AS (
    SELECT customer_id, CAST(purchased_at AS DATE) AS day, sum(amount) AS spend
    FROM transactions
    WHERE purchased_at < CAST($last_day AS DATE) + INTERVAL 1 DAY
    GROUP BY customer_id, CAST(purchased_at AS DATE)
)
SELECT
    customer_id,
    count(*) FILTER (WHERE day <= $calibration_end) - 1 AS frequency,
    date_diff('day', min(day), max(day) FILTER (WHERE day <= $calibration_end))
        AS recency_days,
    date_diff('day', min(day), CAST($calibration_end AS DATE)) AS age_days,
    coalesce(
        (sum(spend) FILTER (WHERE day <= $calibration_end) - arg_min(spend, day))
            / nullif(count(*) FILTER (WHERE day <= $calibration_end) - 1, 0),
        0
    ) AS monetary_value,
    count(*) FILTER (WHERE day > $calibration_end) AS holdout_frequency
FROM days
GROUP BY customer_id
HAVING min(day) <= $calibration_end
ORDER BY customer_id
"""


@dataclass(frozen=True, eq=False)
class CalibrationSummary:
    """Per customer repeat-purchase history, as read-only NumPy columns in ``customer_ids`` order.

    Attributes:
        customer_ids: the customers whose first purchase is on or before ``calibration_end``.
        frequency: repeat purchase days in the calibration period (the first day excluded).
        recency: time from the first to the last purchase day of the calibration period,
            0 for customers without a repeat purchase.
        T: the customer's age at ``calibration_end``: time from the first purchase day.
        monetary_value: mean spend per repeat purchase day; 0 when ``frequency`` is 0, so
            the first purchase, often atypical (a welcome offer), never counts.
        holdout_frequency: purchase days after ``calibration_end`` up to the holdout end,
            or None when no holdout was asked for.
        holdout_duration: the holdout's length in ``time_unit``, or None.
        calibration_end: the last day of the calibration period.
        time_unit: the unit of ``recency``, ``T`` and ``holdout_duration``.
    """

    customer_ids: npt.NDArray[np.str_]
    frequency: npt.NDArray[np.int64]
    recency: npt.NDArray[np.float64]
    T: npt.NDArray[np.float64]
    monetary_value: npt.NDArray[np.float64]
    holdout_frequency: npt.NDArray[np.int64] | None
    holdout_duration: float | None
    calibration_end: date
    time_unit: TimeUnit

    def __post_init__(self) -> None:
        for column in (self.customer_ids, self.frequency, self.recency, self.T):
            column.setflags(write=False)
        self.monetary_value.setflags(write=False)
        if self.holdout_frequency is not None:
            self.holdout_frequency.setflags(write=False)

    def __len__(self) -> int:
        return int(self.customer_ids.size)


def calibration_summary(
    connection: duckdb.DuckDBPyConnection,
    *,
    calibration_end: date,
    holdout_end: date | None = None,
    time_unit: TimeUnit = "week",
) -> CalibrationSummary:
    """Reduce the ``transactions`` table to what CLV models are fitted and checked on.

    Args:
        connection: a DuckDB connection holding the ``transactions`` table
            (see ``regulars.analytics``).
        calibration_end: the last day whose purchases the models learn from; customers
            who first bought after it are left out. A datetime counts as its whole day.
        holdout_end: when given, the last day of a holdout period starting the day after
            ``calibration_end``; its purchase days per customer are counted so predictions
            can be compared with what happened. Must not be after the last transaction,
            since a holdout the data does not cover would look like silence.
        time_unit: ``"week"`` (7 days, the unit of the published CDNOW results) or
            ``"day"``; the fitted models' rates and predictions are per this unit.

    Returns:
        One row per customer, ordered by ``customer_id``.

    Raises:
        InvalidInput: unknown ``time_unit``; ``calibration_end`` before the first or after
            the last transaction; ``holdout_end`` not after ``calibration_end`` or after the
            last transaction; (code ``no_transactions``) an empty table.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise InvalidInput(
            f"time_unit must be one of {sorted(DAYS_PER_UNIT)}, not {time_unit!r}",
            field="time_unit",
        )
    days_per_unit = DAYS_PER_UNIT[time_unit]
    end = calendar_day(calibration_end)
    first, last = purchase_days(connection, empty="there is no purchase history to summarise")
    if not first <= end <= last:
        raise InvalidInput(
            f"calibration_end {end.isoformat()} is outside the transactions, which run from "
            f"{first.isoformat()} to {last.isoformat()}",
            field="calibration_end",
        )
    holdout_day = None if holdout_end is None else calendar_day(holdout_end)
    if holdout_day is not None and not end < holdout_day <= last:
        raise InvalidInput(
            f"holdout_end {holdout_day.isoformat()} must be after calibration_end "
            f"{end.isoformat()} and not after the last transaction on {last.isoformat()}",
            field="holdout_end",
        )
    columns = connection.execute(
        _SUMMARY_SQL,
        {"calibration_end": end, "last_day": end if holdout_day is None else holdout_day},
    ).fetchnumpy()
    return CalibrationSummary(
        customer_ids=np.asarray(columns["customer_id"], dtype=np.str_),
        frequency=np.asarray(columns["frequency"], dtype=np.int64),
        recency=np.asarray(columns["recency_days"], dtype=np.float64) / days_per_unit,
        T=np.asarray(columns["age_days"], dtype=np.float64) / days_per_unit,
        monetary_value=np.asarray(columns["monetary_value"], dtype=np.float64),
        holdout_frequency=(
            None
            if holdout_day is None
            else np.asarray(columns["holdout_frequency"], dtype=np.int64)
        ),
        holdout_duration=(
            None if holdout_day is None else (holdout_day - end).days / days_per_unit
        ),
        calibration_end=end,
        time_unit=time_unit,
    )


class TransactionModel(Protocol):
    """What the holdout check and the CLV need from a fitted BG/NBD or Pareto/NBD model."""

    def expected_purchases(
        self,
        t: float | npt.ArrayLike,
        frequency: npt.ArrayLike,
        recency: npt.ArrayLike,
        T: npt.ArrayLike,
    ) -> npt.NDArray[np.float64]: ...

    def expected_purchases_new(self, t: float | npt.ArrayLike) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class HoldoutBucket:
    """Customers with the same calibration frequency, and their holdout purchases.

    ``label`` is the frequency ("0" ... "6") or "7+" for the open last bucket.
    """

    label: str
    customers: int
    actual_mean: float
    predicted_mean: float


@dataclass(frozen=True)
class HoldoutComparison:
    """Predicted against actual repeat purchase days, in the holdout and since acquisition.

    Attributes:
        actual_total: purchase days all customers made in the holdout.
        predicted_total: what the model expected of them, given their calibration history.
        buckets: the same per calibration frequency 0, 1, ..., 7+, the classic
            conditional-expectation chart; empty buckets are kept with NaN means so charts
            of different data line up.
        cumulative_actual: repeat purchase days from each customer's first purchase to the
            holdout end, calibration and holdout together.
        cumulative_predicted: what the model forecasts for that span knowing only when
            each customer was acquired: the end point of the papers' cumulative tracking
            chart, a check of the population parameters rather than of the conditioning.
    """

    actual_total: int
    predicted_total: float
    buckets: tuple[HoldoutBucket, ...]
    cumulative_actual: int
    cumulative_predicted: float

    @property
    def relative_error(self) -> float:
        """(predicted - actual) / actual over the holdout."""
        return (self.predicted_total - self.actual_total) / self.actual_total

    @property
    def cumulative_relative_error(self) -> float:
        """(predicted - actual) / actual from acquisition to the holdout end."""
        return (self.cumulative_predicted - self.cumulative_actual) / self.cumulative_actual


def holdout_comparison(model: TransactionModel, summary: CalibrationSummary) -> HoldoutComparison:
    """Check a fitted transaction model against the holdout period it did not see.

    Args:
        model: a fitted ``BgNbd`` or ``ParetoNbd`` (anything with ``expected_purchases``
            and ``expected_purchases_new``).
        summary: the calibration summary the model was fitted on, built with a
            ``holdout_end``.

    Raises:
        InvalidInput: the summary has no holdout (field ``holdout_end``).
    """
    if summary.holdout_frequency is None or summary.holdout_duration is None:
        raise InvalidInput(
            "the summary has no holdout period: build it with holdout_end", field="holdout_end"
        )
    predicted = model.expected_purchases(
        summary.holdout_duration, summary.frequency, summary.recency, summary.T
    )
    actual = summary.holdout_frequency
    bucket = np.minimum(summary.frequency, FREQUENCY_BUCKETS - 1)
    customers = np.bincount(bucket, minlength=FREQUENCY_BUCKETS)
    actual_sums = np.bincount(bucket, weights=actual, minlength=FREQUENCY_BUCKETS)
    predicted_sums = np.bincount(bucket, weights=predicted, minlength=FREQUENCY_BUCKETS)
    with np.errstate(divide="ignore", invalid="ignore"):
        actual_means, predicted_means = actual_sums / customers, predicted_sums / customers
    buckets = tuple(
        HoldoutBucket(
            label=f"{index}+" if index == FREQUENCY_BUCKETS - 1 else str(index),
            customers=int(customers[index]),
            actual_mean=float(actual_means[index]),
            predicted_mean=float(predicted_means[index]),
        )
        for index in range(FREQUENCY_BUCKETS)
    )
    since_acquisition = model.expected_purchases_new(summary.T + summary.holdout_duration)
    return HoldoutComparison(
        actual_total=int(actual.sum()),
        predicted_total=float(predicted.sum()),
        buckets=buckets,
        cumulative_actual=int(summary.frequency.sum() + actual.sum()),
        cumulative_predicted=float(since_acquisition.sum()),
    )
