"""RFM: pure scoring and grid rules on hand-worked arrays, then DuckDB on tiny and real data."""

from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from regulars.analytics.rfm import (
    NOT_YET_A_CUSTOMER,
    rfm_table,
    segment_migration,
    segment_summary,
)
from regulars.analytics.rfm_rules import (
    Segment,
    fm_scores,
    quantile_scores,
    segment_for,
    segments,
    to_grid_scale,
)
from regulars.errors import InvalidInput
from tests.analytics.factories import Row, make_transactions

CDNOW = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "CDNOW_master.txt"


# Five customers scored on 2024-03-31 (a leap year), worked out by hand below each one.
AS_OF = date(2024, 3, 31)
SHOP: list[Row] = [
    # a: last visit on the as_of day itself; two lines of receipt r1 are one visit.
    ("a", datetime(2024, 3, 1, 10), 20.0, "r2"),
    ("a", datetime(2024, 3, 31, 18), 10.0, "r1"),
    ("a", datetime(2024, 3, 31, 18), 5.0, "r1"),
    # b: no receipts; two purchases on 20 March are one visit, 25 March another.
    ("b", datetime(2024, 3, 20, 9), 12.0, None),
    ("b", datetime(2024, 3, 20, 17), 8.0, None),
    ("b", datetime(2024, 3, 25, 12), 10.0, None),
    # c: one big purchase on New Year's Day.
    ("c", datetime(2024, 1, 1, 12), 100.0, "r3"),
    # d: one receipt, one receipt-less day.
    ("d", datetime(2024, 2, 15, 12), 5.0, "r4"),
    ("d", datetime(2024, 3, 10, 12), 5.0, None),
    # e: the first customer; the purchase at midnight after as_of does not count.
    ("e", datetime(2023, 12, 1, 12), 40.0, "r7"),
    ("e", datetime(2024, 4, 1, 0), 50.0, "r6"),
    # f: only buys after as_of, so is not a customer yet.
    ("f", datetime(2024, 4, 2, 12), 70.0, "r8"),
]


@pytest.fixture
def shop() -> duckdb.DuckDBPyConnection:
    return make_transactions(SHOP)


# --- pure rules -------------------------------------------------------------------------


def test_distinct_values_fill_equal_quintiles() -> None:
    assert quantile_scores([50, 10, 40, 20, 30]).tolist() == [5, 1, 4, 2, 3]


def test_scores_follow_the_share_of_customers_beaten_when_n_is_not_a_multiple() -> None:
    # 1 + floor(5 * beaten / 7) for beaten = 0..6
    assert quantile_scores([1, 2, 3, 4, 5, 6, 7]).tolist() == [1, 1, 2, 3, 3, 4, 5]


def test_identical_values_share_a_score() -> None:
    # beaten: 0, 0, 0, 3, 4, 4 of 6 -> 1 + floor(3 * beaten / 6)
    assert quantile_scores([1, 1, 1, 2, 3, 3], quantiles=3).tolist() == [1, 1, 1, 2, 3, 3]


def test_a_large_tie_stays_together_and_the_next_value_skips_ahead() -> None:
    assert quantile_scores([1, 1, 1, 1, 2]).tolist() == [1, 1, 1, 1, 5]
    assert quantile_scores([7, 7, 7]).tolist() == [1, 1, 1]


def test_recency_scores_fewer_days_higher() -> None:
    # days 0, 5, 5, 30 beat 3, 1, 1, 0 customers -> 1 + floor(4 * beaten / 4)
    scores = quantile_scores([0, 5, 5, 30], quantiles=4, higher_is_better=False)
    assert scores.tolist() == [4, 2, 2, 1]


def test_no_customers_no_scores() -> None:
    assert quantile_scores([]).tolist() == []


def test_missing_values_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        quantile_scores([1.0, float("nan")])
    assert caught.value.field == "values"


@pytest.mark.parametrize("quantiles", [1, 11])
def test_quantiles_outside_two_to_ten_are_refused(quantiles: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        quantile_scores([1, 2, 3], quantiles=quantiles)
    assert caught.value.field == "quantiles"


@pytest.mark.parametrize(
    ("quantiles", "expected"),
    [
        (2, [1, 5]),
        (3, [1, 3, 5]),
        (4, [1, 2, 4, 5]),  # 1 + round(4 * (s - 1) / 3): 0, 1.33, 2.67, 4
        (5, [1, 2, 3, 4, 5]),
        (10, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ],
)
def test_scores_move_onto_the_five_point_grid(quantiles: int, expected: list[int]) -> None:
    assert to_grid_scale(np.arange(1, quantiles + 1), quantiles=quantiles).tolist() == expected


def test_a_score_beyond_its_scale_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        to_grid_scale([4], quantiles=3)
    assert caught.value.field == "scores"


def test_fm_is_the_average_rounded_half_up() -> None:
    assert fm_scores([4, 1, 3, 1, 2], [5, 2, 3, 1, 5]).tolist() == [5, 2, 3, 1, 4]


def test_the_grid_names_every_combination_and_every_segment() -> None:
    named = Counter(segment_for(r, fm) for r in range(1, 6) for fm in range(1, 6))
    assert sum(named.values()) == 25
    assert set(named) == set(Segment)


@pytest.mark.parametrize(
    ("r", "fm", "segment"),
    [
        (5, 5, Segment.CHAMPIONS),
        (4, 5, Segment.CHAMPIONS),
        (4, 4, Segment.LOYAL),
        (3, 5, Segment.LOYAL),
        (5, 2, Segment.POTENTIAL_LOYALIST),
        (5, 1, Segment.NEW),
        (4, 1, Segment.PROMISING),
        (3, 3, Segment.NEED_ATTENTION),
        (3, 2, Segment.ABOUT_TO_SLEEP),
        (2, 4, Segment.AT_RISK),
        (1, 5, Segment.CANT_LOSE_THEM),
        (2, 1, Segment.HIBERNATING),
        (1, 2, Segment.LOST),
    ],
)
def test_grid_boundaries(r: int, fm: int, segment: Segment) -> None:
    assert segment_for(r, fm) is segment


def test_a_score_off_the_grid_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        segment_for(6, 1)
    assert caught.value.field == "scores"


def test_segments_are_read_on_the_grid_for_any_number_of_quantiles() -> None:
    # q=5: FM (5+4)->5 and (1+2)->2
    assert segments([5, 1], [5, 1], [4, 2]).tolist() == ["Champions", "Lost"]
    # q=10: R 10->5, 1->1; F 10->5, 3->2; M 9->5, 4->2
    assert segments([10, 1], [10, 3], [9, 4], quantiles=10).tolist() == ["Champions", "Lost"]
    # q=3: every 2 becomes a 3
    assert segments([2], [2], [2], quantiles=3).tolist() == ["Need Attention"]


# --- rfm_table on a hand-built shop -----------------------------------------------------


def test_rfm_table_measures_each_customer(shop: duckdb.DuckDBPyConnection) -> None:
    table = rfm_table(shop, as_of=AS_OF)

    assert table.customer_id.tolist() == ["a", "b", "c", "d", "e"]
    # a: 31 Mar; b: 25 Mar; c: 1 Jan (31 + 29 + 30 days); d: 10 Mar; e: 1 Dec (30 + 91 days)
    assert table.recency_days.tolist() == [0, 6, 90, 21, 121]
    assert table.frequency.tolist() == [2, 2, 1, 2, 1]
    assert table.monetary.tolist() == [35.0, 30.0, 100.0, 10.0, 40.0]


def test_rfm_table_scores_and_segments(shop: duckdb.DuckDBPyConnection) -> None:
    table = rfm_table(shop, as_of=AS_OF)

    # R: beaten 4, 3, 1, 2, 0 of 5. F: the 1s beat nobody, the 2s beat two -> 1 + 10 // 5.
    assert table.r.tolist() == [5, 4, 2, 3, 1]
    assert table.f.tolist() == [3, 3, 1, 3, 1]
    assert table.m.tolist() == [3, 2, 5, 1, 4]
    # FM = 3, 3, 3, 2, 3
    assert table.segment.tolist() == [
        "Potential Loyalist",
        "Potential Loyalist",
        "At Risk",
        "About to Sleep",
        "At Risk",
    ]


def test_a_datetime_as_of_counts_its_whole_day(shop: duckdb.DuckDBPyConnection) -> None:
    table = rfm_table(shop, as_of=datetime(2024, 3, 31, 9, 0))
    assert table.as_of == AS_OF
    assert table.monetary[0] == 35.0  # a's receipt at 18:00 counts


def test_the_first_purchase_day_is_a_valid_as_of(shop: duckdb.DuckDBPyConnection) -> None:
    table = rfm_table(shop, as_of=date(2023, 12, 1))
    assert table.customer_id.tolist() == ["e"]
    assert table.segment.tolist() == ["Lost"]  # alone, e beats nobody on any measure


def test_the_table_is_read_only(shop: duckdb.DuckDBPyConnection) -> None:
    table = rfm_table(shop, as_of=AS_OF)
    with pytest.raises(ValueError, match="read-only"):
        table.r[0] = 1


def test_the_table_round_trips_through_parquet(
    shop: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "rfm.parquet"
    rfm_table(shop, as_of=AS_OF, quantiles=4).write_parquet(path)

    stored = pq.read_table(path)
    assert (
        stored.column_names == "customer_id recency_days frequency monetary r f m segment".split()
    )
    assert stored.schema.field("recency_days").type == pa.int64()
    assert stored.column("customer_id").to_pylist() == ["a", "b", "c", "d", "e"]
    assert stored.schema.metadata == {b"as_of": b"2024-03-31", b"quantiles": b"4"}


def test_summary_counts_revenue_and_means_per_segment(shop: duckdb.DuckDBPyConnection) -> None:
    rows = segment_summary(rfm_table(shop, as_of=AS_OF))

    assert [row.segment for row in rows] == [
        Segment.POTENTIAL_LOYALIST,
        Segment.ABOUT_TO_SLEEP,
        Segment.AT_RISK,
    ]
    assert [row.customers for row in rows] == [2, 1, 2]
    assert [row.revenue for row in rows] == [65.0, 10.0, 140.0]
    assert [row.customer_share for row in rows] == [0.4, 0.2, 0.4]
    assert [row.revenue_share for row in rows] == pytest.approx([65 / 215, 10 / 215, 140 / 215])
    at_risk = rows[2]  # c and e
    assert (at_risk.mean_recency_days, at_risk.mean_frequency, at_risk.mean_monetary) == (
        105.5,
        1.0,
        70.0,
    )


def test_migration_between_two_days(shop: duckdb.DuckDBPyConnection) -> None:
    # On 29 Feb only c, d, e had bought: recency 59, 14, 90; one visit each; 100, 5, 40.
    # R = 2, 4, 1; F = 1, 1, 1; M = 4, 1, 2; FM = 3, 1, 2 -> At Risk, Promising, Lost.
    migration = segment_migration(shop, start=date(2024, 2, 29), end=AS_OF)

    moved = {
        (migration.from_labels[i], migration.to_labels[j]): int(migration.counts[i, j])
        for i, j in zip(*np.nonzero(migration.counts), strict=True)
    }
    assert moved == {
        ("At Risk", "At Risk"): 1,  # c
        ("Promising", "About to Sleep"): 1,  # d
        ("Lost", "At Risk"): 1,  # e: no visit, but now compared with a and b
        (NOT_YET_A_CUSTOMER, "Potential Loyalist"): 2,  # a and b
    }
    assert migration.counts.shape == (12, 11)


def test_migration_totals_match_the_segments_on_each_day(
    shop: duckdb.DuckDBPyConnection,
) -> None:
    start, end = date(2024, 1, 31), AS_OF
    migration = segment_migration(shop, start=start, end=end)
    before = Counter(rfm_table(shop, as_of=start).segment.tolist())
    after = Counter(rfm_table(shop, as_of=end).segment.tolist())

    rows = dict(zip(migration.from_labels, migration.counts.sum(axis=1).tolist(), strict=True))
    columns = dict(zip(migration.to_labels, migration.counts.sum(axis=0).tolist(), strict=True))
    newcomers = rows.pop(NOT_YET_A_CUSTOMER)
    assert {label: n for label, n in rows.items() if n} == before
    assert {label: n for label, n in columns.items() if n} == after
    assert newcomers == 3  # a, b and d first bought after 31 January


# --- bad input --------------------------------------------------------------------------


def test_as_of_before_the_first_transaction_is_refused(shop: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidInput) as caught:
        rfm_table(shop, as_of=date(2023, 11, 30))
    assert caught.value.field == "as_of"


@pytest.mark.parametrize("quantiles", [1, 11])
def test_rfm_table_refuses_quantiles_out_of_range(
    shop: duckdb.DuckDBPyConnection, quantiles: int
) -> None:
    with pytest.raises(InvalidInput) as caught:
        rfm_table(shop, as_of=AS_OF, quantiles=quantiles)
    assert caught.value.field == "quantiles"


@pytest.mark.parametrize("end", [date(2024, 2, 29), date(2024, 2, 1)])
def test_migration_end_must_follow_start(shop: duckdb.DuckDBPyConnection, end: date) -> None:
    with pytest.raises(InvalidInput) as caught:
        segment_migration(shop, start=date(2024, 2, 29), end=end)
    assert caught.value.field == "end"


def test_migration_start_before_the_first_transaction_is_refused(
    shop: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        segment_migration(shop, start=date(2023, 1, 1), end=AS_OF)
    assert caught.value.field == "start"


def test_an_empty_table_is_refused_with_its_own_code() -> None:
    with pytest.raises(InvalidInput, match="empty") as caught:
        rfm_table(make_transactions([]), as_of=AS_OF)
    assert caught.value.code == "no_transactions"


# --- the CDNOW data ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_rows() -> list[Row]:
    if not CDNOW.exists():
        pytest.skip(f"{CDNOW} is absent")
    rows: list[Row] = []
    for line in CDNOW.read_text().splitlines()[1:]:
        customer_id, day, _cds, dollars = line.split()
        rows.append((customer_id, datetime.strptime(day, "%Y%m%d"), float(dollars), None))
    return rows


@pytest.fixture(scope="module")
def cdnow(cdnow_rows: list[Row]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    columns = list(zip(*cdnow_rows, strict=True))
    source = pa.table(
        {
            "customer_id": pa.array(columns[0], pa.string()),
            "purchased_at": pa.array(columns[1], pa.timestamp("us")),
            "amount": pa.array(columns[2], pa.float64()),
        }
    )
    connection.register("source", source)
    connection.execute(
        "CREATE TABLE transactions AS SELECT customer_id, purchased_at, amount,"
        " CAST(NULL AS VARCHAR) AS receipt_id, CAST(NULL AS VARCHAR) AS sku FROM source"
    )
    return connection


def test_cdnow_every_customer_gets_a_segment(
    cdnow: duckdb.DuckDBPyConnection, cdnow_rows: list[Row]
) -> None:
    table = rfm_table(cdnow, as_of=date(1998, 6, 30))

    assert len(table) == 23_570
    assert set(table.segment.tolist()) <= {segment.value for segment in Segment}
    assert table.monetary.sum() == pytest.approx(2_500_315.63, abs=0.01)
    assert table.monetary.sum() == pytest.approx(sum(row[2] for row in cdnow_rows if row[2] > 0))
    # CDNOW has no receipts, so visits are distinct (customer, day) pairs.
    assert table.frequency.sum() == len({(row[0], row[1]) for row in cdnow_rows})


def test_cdnow_champions_are_worth_more_than_the_lost(cdnow: duckdb.DuckDBPyConnection) -> None:
    rows = {row.segment: row for row in segment_summary(rfm_table(cdnow, as_of=date(1998, 6, 30)))}
    champions, lost = rows[Segment.CHAMPIONS], rows[Segment.LOST]

    assert champions.mean_monetary > 5 * lost.mean_monetary
    assert champions.mean_frequency > lost.mean_frequency
    assert champions.mean_recency_days < lost.mean_recency_days
    assert champions.revenue_share > champions.customer_share
    assert sum(row.customer_share for row in rows.values()) == pytest.approx(1.0)
    assert sum(row.revenue_share for row in rows.values()) == pytest.approx(1.0)


def test_cdnow_migration_adds_up(cdnow: duckdb.DuckDBPyConnection, cdnow_rows: list[Row]) -> None:
    start, end = date(1997, 2, 28), date(1998, 6, 30)
    migration = segment_migration(cdnow, start=start, end=end)

    first_purchase: dict[str, datetime] = {}
    for customer_id, moment, _amount, _receipt in cdnow_rows:
        first_purchase[customer_id] = min(moment, first_purchase.get(customer_id, moment))
    march_newcomers = sum(1 for moment in first_purchase.values() if moment.date() > start)

    assert migration.counts.sum() == 23_570
    assert migration.counts[-1].sum() == march_newcomers
    assert migration.counts[:-1].sum() == len(rfm_table(cdnow, as_of=start))
    after = Counter(rfm_table(cdnow, as_of=end).segment.tolist())
    assert migration.counts.sum(axis=0).tolist() == [after[label] for label in migration.to_labels]


def test_money_is_summed_exactly_so_equal_spends_score_equally() -> None:
    day = datetime(2026, 3, 2, 10)
    shop = make_transactions(
        [("A", day, 0.10, "a1"), ("A", day, 0.20, "a2"), ("B", day, 0.30, "b1")]
        + [(f"C{n}", day, 0.05 * n, f"c{n}") for n in range(1, 9)]
    )
    table = rfm_table(shop, as_of=day.date(), quantiles=5)
    index = {customer: n for n, customer in enumerate(table.customer_id)}
    a, b = index["A"], index["B"]
    assert table.monetary[a] == table.monetary[b]  # 0.10 + 0.20 is 0.30, as on the receipt
    assert table.m[a] == table.m[b]
