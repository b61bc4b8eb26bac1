"""RFM segmentation over the ``transactions`` table: who buys lately, often and a lot.

DuckDB reduces the purchases to one row per customer (the part that would move to Spark
unchanged); the scores and segments come from the pure rules in ``rfm_rules.py``.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from regulars.analytics.rfm_rules import Segment, check_quantiles, quantile_scores, segments
from regulars.analytics.transactions import purchase_days
from regulars.clock import calendar_day
from regulars.errors import InvalidInput

NOT_YET_A_CUSTOMER: Final = "Not yet a customer"

# Frequency counts visits: distinct receipts, and for rows without a receipt (sources that
# only know the day) distinct purchase days. The two counts never collide. Money is summed
# in exact decimals (to 1/10,000 of the currency), so 0.10 + 0.20 is the 0.30 on a receipt
# and two customers who spent the same get the same score.
_RFM_SQL: Final = """
SELECT
    customer_id,
    date_diff('day', CAST(max(purchased_at) AS DATE), CAST($as_of AS DATE)) AS recency_days,
    count(DISTINCT receipt_id)
        + count(DISTINCT CASE WHEN receipt_id IS NULL THEN CAST(purchased_at AS DATE) END)
        AS frequency,
    CAST(sum(CAST(amount AS DECIMAL(38, 4))) AS DOUBLE) AS monetary
FROM transactions
WHERE purchased_at < CAST($as_of AS DATE) + INTERVAL 1 DAY
GROUP BY customer_id
ORDER BY customer_id
"""


@dataclass(frozen=True, eq=False)
class RfmTable:
    """One row per customer who bought on or before ``as_of``, as read-only NumPy columns.

    Columns rather than row objects because every consumer (summary, Parquet, charts,
    write-back) works column-wise, and 10^6 customers stay cheap.
    """

    as_of: date
    quantiles: int
    customer_id: npt.NDArray[np.str_]
    recency_days: npt.NDArray[np.int64]
    frequency: npt.NDArray[np.int64]
    monetary: npt.NDArray[np.float64]
    r: npt.NDArray[np.int64]
    f: npt.NDArray[np.int64]
    m: npt.NDArray[np.int64]
    segment: npt.NDArray[np.str_]

    def __post_init__(self) -> None:
        for column in self._columns().values():
            column.setflags(write=False)

    def __len__(self) -> int:
        return int(self.customer_id.size)

    def _columns(self) -> dict[str, np.ndarray]:
        return {
            "customer_id": self.customer_id,
            "recency_days": self.recency_days,
            "frequency": self.frequency,
            "monetary": self.monetary,
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "segment": self.segment,
        }

    def to_arrow(self) -> pa.Table:
        """The table for Parquet and DuckDB; ``as_of`` and ``quantiles`` travel as metadata."""
        table = pa.table({name: pa.array(column) for name, column in self._columns().items()})
        return table.replace_schema_metadata(
            {"as_of": self.as_of.isoformat(), "quantiles": str(self.quantiles)}
        )

    def write_parquet(self, path: Path) -> None:
        """Write the scores where analysts and the warehouse expect them: a Parquet file."""
        pq.write_table(self.to_arrow(), path)


@dataclass(frozen=True)
class SegmentSummary:
    """One segment's size and worth, the row of the segment report."""

    segment: Segment
    customers: int
    customer_share: float
    revenue: float
    revenue_share: float
    mean_recency_days: float
    mean_frequency: float
    mean_monetary: float


@dataclass(frozen=True, eq=False)
class SegmentMigration:
    """How many customers moved from each segment at ``start`` to each segment at ``end``.

    ``counts[i, j]`` is the number of customers in ``from_labels[i]`` at ``start`` and in
    ``to_labels[j]`` at ``end``. The last row, ``NOT_YET_A_CUSTOMER``, holds those whose
    first purchase came after ``start``. Every segment has a row and a column, empty or not,
    so matrices of different periods line up.
    """

    start: date
    end: date
    from_labels: tuple[str, ...]
    to_labels: tuple[str, ...]
    counts: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        self.counts.setflags(write=False)


def _positions(values: npt.NDArray[np.str_], labels: npt.NDArray[np.str_]) -> npt.NDArray[np.intp]:
    """Where each of ``values`` sits in ``labels`` (all present), without a Python loop."""
    order = np.argsort(labels)
    found: npt.NDArray[np.intp] = order[np.searchsorted(labels, values, sorter=order)]
    return found


def _check_after_first_purchase(
    connection: duckdb.DuckDBPyConnection, day: date, *, field: str
) -> None:
    """Refuse an empty ``transactions`` table or a day before anyone had bought anything."""
    first, _ = purchase_days(connection, empty="there is nobody to segment")
    if day < first:
        raise InvalidInput(
            f"{field} {day.isoformat()} is before the first transaction on {first.isoformat()}",
            field=field,
        )


def _score(connection: duckdb.DuckDBPyConnection, day: date, quantiles: int) -> RfmTable:
    columns = connection.execute(_RFM_SQL, {"as_of": day}).fetchnumpy()
    recency = np.asarray(columns["recency_days"], dtype=np.int64)
    frequency = np.asarray(columns["frequency"], dtype=np.int64)
    monetary = np.asarray(columns["monetary"], dtype=np.float64)
    r = quantile_scores(recency, quantiles=quantiles, higher_is_better=False)
    f = quantile_scores(frequency, quantiles=quantiles)
    m = quantile_scores(monetary, quantiles=quantiles)
    return RfmTable(
        as_of=day,
        quantiles=quantiles,
        customer_id=np.asarray(columns["customer_id"], dtype=np.str_),
        recency_days=recency,
        frequency=frequency,
        monetary=monetary,
        r=r,
        f=f,
        m=m,
        segment=segments(r, f, m, quantiles=quantiles),
    )


def rfm_table(
    connection: duckdb.DuckDBPyConnection, *, as_of: date, quantiles: int = 5
) -> RfmTable:
    """Score every customer who bought on or before ``as_of`` and name their segment.

    Args:
        connection: a DuckDB connection holding the ``transactions`` table
            (see ``regulars.analytics``).
        as_of: the day the analysis looks back from; its purchases count, later ones do
            not, so re-running for a past day reproduces that day's picture.
        quantiles: score levels per dimension, 2..10; segments are read on the 5-point grid
            (see ``rfm_rules.to_grid_scale``).

    Returns:
        Per customer, ordered by ``customer_id``: recency in days since the last purchase
        day, frequency in visits (distinct receipts, or distinct days where receipts are
        unknown), monetary as total amount, the R, F and M scores and the segment.

    Raises:
        InvalidInput: ``quantiles`` out of range, ``as_of`` before the first transaction,
            or (code ``no_transactions``) an empty table.
    """
    check_quantiles(quantiles)
    day = calendar_day(as_of)
    _check_after_first_purchase(connection, day, field="as_of")
    return _score(connection, day, quantiles)


def segment_summary(table: RfmTable) -> list[SegmentSummary]:
    """Size, revenue and typical behaviour of each segment present, in ``Segment`` order.

    Segments nobody falls into are left out: their means would be undefined, and a report
    shows "no customers" better by omission than with NaNs.
    """
    total_customers = len(table)
    total_revenue = float(table.monetary.sum())
    rows = []
    for segment in Segment:
        members = table.segment == segment.value
        count = int(members.sum())
        if count == 0:
            continue
        revenue = float(table.monetary[members].sum())
        rows.append(
            SegmentSummary(
                segment=segment,
                customers=count,
                customer_share=count / total_customers,
                revenue=revenue,
                revenue_share=revenue / total_revenue if total_revenue else 0.0,
                mean_recency_days=float(table.recency_days[members].mean()),
                mean_frequency=float(table.frequency[members].mean()),
                mean_monetary=float(table.monetary[members].mean()),
            )
        )
    return rows


def segment_migration(
    connection: duckdb.DuckDBPyConnection, *, start: date, end: date, quantiles: int = 5
) -> SegmentMigration:
    """Count the moves between segments from ``start`` to ``end`` (the segment flow chart).

    Each date is scored on its own, against the customers known on that day, so the matrix
    shows how customers moved relative to their peers, which is what a CRM team acts on.

    Args:
        connection: a DuckDB connection holding the ``transactions`` table.
        start: the earlier day; must not be before the first transaction.
        end: the later day; must be after ``start``.
        quantiles: score levels per dimension, as in ``rfm_table``.

    Raises:
        InvalidInput: ``end`` not after ``start``, ``start`` before the first transaction,
            ``quantiles`` out of range, or (code ``no_transactions``) an empty table.
    """
    check_quantiles(quantiles)
    start_day, end_day = calendar_day(start), calendar_day(end)
    if end_day <= start_day:
        raise InvalidInput(
            f"end {end_day.isoformat()} must be after start {start_day.isoformat()}", field="end"
        )
    _check_after_first_purchase(connection, start_day, field="start")
    before = _score(connection, start_day, quantiles)
    after = _score(connection, end_day, quantiles)

    to_labels = tuple(segment.value for segment in Segment)
    from_labels = (*to_labels, NOT_YET_A_CUSTOMER)
    # Everyone scored at start has bought by end, so each start customer is found at end.
    rows = np.full(len(after), len(from_labels) - 1, dtype=np.int64)
    rows[_positions(before.customer_id, after.customer_id)] = _positions(
        before.segment, np.array(from_labels)
    )
    counts = np.zeros((len(from_labels), len(to_labels)), dtype=np.int64)
    np.add.at(counts, (rows, _positions(after.segment, np.array(to_labels))), 1)
    return SegmentMigration(
        start=start_day, end=end_day, from_labels=from_labels, to_labels=to_labels, counts=counts
    )
