from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from regulars.program.schema import Promotion
from regulars.promotions.rules import (
    Allowance,
    Occasion,
    PricedLine,
    Shopper,
    apply_promotions,
    spread,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
THURSDAY_NOON = datetime(2026, 6, 18, 12, 0, tzinfo=SHANGHAI)
HERE = Occasion(store="S001", channel="store", at=THURSDAY_NOON)
MEMBER = Shopper(member=True, tier="regular")
GUEST = Shopper(member=False)


def line(
    n: int,
    sku: str,
    price: str,
    quantity: str = "1",
    categories: tuple[str, ...] = ("GROCERY",),
    excluded: bool = False,
) -> PricedLine:
    return PricedLine(
        line_no=n,
        sku=sku,
        categories=frozenset(categories),
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        excluded=excluded,
    )


def offer(**fields: object) -> Promotion:
    return Promotion.model_validate({"code": "P", "name": "offer", **fields})


def run(
    promotions: list[Promotion],
    lines: list[PricedLine],
    shopper: Shopper = MEMBER,
    occasion: Occasion = HERE,
    allowances: dict[str, Allowance] | None = None,
):  # type: ignore[no-untyped-def]
    return apply_promotions(promotions, lines, shopper, occasion, allowances or {})


def discounts(lines: list[PricedLine]) -> list[Decimal]:
    return [line.discount for line in lines]


def test_spend_and_save_once_or_for_every_threshold() -> None:
    once = offer(kind="spend_save", threshold=100, save=20)
    lines = [line(1, "A", "150.00"), line(2, "B", "90.00")]
    applied, _ = run([once], lines)
    assert applied[0].discount == Decimal(20)
    assert sum(discounts(lines)) == Decimal(20)
    repeated = offer(kind="spend_save", threshold=100, save=20, repeat=True)
    lines = [line(1, "A", "150.00"), line(2, "B", "90.00")]
    run([repeated], lines)
    assert sum(discounts(lines)) == Decimal(40)  # 240 spent: twice 100
    short = [line(1, "A", "99.99")]
    assert run([once], short)[0] == []


def test_percent_and_amount_off_their_own_goods_only() -> None:
    lines = [line(1, "MILK", "13.50", "2", ("FRESH",)), line(2, "RICE", "39.90")]
    run([offer(kind="percent_off", percent=10, categories=["FRESH"])], lines)
    assert discounts(lines) == [Decimal("2.70"), Decimal(0)]
    lines = [line(1, "MILK", "13.50", "3"), line(2, "RICE", "39.90")]
    run([offer(kind="amount_off", save=2, skus=["MILK"])], lines)
    assert discounts(lines) == [Decimal("6.00"), Decimal(0)]


def test_buy_two_get_one_free_gives_the_cheapest_of_each_three() -> None:
    lines = [line(1, "A", "10.00", "2"), line(2, "B", "6.00", "2"), line(3, "C", "3.00", "2")]
    run([offer(kind="buy_get_free", buy=2, free=1)], lines)
    # units dearest first: 10 10 6 | 6 3 3 -> free: 6 and 3
    assert discounts(lines) == [Decimal(0), Decimal("6.00"), Decimal("3.00")]


def test_second_item_half_price_counts_per_product() -> None:
    lines = [line(1, "YOG", "9.90", "3"), line(2, "MILK", "13.50", "1")]
    run([offer(kind="nth_item", nth=2, percent=50)], lines)
    assert discounts(lines) == [Decimal("4.95"), Decimal(0)]


def test_a_bundle_prices_each_complete_set() -> None:
    lines = [line(1, "NOODLE", "4.50", "3"), line(2, "EGGS", "15.80", "2")]
    run([offer(kind="bundle", skus=["NOODLE", "EGGS"], price=16)], lines)
    assert sum(discounts(lines)) == Decimal("8.60")  # two sets of 20.30 for 16 each


def test_member_prices_are_for_members() -> None:
    promotion = offer(kind="member_price", member_prices={"OIL": "59.00"})
    lines = [line(1, "OIL", "69.00", "2")]
    assert run([promotion], lines, shopper=GUEST)[0] == []
    run([promotion], lines)
    assert discounts(lines) == [Decimal("20.00")]


def test_a_flash_sale_keeps_to_its_window_and_unit_limits() -> None:
    flash = offer(
        kind="flash_sale",
        starts="2026-06-18T10:00",
        ends="2026-06-18T14:00",
        price="1.00",
        skus=["EGGS"],
        per_receipt_units=2,
        budget_units=100,
    )
    lines = [line(1, "EGGS", "15.80", "3")]
    applied, _ = run([flash], lines)
    assert applied[0].units == 2
    assert discounts(lines) == [Decimal("29.60")]
    late = Occasion(store="S001", channel="store", at=datetime(2026, 6, 18, 14, 0, tzinfo=SHANGHAI))
    assert run([flash], [line(1, "EGGS", "15.80")], occasion=late)[1][0].message == "ended"
    lines = [line(1, "EGGS", "15.80", "3")]
    applied, _ = run([flash], lines, allowances={"P": Allowance(units=1)})
    assert applied[0].units == 1
    _, skipped = run([flash], [line(1, "EGGS", "15.80")], allowances={"P": Allowance(units=0)})
    assert skipped[0].reason == "budget_exhausted"


def test_tier_store_channel_and_weekday_eligibility() -> None:
    gold = offer(kind="percent_off", percent=5, tiers=["gold"])
    assert run([gold], [line(1, "A", "10.00")])[1][0].message == "only for gold"
    assert run([gold], [line(1, "A", "10.00")], shopper=Shopper(True, "gold"))[0]
    assert (
        run([offer(kind="percent_off", percent=5, stores=["S002"])], [line(1, "A", "10.00")])[1][
            0
        ].reason
        == "other_store"
    )
    assert (
        run([offer(kind="percent_off", percent=5, channels=["online"])], [line(1, "A", "10.00")])[
            1
        ][0].reason
        == "other_channel"
    )
    assert (
        run(
            [offer(kind="percent_off", percent=5, weekdays=["wednesday"])], [line(1, "A", "10.00")]
        )[1][0].message
        == "not today"
    )


def test_excluded_goods_are_never_discounted() -> None:
    lines = [line(1, "FORMULA", "268.00", excluded=True), line(2, "A", "10.00")]
    run([offer(kind="percent_off", percent=50)], lines)
    assert discounts(lines) == [Decimal(0), Decimal("5.00")]


def test_offers_stack_in_priority_order_on_what_is_left() -> None:
    percent = offer(code="PCT", kind="percent_off", percent=10, priority=1)
    spend = offer(code="MJ", kind="spend_save", threshold=100, save=10, priority=2)
    lines = [line(1, "A", "105.00")]
    applied, _ = run([spend, percent], lines)
    # 10% first leaves 94.50, below the 100 threshold: the spend offer does not fire.
    assert [a.code for a in applied] == ["PCT"]
    lines = [line(1, "A", "105.00")]
    applied, _ = run([offer(code="PCT", kind="percent_off", percent=10, priority=3), spend], lines)
    assert [a.code for a in applied] == ["MJ", "PCT"]
    assert discounts(lines) == [Decimal("19.50")]  # 10 off, then 10% of 95


def test_one_offer_per_group_and_exclusive_offers_stand_alone() -> None:
    first = offer(code="A10", kind="percent_off", percent=10, group="price", priority=1)
    second = offer(code="A20", kind="percent_off", percent=20, group="price", priority=2)
    other = offer(code="X", kind="amount_off", save=1, priority=3)
    lines = [line(1, "A", "10.00")]
    applied, _ = run([second, first, other], lines)
    assert [a.code for a in applied] == ["A10", "X"]
    lines = [line(1, "A", "10.00")]
    solo = offer(code="SOLO", kind="percent_off", percent=30, exclusive=True, priority=0)
    applied, _ = run([solo, first, other], lines)
    assert [a.code for a in applied] == ["SOLO"]
    assert discounts(lines) == [Decimal("3.00")]


def test_money_and_receipt_budgets_cap_an_offer() -> None:
    promotion = offer(kind="percent_off", percent=50)
    lines = [line(1, "A", "30.00"), line(2, "B", "10.00")]
    applied, _ = run([promotion], lines, allowances={"P": Allowance(money=Decimal(8))})
    assert applied[0].discount <= Decimal(8)
    assert applied[0].discount >= Decimal("7.98")
    _, skipped = run([promotion], [line(1, "A", "30.00")], allowances={"P": Allowance(receipts=0)})
    assert skipped[0].reason == "budget_exhausted"


def test_weighed_goods_take_no_unit_offers() -> None:
    lines = [line(1, "VEG", "6.50", "0.455")]
    assert run([offer(kind="buy_get_free", buy=1, free=1)], lines)[0] == []


@given(
    cents=st.lists(st.integers(1, 10_000), min_size=1, max_size=30),
    share=st.integers(0, 100),
)
def test_spreading_a_discount_never_prices_a_line_below_zero(cents: list[int], share: int) -> None:
    lines = [line(n, f"S{n}", str(Decimal(c).scaleb(-2))) for n, c in enumerate(cents, 1)]
    total = sum((x.left for x in lines), Decimal(0))
    amount = (total * share / 100).quantize(Decimal("0.01"))
    shares = spread(amount, lines)
    assert sum(shares.values()) == amount
    assert all(Decimal(0) <= shares[x.line_no] <= x.left for x in lines)


def test_a_big_discount_over_many_cheap_lines_leaves_the_small_one_at_zero_or_more() -> None:
    lines = [line(n, "CHEAP", "1.99") for n in range(1, 61)] + [line(61, "BAG", "0.20")]
    run([offer(kind="spend_save", threshold=100, save=30)], lines)
    assert all(x.left >= 0 for x in lines)
    assert sum(discounts(lines)) == Decimal(30)


def test_a_bundle_counts_units_scanned_on_separate_lines() -> None:
    lines = [line(1, "NOODLE", "4.50"), line(2, "NOODLE", "4.50"), line(3, "EGGS", "15.80", "2")]
    run([offer(kind="bundle", skus=["NOODLE", "EGGS"], price=16)], lines)
    assert sum(discounts(lines)) == Decimal("8.60")


def test_offer_times_with_a_zone_are_compared_as_moments() -> None:
    flash = offer(
        kind="percent_off",
        percent=10,
        starts="2026-06-18T10:00:00+00:00",
        ends="2026-06-18T12:00:00+00:00",
    )  # 18:00 to 20:00 in Shanghai
    assert run([flash], [line(1, "A", "10.00")])[1][0].message == "not started"  # noon there
    evening = Occasion(
        store="S001", channel="store", at=datetime(2026, 6, 18, 19, 0, tzinfo=SHANGHAI)
    )
    assert run([flash], [line(1, "A", "10.00")], occasion=evening)[0]


def test_every_offer_that_gives_nothing_says_why() -> None:
    spend = offer(code="MJ", kind="spend_save", threshold=100, save=10, priority=5)
    solo = offer(code="SOLO", kind="percent_off", percent=30, exclusive=True, priority=0)
    wine = offer(code="WINE", kind="percent_off", percent=10, categories=["WINE"], priority=6)
    formula = offer(code="MILK", kind="amount_off", save=5, skus=["FORMULA"], priority=7)
    pairs = offer(code="BOGO", kind="buy_get_free", buy=1, free=1, skus=["B"], priority=8)
    members = offer(code="VIP", kind="percent_off", percent=5, member_only=True, priority=9)
    lines = [
        line(1, "A", "40.00"),
        line(2, "FORMULA", "268.00", excluded=True),
        line(3, "B", "6.00"),
    ]
    applied, skipped = run([spend, solo, wine, formula, pairs, members], lines, shopper=GUEST)
    assert [a.code for a in applied] == ["SOLO"]
    why = {s.code: (s.reason, s.message) for s in skipped}
    assert why == {
        # The exclusive 30% came first and took every line it could.
        "MJ": ("lost_to_exclusive", "an exclusive offer already took its goods"),
        "WINE": ("no_qualifying_goods", "none of its goods are in the cart"),
        "MILK": ("excluded_goods", "its goods are excluded from promotions"),
        "BOGO": ("lost_to_exclusive", "an exclusive offer already took its goods"),
        "VIP": ("not_member", "members only"),
    }
    lines = [line(1, "A", "40.00"), line(2, "B", "6.00")]
    _, skipped = run([spend, pairs], lines)
    why = {s.code: (s.reason, s.message) for s in skipped}
    assert why == {
        "MJ": ("below_threshold", "spend 54.00 more"),
        "BOGO": ("too_few_items", "not enough of its goods in the cart"),
    }
