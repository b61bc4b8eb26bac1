"""Shopper types and clusters: pure rules and wording on hand-made arrays, the SQL on a tiny
hand-worked warehouse, then the whole run on the demo chain against the generator's truth."""

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.analytics.segments import (
    PARQUET_NAME,
    SUMMARY_NAME,
    SegmentationSummary,
    compare_with_demo_truth,
    segment_members,
    shopper_features,
    type_agreement,
)
from regulars.analytics.segments_rules import (
    FEATURES,
    TYPICAL,
    ShopperClusters,
    ShopperType,
    TypeThresholds,
    describe_clusters,
    shopper_types,
)
from regulars.analytics.warehouse import open_warehouse
from regulars.db import make_engine
from regulars.errors import InvalidInput
from tests.analytics.conftest import DEMO_UNTIL, DemoWarehouse

T = ShopperType


# --- type rules -------------------------------------------------------------------------


def make_types(
    rows: list[tuple[float, float, float, float, float]], thresholds: TypeThresholds | None = None
) -> list[str]:
    """Types of members given as (promotion, premium, brand, items, visits) rows."""
    columns = np.array(rows, dtype=np.float64).T
    return shopper_types(
        promotion_share=columns[0],
        premium_share=columns[1],
        brand_concentration=columns[2],
        items_per_basket=columns[3],
        visits_per_week=columns[4],
        **({"thresholds": thresholds} if thresholds else {}),
    ).tolist()


def test_each_rule_names_its_type() -> None:
    assert make_types(
        [
            (0.20, 0.10, 0.20, 8.0, 1.0),  # hunts offers
            (0.02, 0.70, 0.20, 8.0, 1.0),  # premium more often than not
            (0.02, 0.10, 0.80, 8.0, 1.0),  # same product again and again
            (0.02, 0.10, 0.20, 2.0, 3.0),  # two items, three times a week
            (0.02, 0.10, 0.20, 8.0, 1.0),  # nothing stands out
        ]
    ) == [T.PRICE_SENSITIVE, T.QUALITY_SEEKING, T.BRAND_LOYAL, T.CONVENIENCE, T.MIXED]


def test_thresholds_are_inclusive() -> None:
    assert make_types(
        [
            (0.08, 0.0, 0.0, 8.0, 1.0),
            (0.0, 0.5, 0.0, 8.0, 1.0),
            (0.0, 0.0, 0.45, 8.0, 1.0),
            (0.0, 0.0, 0.0, 3.0, 0.5),
        ]
    ) == [T.PRICE_SENSITIVE, T.QUALITY_SEEKING, T.BRAND_LOYAL, T.CONVENIENCE]


def test_just_below_the_thresholds_is_mixed() -> None:
    assert make_types(
        [
            (0.079, 0.49, 0.44, 3.1, 5.0),
            (0.0, 0.0, 0.0, 1.0, 0.49),  # tiny baskets, but a rare visitor
        ]
    ) == [T.MIXED, T.MIXED]


def test_precedence_price_then_quality_then_loyalty_then_convenience() -> None:
    assert make_types(
        [
            (0.30, 0.90, 0.90, 1.0, 4.0),  # matches all four
            (0.00, 0.90, 0.90, 1.0, 4.0),  # quality, loyalty, convenience
            (0.00, 0.00, 0.90, 1.0, 4.0),  # loyalty, convenience
        ]
    ) == [T.PRICE_SENSITIVE, T.QUALITY_SEEKING, T.BRAND_LOYAL]


def test_unknown_loyalty_lets_the_other_rules_decide() -> None:
    assert make_types([(0.0, 0.0, float("nan"), 2.0, 2.0), (0.0, 0.0, float("nan"), 8.0, 1.0)]) == [
        T.CONVENIENCE,
        T.MIXED,
    ]


def test_a_chain_can_set_its_own_thresholds() -> None:
    heavy_offers = TypeThresholds(promotion_share_min=0.25)
    assert make_types([(0.20, 0.1, 0.2, 8.0, 1.0)], heavy_offers) == [T.MIXED]


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        shopper_types(
            promotion_share=[0.1, 0.2],
            premium_share=[0.1],
            brand_concentration=[0.1, 0.2],
            items_per_basket=[1.0, 2.0],
            visits_per_week=[1.0, 2.0],
        )
    assert error.value.field == "premium_share"


# --- cluster wording --------------------------------------------------------------------


def centre(**offsets: float) -> list[float]:
    """A standardised centroid: the given offsets from a zero median, zero elsewhere."""
    return [offsets.get(name, 0.0) for name in FEATURES]


MEDIANS = np.zeros(len(FEATURES))


def test_strongest_traits_first_and_weak_ones_left_out() -> None:
    centroids = [centre(promotion_share=1.2, premium_share=-0.8, fresh_share=0.3)]
    assert describe_clusters(centroids, MEDIANS) == ("often on promotion, few premium products",)


def test_at_most_three_traits() -> None:
    centroids = [
        centre(basket_value=2.0, items_per_basket=1.8, visits_per_week=-1.5, premium_share=1.0)
    ]
    assert describe_clusters(centroids, MEDIANS) == (
        "large baskets, many items per visit, rare visits",
    )


def test_a_centre_near_the_medians_is_typical() -> None:
    assert describe_clusters([centre(fresh_share=0.2)], MEDIANS) == (TYPICAL,)


def test_offsets_count_from_the_medians_not_from_zero() -> None:
    medians = np.full(len(FEATURES), 2.0)
    centroids = [np.full(len(FEATURES), 2.0) + centre(brand_concentration=-0.9)]
    assert describe_clusters(centroids, medians) == ("switches between products",)


def test_look_alike_clusters_get_further_traits_until_they_differ() -> None:
    centroids = [
        centre(visits_per_week=1.5, fresh_share=0.3),
        centre(visits_per_week=1.4, fresh_share=-0.2),
        centre(promotion_share=0.1),
    ]
    assert describe_clusters(centroids, MEDIANS) == (
        "frequent visits, much fresh food",
        "frequent visits, little fresh food",
        TYPICAL,
    )


def test_wording_needs_known_features_of_the_right_shape() -> None:
    with pytest.raises(InvalidInput):
        describe_clusters([[1.0, 2.0]], MEDIANS)
    with pytest.raises(InvalidInput):
        describe_clusters([[1.0]], [0.0], features=("loudness",))


# --- agreement with known types ---------------------------------------------------------


def test_agreement_counts_true_against_found() -> None:
    truth = ["brand_loyal", "brand_loyal", "convenience", "convenience", "convenience"]
    found = ["brand_loyal", "mixed", "convenience", "convenience", "brand_loyal"]
    agreement = type_agreement(truth, found)
    assert agreement.true_labels == ("brand_loyal", "convenience")
    assert agreement.found_labels == tuple(ShopperType)
    #                     price  quality  brand  convenience  mixed
    assert agreement.counts.tolist() == [[0, 0, 1, 0, 1], [0, 0, 1, 2, 0]]
    assert agreement.recall() == {"brand_loyal": 0.5, "convenience": 2 / 3}


def test_the_same_grouping_under_other_names_agrees_perfectly() -> None:
    agreement = type_agreement(
        ["a", "a", "b", "b"], ["mixed", "mixed", "convenience", "convenience"]
    )
    assert agreement.adjusted_rand_index == pytest.approx(1.0)
    assert agreement.recall() == {"a": 0.0, "b": 0.0}


def test_agreement_needs_one_found_type_per_member() -> None:
    with pytest.raises(InvalidInput):
        type_agreement(["a", "b"], ["a"])
    with pytest.raises(InvalidInput):
        type_agreement([], [])


# --- features from a hand-worked warehouse ------------------------------------------------

TINY_AS_OF = date(2024, 3, 31)
TINY_WAREHOUSE = """
SET TimeZone = 'UTC';
CREATE TABLE stores AS SELECT 1 AS store_id, 'Asia/Shanghai' AS timezone;
CREATE TABLE products (product_id BIGINT, category_code VARCHAR, premium BOOLEAN,
                       fresh BOOLEAN, excluded_from_promotions BOOLEAN);
INSERT INTO products VALUES
    (1, 'MILK', false, true, false), (2, 'MILK', true, true, false),
    (3, 'CIG', false, false, true), (4, 'WATER', false, false, false);
-- member 11 was merged into 10; 30 joined late; 20 came once; 40 only before the window.
CREATE TABLE customers (member_id BIGINT, customer_id BIGINT, joined_at TIMESTAMPTZ);
INSERT INTO customers VALUES
    (10, 10, '2024-01-01 00:00+00'), (11, 10, '2024-01-01 00:00+00'),
    (20, 20, '2024-01-01 00:00+00'), (30, 30, '2024-03-25 04:00+00'),
    (40, 40, '2024-01-01 00:00+00');
CREATE TABLE receipts (receipt_id BIGINT, store_id BIGINT, member_id BIGINT,
                       sold_at TIMESTAMPTZ);
INSERT INTO receipts VALUES
    (1, 1, 10, '2024-03-05 02:00+00'), (2, 1, 10, '2024-03-10 02:00+00'),
    (3, 1, 10, '2024-03-31 15:30+00'),  -- 23:30 in Shanghai: still the as_of day
    (4, 1, 10, '2024-03-31 16:30+00'),  -- 00:30 on 1 April in Shanghai: too late
    (5, 1, 11, '2024-03-20 02:00+00'),
    (6, 1, 10, '2024-03-01 15:00+00'),  -- 23:00 on 1 March: before the window
    (7, 1, 20, '2024-03-15 02:00+00'),
    (8, 1, 30, '2024-03-26 02:00+00'), (9, 1, 30, '2024-03-30 02:00+00'),
    (10, 1, 40, '2024-01-15 02:00+00');
CREATE TABLE lines (line_id BIGINT, receipt_id BIGINT, product_id BIGINT, quantity DOUBLE,
                    discount DOUBLE, amount DOUBLE);
INSERT INTO lines VALUES
    (1, 1, 1, 2, 1.0, 10), (2, 1, 4, 1, 0, 2),
    (3, 2, 1, 1, 0, 5), (4, 2, 3, 1, 0, 30), (5, 2, 2, 0.5, 0, 8),
    (6, 3, 1, 1, 0.5, 5),
    (7, 4, 2, 9, 9.0, 99), (8, 5, 4, 3, 0, 6), (9, 6, 2, 9, 9.0, 99),
    (10, 7, 1, 1, 0, 5), (11, 8, 4, 1, 0, 2), (12, 9, 4, 1, 0, 2), (13, 10, 1, 1, 0, 5);
CREATE TABLE refunds AS SELECT 6 AS receipt_line_id, 2.0 AS amount;
"""


@pytest.fixture
def tiny() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(TINY_WAREHOUSE)
    return connection


def test_features_are_measured_as_documented(tiny: duckdb.DuckDBPyConnection) -> None:
    table = shopper_features(tiny, as_of=TINY_AS_OF, window_days=30, min_receipts=2)
    assert table.member_id.tolist() == [10, 30]
    assert table.receipts.tolist() == [4, 2]  # member 11's visit counts for 10
    assert table.too_few_visits == 1  # member 20; 40 did not visit in the window at all
    member = dict(zip(FEATURES, table.features[0], strict=True))
    assert member == pytest.approx(
        {
            "promotion_share": 2 / 6,  # the cigarettes cannot be on offer
            "premium_share": 1 / 4,  # only milk has a premium choice
            "fresh_share": 4 / 7,
            # milk: product 1 on 3 visits, product 2 on 1 -> 3*2 same of 4*3 pairs;
            # water: product 4 on 2 visits -> 2 of 2; cigarettes: no pair
            "brand_concentration": 8 / 14,
            "basket_value": (12 + 43 + 6 + (5 - 2)) / 4,  # after the refund
            "items_per_basket": (3 + 3 + 3 + 1) / 4,  # weighed milk is one item
            "visits_per_week": 4 * 7 / 30,
        }
    )
    late_joiner = dict(zip(FEATURES, table.features[1], strict=True))
    assert late_joiner["visits_per_week"] == pytest.approx(2.0)  # two visits in his first week
    assert late_joiner["premium_share"] == 0.0  # no premium water on the shelf
    assert late_joiner["brand_concentration"] == 1.0


def test_bad_windows_are_refused(tiny: duckdb.DuckDBPyConnection) -> None:
    for window in (0, -30):
        with pytest.raises(InvalidInput) as error:
            shopper_features(tiny, as_of=TINY_AS_OF, window_days=window)
        assert error.value.field == "window_days"
    with pytest.raises(InvalidInput) as error:
        shopper_features(tiny, as_of=TINY_AS_OF, min_receipts=0)
    assert error.value.field == "min_receipts"


def test_nobody_with_enough_visits_is_refused(tiny: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidInput) as error:
        shopper_features(tiny, as_of=TINY_AS_OF, window_days=30, min_receipts=5)
    assert (error.value.field, error.value.code) == ("min_receipts", "no_members")


# --- clusters on made-up members ----------------------------------------------------------

#                 promotion premium fresh  brand  basket items visits
OFFER_HUNTERS = [0.20, 0.05, 0.30, 0.20, 90.0, 7.0, 0.8]
PREMIUM_BUYERS = [0.02, 0.60, 0.30, 0.20, 140.0, 6.0, 0.8]
TOP_UP_SHOPPERS = [0.02, 0.15, 0.30, 0.20, 25.0, 2.0, 3.0]


def three_groups() -> np.ndarray:
    """40 offer hunters, 30 premium buyers and 20 top-up shoppers, each with a little noise."""
    rng = np.random.default_rng(5)
    centres = np.repeat([OFFER_HUNTERS, PREMIUM_BUYERS, TOP_UP_SHOPPERS], [40, 30, 20], axis=0)
    return centres * rng.lognormal(0.0, 0.03, centres.shape)


def test_clusters_find_the_groups_and_name_them() -> None:
    members = three_groups()
    model = ShopperClusters(k_max=5, n_init=2).fit(members)
    assert model.k_ == 3
    assert list(model.silhouette_scores_) == [2, 3, 4, 5]
    assert max(model.silhouette_scores_.values()) == model.silhouette_scores_[3]
    assert model.sizes_.tolist() == [40, 30, 20]  # the largest cluster first
    assert model.cluster_labels(members).tolist() == [0] * 40 + [1] * 30 + [2] * 20
    hunters, premium, top_up = model.descriptions_
    assert hunters.startswith("often on promotion")
    assert "many premium products" in premium
    assert "frequent visits" in top_up
    assert "small baskets" in top_up
    assert model.centres()[2] == pytest.approx(TOP_UP_SHOPPERS, rel=0.05)


def test_clusters_refuse_what_they_cannot_use() -> None:
    with pytest.raises(ModelNotFitted):
        ShopperClusters().cluster_labels(three_groups())
    with pytest.raises(InvalidInput) as error:
        ShopperClusters(k_min=1).fit(three_groups())
    assert error.value.field == "k_range"
    with pytest.raises(InvalidInput) as error:
        ShopperClusters().fit(np.repeat([OFFER_HUNTERS, PREMIUM_BUYERS], 10, axis=0))
    assert error.value.field == "features"  # two kinds of shopper cannot make two clusters
    with pytest.raises(InvalidInput):
        ShopperClusters().fit(np.full((10, 7), -1.0))
    with pytest.raises(InvalidInput):
        ShopperClusters().fit(np.ones((10, 3)))


# --- the demo chain -----------------------------------------------------------------------

DEMO_AS_OF = DEMO_UNTIL - timedelta(days=1)  # the last day of sales


@pytest.fixture(scope="module")
def demo_run(
    demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SegmentationSummary, Path]:
    folder = tmp_path_factory.mktemp("segments")
    summary = segment_members(
        open_warehouse(demo_warehouse.folder), as_of=DEMO_AS_OF, folder=folder
    )
    return summary, folder


def test_demo_types_agree_with_the_generator(
    demo_run: tuple[SegmentationSummary, Path], demo_warehouse: DemoWarehouse
) -> None:
    """On the 800-member demo (seed 3) the rules reach an adjusted Rand index of 0.61.

    Recall of each true type: price-sensitive 0.89, quality-seeking 0.86, brand-loyal 0.77,
    convenience 0.50 (most of the rest are occasional top-up shoppers, visiting less than
    every other week, who fall to mixed).
    """
    _, folder = demo_run
    table = pq.read_table(folder / PARQUET_NAME).to_pydict()
    agreement = compare_with_demo_truth(
        make_engine(demo_warehouse.database_url),
        member_id=table["member_id"],
        found_types=table["shopper_type"],
    )
    assert agreement.adjusted_rand_index >= 0.5
    recall = agreement.recall()
    assert set(recall) == {"price_sensitive", "quality_seeking", "brand_loyal", "convenience"}
    assert min(recall.values()) >= 0.4
    for row, label in zip(agreement.counts, agreement.true_labels, strict=True):
        assert agreement.found_labels[int(row.argmax())] == label


def test_demo_summary_and_files_describe_every_member(
    demo_run: tuple[SegmentationSummary, Path],
) -> None:
    summary, folder = demo_run
    table = pq.read_table(folder / PARQUET_NAME)
    assert table.column_names == ["member_id", "receipts", *FEATURES, "shopper_type", "cluster"]
    members = table.to_pydict()
    assert len(set(members["member_id"])) == table.num_rows == summary.members
    assert min(members["receipts"]) >= summary.min_receipts == 3
    assert summary.too_few_visits > 0
    assert sum(summary.type_sizes.values()) == summary.members
    assert all(size > 0 for size in summary.type_sizes.values())

    assert 2 <= summary.k <= 8
    assert list(summary.silhouette_scores) == list(range(2, 9))
    assert summary.silhouette_scores[summary.k] == max(summary.silhouette_scores.values())
    assert set(members["cluster"]) == set(range(summary.k))
    assert [c.members for c in summary.clusters] == [
        members["cluster"].count(c.cluster) for c in summary.clusters
    ]
    descriptions = [c.description for c in summary.clusters]
    assert all(descriptions)
    assert len(set(descriptions)) == len(descriptions)

    written = json.loads((folder / SUMMARY_NAME).read_text(encoding="utf-8"))
    assert written["as_of"] == DEMO_AS_OF.isoformat()
    assert written["k"] == summary.k
    assert [c["description"] for c in written["clusters"]] == descriptions


def test_demo_without_enough_visits_is_refused(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    connection = open_warehouse(demo_warehouse.folder)
    with pytest.raises(InvalidInput) as error:
        segment_members(connection, as_of=date(2020, 1, 1), folder=tmp_path)
    assert error.value.field == "min_receipts"
    with pytest.raises(InvalidInput) as error:
        segment_members(connection, as_of=DEMO_AS_OF, folder=tmp_path, window_days=0)
    assert error.value.field == "window_days"
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_truth_is_needed_for_every_member_compared(demo_warehouse: DemoWarehouse) -> None:
    with pytest.raises(InvalidInput) as error:
        compare_with_demo_truth(
            make_engine(demo_warehouse.database_url), member_id=[10**9], found_types=["mixed"]
        )
    assert error.value.code == "no_demo_truth"
