"""What a churn model knows about each customer on a cut-off day, who churned after it, and
how well a risk score foretold that.

The features are one DuckDB query over the ``transactions`` table (the part that would move
to Spark unchanged) plus, when the warehouse has them, the member tables. Everything is read
as of the end of the cut-off day: purchases, points and tier changes after it never reach a
feature, so a model trained on a past cut-off sees only what it would have seen that day.

Feature by feature (``age`` of a purchase is the cut-off day minus its day, 0 on the day):

=====================  ==============================================================
recency_days           days since the last purchase day
frequency              visits: distinct receipts, or purchase days where receipts are
                       unknown (as in ``rfm.py``)
monetary               total spend
visits_30d, _90d       visits with age < 30 and < 90
visits_prior_90d       visits with 90 <= age < 180, the quarter before
spend_30d, _90d,       the same for spend
spend_prior_90d
visit_trend            (visits_90d - visits_prior_90d) / their sum: -1 stopped, 0 steady,
                       +1 new; 0 when both are 0. Bounded, so one big month cannot
                       dominate the way a ratio would
spend_trend            the same for spend
distinct_skus          products ever bought (needs ``sku``)
distinct_categories    categories ever bought (needs ``sku`` and the ``products`` table)
promotion_share        share of receipt lines with a discount (``lines``, ``receipts``,
                       ``stores`` and ``customers``)
points_balance         sum of ledger entries up to the cut-off (``ledger``)
points_expiring_60d    what was left at the cut-off on lots expiring within 60 days
                       (``ledger`` and ``point_lots``)
downgraded_180d        1 after a tier review lowered the member in the last 180 days
                       (``tier_changes`` and ``customers``)
tenure_days            days since joining (``customers``), or since the first purchase
                       when that is earlier or membership is unknown
=====================  ==============================================================

Fallbacks: a feature whose tables are missing is 0 for everyone (the demo warehouse has no
ledger, lots or tier changes; a plain ``transactions`` file has no member tables at all), so
the model simply learns nothing from it. Points and tier changes are stored in UTC and are
compared with the end of the cut-off day in the connection's time zone (UTC for the
warehouse), which may differ from the shops' local day by a few hours.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from regulars.analytics.transactions import relations
from regulars.errors import InvalidInput

FEATURE_NAMES: Final = (
    "recency_days",
    "frequency",
    "monetary",
    "visits_30d",
    "visits_90d",
    "visits_prior_90d",
    "spend_30d",
    "spend_90d",
    "spend_prior_90d",
    "visit_trend",
    "spend_trend",
    "distinct_skus",
    "distinct_categories",
    "promotion_share",
    "points_balance",
    "points_expiring_60d",
    "downgraded_180d",
    "tenure_days",
)
EXPIRY_WINDOW_DAYS: Final = 60
DOWNGRADE_WINDOW_DAYS: Final = 180
DOWNGRADE_REASON: Final = "review: lowered"  # written by tiers.service.review_tiers
DECILES: Final = 10

# Each optional part: the tables it needs, its query when they are there, and an empty
# stand-in of the same shape when they are not. $end is the first moment after the cut-off.
_PARTS: Final[dict[str, tuple[tuple[str, ...], str, str]]] = {
    "categories": (
        ("products",),
        """SELECT h.customer_id, count(DISTINCT p.category_code) AS distinct_categories
           FROM history h JOIN products p ON p.sku = h.sku GROUP BY h.customer_id""",
        "SELECT NULL::VARCHAR AS customer_id, 0 AS distinct_categories LIMIT 0",
    ),
    "promotions": (
        ("lines", "receipts", "stores", "customers"),
        """SELECT CAST(c.customer_id AS VARCHAR) AS customer_id,
                  avg(CASE WHEN l.discount > 0 THEN 1.0 ELSE 0.0 END) AS promotion_share
           FROM lines l JOIN receipts r USING (receipt_id) JOIN stores s USING (store_id)
           JOIN customers c ON c.member_id = r.member_id
           WHERE CAST(timezone(s.timezone, r.sold_at) AS TIMESTAMP) < $end
           GROUP BY 1""",
        "SELECT NULL::VARCHAR AS customer_id, 0.0 AS promotion_share LIMIT 0",
    ),
    "balances": (
        ("ledger", "customers"),
        """SELECT CAST(c.customer_id AS VARCHAR) AS customer_id, sum(e.points) AS points_balance
           FROM ledger e JOIN customers c ON c.member_id = e.member_id
           WHERE CAST(e.created_at AS TIMESTAMP) < $end GROUP BY 1""",
        "SELECT NULL::VARCHAR AS customer_id, 0 AS points_balance LIMIT 0",
    ),
    # A lot's points at the cut-off are the sum of its entries up to then (points/models.py);
    # the snapshot's ``remaining`` is today's value and would leak later spending.
    "expiring": (
        ("ledger", "point_lots", "customers"),
        f"""SELECT customer_id, sum(greatest(left_on_lot, 0)) AS points_expiring_60d
            FROM (
                SELECT CAST(c.customer_id AS VARCHAR) AS customer_id, e.lot_id,
                       sum(e.points) AS left_on_lot
                FROM ledger e JOIN point_lots p ON p.lot_id = e.lot_id
                JOIN customers c ON c.member_id = e.member_id
                WHERE CAST(e.created_at AS TIMESTAMP) < $end
                  AND CAST(p.expires_at AS TIMESTAMP) >= $end
                  AND CAST(p.expires_at AS TIMESTAMP)
                      < $end + INTERVAL {EXPIRY_WINDOW_DAYS} DAY
                GROUP BY 1, 2
            ) GROUP BY 1""",
        "SELECT NULL::VARCHAR AS customer_id, 0 AS points_expiring_60d LIMIT 0",
    ),
    "downgrades": (
        ("tier_changes", "customers"),
        f"""SELECT CAST(c.customer_id AS VARCHAR) AS customer_id, 1 AS downgraded_180d
            FROM tier_changes t JOIN customers c ON c.member_id = t.member_id
            WHERE t.reason = '{DOWNGRADE_REASON}'
              AND CAST(t.changed_at AS TIMESTAMP) < $end
              AND CAST(t.changed_at AS TIMESTAMP)
                  >= $end - INTERVAL {DOWNGRADE_WINDOW_DAYS} DAY
            GROUP BY 1""",
        "SELECT NULL::VARCHAR AS customer_id, 0 AS downgraded_180d LIMIT 0",
    ),
    "memberships": (
        ("customers",),
        """SELECT CAST(customer_id AS VARCHAR) AS customer_id,
                  date_diff('day', CAST(min(joined_at) AS DATE), $cutoff) AS member_days
           FROM customers GROUP BY 1""",
        "SELECT NULL::VARCHAR AS customer_id, 0 AS member_days LIMIT 0",
    ),
}

# A visit is a receipt, or a purchase day for rows without one; its age is its day's.
_FEATURES_SQL: Final = """
WITH history AS (
    SELECT customer_id, receipt_id, sku, amount, CAST(purchased_at AS DATE) AS day,
           date_diff('day', CAST(purchased_at AS DATE), $cutoff) AS age
    FROM transactions WHERE purchased_at < $end
),
visits AS (
    SELECT customer_id, min(age) AS age, sum(amount) AS spend
    FROM history
    GROUP BY customer_id, receipt_id, CASE WHEN receipt_id IS NULL THEN day END
),
behaviour AS (
    SELECT customer_id,
           min(age) AS recency_days,
           max(age) AS first_purchase_days,
           count(*) AS frequency,
           sum(spend) AS monetary,
           count(*) FILTER (WHERE age < 30) AS visits_30d,
           count(*) FILTER (WHERE age < 90) AS visits_90d,
           count(*) FILTER (WHERE age >= 90 AND age < 180) AS visits_prior_90d,
           coalesce(sum(spend) FILTER (WHERE age < 30), 0) AS spend_30d,
           coalesce(sum(spend) FILTER (WHERE age < 90), 0) AS spend_90d,
           coalesce(sum(spend) FILTER (WHERE age >= 90 AND age < 180), 0) AS spend_prior_90d
    FROM visits GROUP BY customer_id
),
products_bought AS (
    SELECT customer_id, count(DISTINCT sku) AS distinct_skus FROM history GROUP BY customer_id
),
{parts}
SELECT
    b.customer_id, b.recency_days, b.frequency, b.monetary,
    b.visits_30d, b.visits_90d, b.visits_prior_90d,
    b.spend_30d, b.spend_90d, b.spend_prior_90d,
    CASE WHEN b.visits_90d + b.visits_prior_90d > 0
         THEN (b.visits_90d - b.visits_prior_90d) / (b.visits_90d + b.visits_prior_90d)
         ELSE 0 END AS visit_trend,
    CASE WHEN b.spend_90d + b.spend_prior_90d > 0
         THEN (b.spend_90d - b.spend_prior_90d) / (b.spend_90d + b.spend_prior_90d)
         ELSE 0 END AS spend_trend,
    pb.distinct_skus,
    coalesce(categories.distinct_categories, 0) AS distinct_categories,
    coalesce(promotions.promotion_share, 0) AS promotion_share,
    coalesce(balances.points_balance, 0) AS points_balance,
    coalesce(expiring.points_expiring_60d, 0) AS points_expiring_60d,
    coalesce(downgrades.downgraded_180d, 0) AS downgraded_180d,
    greatest(b.first_purchase_days, coalesce(memberships.member_days, 0)) AS tenure_days
FROM behaviour b
JOIN products_bought pb USING (customer_id)
LEFT JOIN categories USING (customer_id)
LEFT JOIN promotions USING (customer_id)
LEFT JOIN balances USING (customer_id)
LEFT JOIN expiring USING (customer_id)
LEFT JOIN downgrades USING (customer_id)
LEFT JOIN memberships USING (customer_id)
ORDER BY b.customer_id
"""

_RETURNING_SQL: Final = """
SELECT DISTINCT customer_id FROM transactions
WHERE purchased_at >= $start AND purchased_at < $start + to_days(CAST($horizon AS INTEGER))
"""


@dataclass(frozen=True, eq=False)
class ChurnFeatures:
    """One row per customer who bought on or before ``cutoff``, ordered by ``customer_ids``.

    ``values[:, j]`` is the feature ``names[j]``; a matrix rather than named columns because
    the model and its drivers work on all features at once.
    """

    cutoff: date
    customer_ids: npt.NDArray[np.str_]
    names: tuple[str, ...]
    values: npt.NDArray[np.float64]
    missing_tables: tuple[str, ...]  # optional tables absent, so their features are 0

    def __post_init__(self) -> None:
        self.customer_ids.setflags(write=False)
        self.values.setflags(write=False)

    def __len__(self) -> int:
        return int(self.customer_ids.size)

    def column(self, name: str) -> npt.NDArray[np.float64]:
        """One feature for every customer, by name."""
        return self.values[:, self.names.index(name)]

    def with_column(self, name: str, column: npt.NDArray[np.float64]) -> "ChurnFeatures":
        """These features and one more, in the same customer order."""
        return replace(
            self, names=(*self.names, name), values=np.column_stack([self.values, column])
        )


def churn_features(connection: duckdb.DuckDBPyConnection, *, cutoff: date) -> ChurnFeatures:
    """The feature matrix of every customer as of the end of ``cutoff``.

    Args:
        connection: a DuckDB connection with the ``transactions`` table and, optionally, the
            warehouse's member tables (see the module docstring for which feature needs
            which).
        cutoff: the last day whose data the features may use; callers check it lies within
            the transactions (``churn.py`` does).

    Returns:
        Customers with at least one purchase on or before ``cutoff``; members who never
        bought have no behaviour to learn from and are left out.
    """
    present = relations(connection)
    parts = []
    missing: set[str] = set()
    for name, (needs, query, empty) in _PARTS.items():
        absent = [table for table in needs if table not in present]
        missing.update(absent)
        parts.append(f"{name} AS ({empty if absent else query})")
    columns = connection.execute(
        _FEATURES_SQL.format(parts=",\n".join(parts)),
        {"cutoff": cutoff, "end": cutoff + timedelta(days=1)},
    ).fetchnumpy()
    values = np.column_stack(
        [np.asarray(columns[name], dtype=np.float64) for name in FEATURE_NAMES]
    ).reshape(-1, len(FEATURE_NAMES))
    return ChurnFeatures(
        cutoff=cutoff,
        customer_ids=np.asarray(columns["customer_id"], dtype=np.str_),
        names=FEATURE_NAMES,
        values=values,
        missing_tables=tuple(sorted(missing)),
    )


def churned_after(
    connection: duckdb.DuckDBPyConnection,
    customer_ids: npt.NDArray[np.str_],
    *,
    cutoff: date,
    horizon_days: int,
) -> npt.NDArray[np.bool_]:
    """Whether each customer made no purchase in the ``horizon_days`` days after ``cutoff``.

    The window starts the day after the cut-off, so the day the features end on never
    counts as a return; callers make sure the data covers the whole window, since a window
    the data does not reach would look like everyone left.
    """
    returning = connection.execute(
        _RETURNING_SQL, {"start": cutoff + timedelta(days=1), "horizon": horizon_days}
    ).fetchnumpy()["customer_id"]
    return ~np.isin(customer_ids, np.asarray(returning, dtype=np.str_))


@dataclass(frozen=True)
class CalibrationBin:
    """One tenth of the customers, by predicted risk: what was predicted, what happened."""

    decile: int  # 1 = lowest predicted risk
    customers: int
    mean_predicted: float
    observed_churn: float


@dataclass(frozen=True)
class Evaluation:
    """How well a risk score separates and calibrates churners on the test cut-off."""

    roc_auc: float
    pr_auc: float  # average precision, with churn as the positive class
    brier: float
    calibration: tuple[CalibrationBin, ...]


def evaluate(churned: npt.ArrayLike, risk: npt.ArrayLike) -> Evaluation:
    """Score a risk against outcomes; deciles are equal-sized groups by rank of risk.

    Raises:
        InvalidInput: not one risk per outcome (field ``risk``); only one outcome among the
            customers (field ``horizon_days``), where ROC-AUC has no meaning.
    """
    labels = np.asarray(churned, dtype=bool)
    scores = np.asarray(risk, dtype=np.float64)
    if scores.shape != labels.shape or labels.ndim != 1:
        raise InvalidInput(
            f"risk has shape {scores.shape}, churned {labels.shape}: one of each per customer",
            field="risk",
        )
    if labels.all() or not labels.any():
        raise InvalidInput(
            "every test customer had the same outcome: the test cut-off tells nothing apart",
            field="horizon_days",
        )
    groups = np.array_split(np.argsort(scores, kind="stable"), DECILES)
    calibration = tuple(
        CalibrationBin(
            decile=number,
            customers=int(group.size),
            mean_predicted=float(scores[group].mean()),
            observed_churn=float(labels[group].mean()),
        )
        for number, group in enumerate(groups, start=1)
        if group.size
    )
    return Evaluation(
        roc_auc=float(roc_auc_score(labels, scores)),
        pr_auc=float(average_precision_score(labels, scores)),
        brier=float(brier_score_loss(labels, scores)),
        calibration=calibration,
    )
