"""Retention by cohort: of the members who started in a month, how many still buy later on.

A cohort is the month a customer started: the month they joined the program when the
warehouse's ``members`` table is there, or the month of their first purchase when only the
``transactions`` table is (an analyst's POS export). Month ``k`` of a cohort is the ``k``-th
calendar month after that month; a customer is active in it with at least one purchase.

DuckDB reduces the purchases to (cohort, month, active customers), a few hundred rows even
for a large chain; NumPy lays them out as the matrix the retention triangle is drawn from.

Months are calendar months of the shop's local time, as ``transactions.purchased_at`` is;
the join month of a member is read in the time zone of the store they joined at (UTC when
the warehouse does not know it).
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from regulars.analytics.transactions import purchase_days, relations
from regulars.errors import InvalidInput

Basis = Literal["join", "first_purchase"]

_ACTIVITY: Final = """
activity AS (
    SELECT DISTINCT customer_id, CAST(date_trunc('month', purchased_at) AS DATE) AS month
    FROM transactions WHERE purchased_at < $until
)"""
_BY_FIRST_PURCHASE: Final = """
cohort AS (SELECT customer_id, min(month) AS cohort FROM activity GROUP BY customer_id)"""
# Merged duplicates are left out: their purchases belong to the member they were merged into.
_BY_JOIN: Final = """
cohort AS (
    SELECT CAST(m.member_id AS VARCHAR) AS customer_id,
           CAST(date_trunc('month', {local}) AS DATE) AS cohort
    FROM members m {stores}
    WHERE m.merged_into_id IS NULL AND {local} < $until
)"""


@dataclass(frozen=True, eq=False)
class Retention:
    """The retention matrix: ``share[i, k]`` of cohort ``i`` bought in its month ``k``.

    Rows are the cohorts in calendar order, columns the months since the cohort's month,
    as many as the oldest cohort has been observed. Cells a younger cohort has not lived to
    see yet hold NaN in ``share`` and 0 in ``active``; ``observed`` tells the two zeros apart.
    """

    basis: Basis
    cohorts: tuple[date, ...]  # the first day of each cohort's month
    sizes: npt.NDArray[np.int64]  # customers per cohort
    active: npt.NDArray[np.int64]  # customers of cohort i with a purchase in its month k
    share: npt.NDArray[np.float64]  # active / sizes, NaN where not observed

    def __post_init__(self) -> None:
        for array in (self.sizes, self.active, self.share):
            array.setflags(write=False)

    @property
    def labels(self) -> tuple[str, ...]:
        """Cohort names as people write months: ``2026-03``."""
        return tuple(f"{month:%Y-%m}" for month in self.cohorts)

    @property
    def observed(self) -> npt.NDArray[np.bool_]:
        """Which cells lie within the data (a finished or the running month)."""
        return ~np.isnan(self.share)

    def to_arrow(self) -> pa.Table:
        """One row per observed cell (long format), which is how charts and SQL want it."""
        rows, ages = np.nonzero(self.observed)
        table = pa.table(
            {
                "cohort": pa.array([self.labels[i] for i in rows], pa.string()),
                "month": pa.array(ages, pa.int32()),
                "size": pa.array(self.sizes[rows], pa.int64()),
                "active": pa.array(self.active[rows, ages], pa.int64()),
                "share": pa.array(self.share[rows, ages], pa.float64()),
            }
        )
        return table.replace_schema_metadata({"basis": self.basis})

    def write_parquet(self, path: Path) -> None:
        """Write the cells where the warehouse and notebooks read them: a Parquet file."""
        pq.write_table(self.to_arrow(), path)

    def to_dict(self) -> dict[str, Any]:
        """The matrix as plain JSON values; unobserved cells become ``null``."""
        return {
            "basis": self.basis,
            "cohorts": list(self.labels),
            "sizes": self.sizes.tolist(),
            "active": self.active.tolist(),
            "share": [
                [None if np.isnan(cell) else float(cell) for cell in row] for row in self.share
            ],
        }

    def write_json(self, path: Path) -> None:
        """Write the matrix for the dashboard and reports."""
        path.write_text(json.dumps(self.to_dict(), indent=2))


def _month_number(month: date) -> int:
    return month.year * 12 + month.month - 1


def _span(connection: duckdb.DuckDBPyConnection, until: date | None) -> tuple[date, datetime]:
    """The first purchase month and the (exclusive) end of the data the matrix may use."""
    first, last = purchase_days(connection, empty="there are no cohorts")
    if until is not None and until <= first:
        raise InvalidInput(
            f"until {until.isoformat()} is not after the first purchase on {first.isoformat()}",
            field="until",
        )
    end = until if until is not None else last + timedelta(days=1)
    return first.replace(day=1), datetime.combine(end, time())


def _cohort_sql(connection: duckdb.DuckDBPyConnection, basis: Basis) -> str:
    if basis == "first_purchase":
        return _BY_FIRST_PURCHASE
    if "stores" in relations(connection):
        stores = "LEFT JOIN stores s ON s.store_id = m.join_store_id"
        local = "timezone(coalesce(s.timezone, 'UTC'), m.joined_at)"
    else:
        stores, local = "", "timezone('UTC', m.joined_at)"
    return _BY_JOIN.format(stores=stores, local=local)


def retention(
    connection: duckdb.DuckDBPyConnection,
    *,
    basis: Basis | None = None,
    until: date | None = None,
) -> Retention:
    """Count, for every cohort, the customers active in each month after it started.

    Args:
        connection: a DuckDB connection with the ``transactions`` table (see
            ``regulars.analytics``) and, for join cohorts, the warehouse's ``members``.
        basis: ``"join"`` groups members by the month they joined, counting those who
            never bought; ``"first_purchase"`` groups customers by their first purchase
            month, so month 0 is 1.0 by construction. ``None`` takes ``"join"`` when a
            ``members`` table is there and ``"first_purchase"`` otherwise.
        until: the day the data ends (exclusive), to reproduce a past picture; ``None``
            uses every purchase. The last month is counted even if it is not over yet, so
            its shares run low until it is.

    Returns:
        The matrix, its cohorts and their sizes. Join cohorts older than the first
        purchase month are left out: their early months lie before the sales history and
        would read as nobody buying. So are purchases made before a member's join month
        (history imported from before the card, or a merged account's older purchases).

    Raises:
        InvalidInput: ``"join"`` without a ``members`` table, ``until`` not after the first
            purchase, or (code ``no_transactions``) an empty ``transactions`` table.
    """
    present = relations(connection)
    if "transactions" not in present:
        raise InvalidInput(
            "there is no transactions table to build cohorts from",
            code="no_transactions",
            field="transactions",
        )
    chosen: Basis = basis or ("join" if "members" in present else "first_purchase")
    if chosen == "join" and "members" not in present:
        raise InvalidInput(
            "join cohorts need the warehouse's members table; use first_purchase", field="basis"
        )
    first_month, end = _span(connection, until)
    ctes = f"WITH {_ACTIVITY}, {_cohort_sql(connection, chosen)}"
    params = {"until": end, "first": first_month}
    sizes = connection.execute(
        f"""{ctes} SELECT cohort, count(*) FROM cohort WHERE cohort >= $first
            GROUP BY cohort ORDER BY cohort""",
        params,
    ).fetchall()
    cells = connection.execute(
        f"""{ctes} SELECT c.cohort, datediff('month', c.cohort, a.month), count(*)
            FROM cohort c JOIN activity a USING (customer_id)
            WHERE c.cohort >= $first AND a.month >= c.cohort
            GROUP BY ALL""",
        params,
    ).fetchall()
    return _matrix(chosen, sizes, cells, _month_number((end - timedelta(days=1)).date()))


def _matrix(
    basis: Basis,
    sizes: list[tuple[date, int]],
    cells: list[tuple[date, int, int]],
    last_month: int,
) -> Retention:
    """Lay the (cohort, month, active) rows out as the matrix, NaN beyond the data."""
    cohorts = tuple(month for month, _ in sizes)
    starts = np.array([_month_number(month) for month in cohorts], dtype=np.int64)
    size = np.array([count for _, count in sizes], dtype=np.int64)
    width = last_month - int(starts.min()) + 1 if cohorts else 0
    active = np.zeros((len(cohorts), width), dtype=np.int64)
    row_of = {month: row for row, month in enumerate(cohorts)}
    for month, age, count in cells:
        active[row_of[month], age] = count
    observed = np.arange(width)[np.newaxis, :] <= (last_month - starts)[:, np.newaxis]
    share = np.full(active.shape, np.nan)
    np.divide(active, size[:, np.newaxis], out=share, where=observed)
    return Retention(basis=basis, cohorts=cohorts, sizes=size, active=active, share=share)
