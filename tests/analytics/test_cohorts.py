"""Cohort retention: hand-worked matrices on tiny tables, then sanity on the demo chain."""

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from regulars.analytics.cohorts import retention
from regulars.analytics.warehouse import open_warehouse
from regulars.errors import InvalidInput
from tests.analytics.conftest import DemoWarehouse
from tests.analytics.factories import make_transactions

NAN = np.nan


def purchases(rows: list[tuple[str, datetime]]) -> duckdb.DuckDBPyConnection:
    """A connection whose ``transactions`` table holds one line per (customer, moment)."""
    return make_transactions([(customer, moment, 1.0) for customer, moment in rows])


# First-purchase cohorts; the data ends in April 2024, so January is seen for 4 months.
SHOP = [
    # a: January cohort; twice in January (one active month), again in March (month 2).
    ("a", datetime(2024, 1, 5, 10)),
    ("a", datetime(2024, 1, 20, 10)),
    ("a", datetime(2024, 3, 2, 10)),
    # b: January cohort, half an hour before February; back on 1 February (month 1).
    ("b", datetime(2024, 1, 31, 23, 30)),
    ("b", datetime(2024, 2, 1, 9)),
    # c: February cohort, back at midnight on 1 April (month 2).
    ("c", datetime(2024, 2, 10, 12)),
    ("c", datetime(2024, 4, 1, 0)),
    # d: March cohort, never back.
    ("d", datetime(2024, 3, 15, 12)),
]


def test_first_purchase_cohorts_count_each_customer_once_per_month() -> None:
    table = retention(purchases(SHOP))
    assert table.basis == "first_purchase"
    assert table.labels == ("2024-01", "2024-02", "2024-03")
    assert table.sizes.tolist() == [2, 1, 1]
    # January: both in month 0, b in February, a in March, nobody in April.
    # February: c in month 0 and in April (month 2), nobody in March; April is its last seen.
    # March: d in month 0 only; two months of March's cohort lie beyond the data.
    assert table.active.tolist() == [[2, 1, 1, 0], [1, 0, 1, 0], [1, 0, 0, 0]]
    np.testing.assert_array_equal(
        table.share, [[1.0, 0.5, 0.5, 0.0], [1.0, 0.0, 1.0, NAN], [1.0, 0.0, NAN, NAN]]
    )


def test_until_cuts_the_data_as_it_was_that_day() -> None:
    table = retention(purchases(SHOP), until=date(2024, 4, 1))  # c's April visit is later
    assert table.labels == ("2024-01", "2024-02", "2024-03")
    np.testing.assert_array_equal(table.share, [[1.0, 0.5, 0.5], [1.0, 0.0, NAN], [1.0, NAN, NAN]])


def join_shop() -> duckdb.DuckDBPyConnection:
    """Members who joined at stores in Shanghai or somewhere unknown, and their purchases."""
    connection = purchases(
        [
            ("1", datetime(2024, 2, 3, 12)),
            ("1", datetime(2024, 3, 10, 12)),
            ("2", datetime(2023, 12, 20, 12)),  # before joining: not counted
            ("2", datetime(2024, 3, 2, 12)),
            ("6", datetime(2024, 3, 25, 12)),
        ]
    )
    connection.execute("CREATE TABLE stores (store_id BIGINT, timezone VARCHAR)")
    connection.execute("INSERT INTO stores VALUES (1, 'Asia/Shanghai')")
    connection.execute(
        "CREATE TABLE members (member_id BIGINT, merged_into_id BIGINT,"
        " joined_at TIMESTAMPTZ, join_store_id BIGINT)"
    )
    connection.execute(
        """INSERT INTO members VALUES
        (1, NULL, '2024-01-31 17:00:00+00', 1),  -- 1 February, 01:00 in Shanghai
        (2, NULL, '2024-01-10 09:00:00+00', 1),
        (3, NULL, '2024-02-15 09:00:00+00', 1),  -- never buys
        (4, 1, '2024-01-01 09:00:00+00', 1),     -- merged into 1: not a member of its own
        (5, NULL, '2023-06-01 09:00:00+00', 1),  -- joined before the sales history
        (6, NULL, '2024-03-20 09:00:00+00', NULL)"""
    )
    return connection


def test_join_cohorts_count_members_who_never_bought() -> None:
    table = retention(join_shop())
    assert table.basis == "join"
    # January: member 2; February: 1 (joined in Shanghai's February) and 3; March: 6.
    assert table.labels == ("2024-01", "2024-02", "2024-03")
    assert table.sizes.tolist() == [1, 2, 1]
    # 2 is back only in March (month 2); of February's two, only 1 buys, in months 0 and 1.
    np.testing.assert_array_equal(table.share, [[0.0, 0.0, 1.0], [0.5, 0.5, NAN], [1.0, NAN, NAN]])
    by_purchase = retention(join_shop(), basis="first_purchase")
    assert by_purchase.labels == ("2023-12", "2024-02", "2024-03")
    assert by_purchase.sizes.tolist() == [1, 1, 1]


def test_files_hold_the_observed_cells(tmp_path: Path) -> None:
    table = retention(purchases(SHOP))
    table.write_parquet(tmp_path / "cohorts.parquet")
    table.write_json(tmp_path / "cohorts.json")
    cells = pq.read_table(tmp_path / "cohorts.parquet")
    assert cells.schema.metadata[b"basis"] == b"first_purchase"
    assert cells.num_rows == 4 + 3 + 2
    february = [row for row in cells.to_pylist() if row["cohort"] == "2024-02"]
    assert [(r["month"], r["active"], r["share"]) for r in february] == [
        (0, 1, 1.0),
        (1, 0, 0.0),
        (2, 1, 1.0),
    ]
    saved = json.loads((tmp_path / "cohorts.json").read_text())
    assert saved["share"][2] == [1.0, 0.0, None, None]
    assert saved["sizes"] == [2, 1, 1]


def test_the_matrix_cannot_be_changed_by_a_consumer() -> None:
    table = retention(purchases(SHOP))
    with pytest.raises(ValueError, match="read-only"):
        table.share[0, 0] = 0.0


@pytest.mark.parametrize(
    ("connection", "options", "field", "code"),
    [
        (purchases([]), {}, "transactions", "no_transactions"),
        (duckdb.connect(), {}, "transactions", "no_transactions"),
        (purchases(SHOP), {"until": date(2024, 1, 5)}, "until", "invalid_input"),
        (purchases(SHOP), {"basis": "join"}, "basis", "invalid_input"),
    ],
)
def test_bad_input_names_the_field(
    connection: duckdb.DuckDBPyConnection, options: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        retention(connection, **options)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.code) == (field, code)


# --- the demo chain ---------------------------------------------------------------------


def test_demo_first_purchase_cohorts_are_a_consistent_triangle(
    demo_warehouse: DemoWarehouse,
) -> None:
    connection = open_warehouse(demo_warehouse.folder)
    table = retention(connection, basis="first_purchase")
    (customers,) = connection.execute(
        "SELECT count(DISTINCT customer_id) FROM transactions"
    ).fetchall()[0]
    assert int(table.sizes.sum()) == customers
    assert (table.labels[0], table.labels[-1]) == ("2026-02", "2026-10")  # the nine months
    assert np.all(table.share[:, 0] == 1.0)
    seen = table.share[table.observed]
    assert np.all((seen >= 0.0) & (seen <= 1.0))
    # Cohort i is observed for exactly (cohorts - i) months: the upper-left triangle.
    months = len(table.cohorts)
    assert table.observed.sum(axis=1).tolist() == list(range(months, 0, -1))
    assert np.all(table.active <= table.sizes[:, np.newaxis])
    # Buy-till-you-die customers drop out: the first cohort keeps fewer than it started with.
    assert 0.2 < table.share[0, -1] < 0.9


def test_demo_join_cohorts_leave_out_members_from_before_the_history(
    demo_warehouse: DemoWarehouse,
) -> None:
    connection = open_warehouse(demo_warehouse.folder)
    table = retention(connection)
    assert table.basis == "join"
    (joined,) = connection.execute(
        """SELECT count(*) FROM members m JOIN stores s ON s.store_id = m.join_store_id
           WHERE m.merged_into_id IS NULL
             AND timezone(s.timezone, m.joined_at) >= TIMESTAMP '2026-02-01'"""
    ).fetchall()[0]
    assert int(table.sizes.sum()) == joined
    assert 0 < joined < 800  # the generator lets six in ten join before the period
    seen = table.share[table.observed]
    assert np.all((seen >= 0.0) & (seen <= 1.0))
    # Members join before they first shop, so some of a join cohort buy only later.
    assert np.any(table.share[:, 0] < 1.0)
