from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from regulars.points import rules
from regulars.program.schema import Earning, Expiry, Multiplier, Redemption, Tier

REGULAR = Tier(code="regular", name="Regular")
GOLD = Tier(
    code="gold", name="Gold", min_spend=Decimal(8000), min_visits=50, earn_multiplier=Decimal("1.5")
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY = date(2026, 6, 17)
THURSDAY = date(2026, 6, 18)


def line(
    amount: str,
    sku: str = "A",
    categories: frozenset[str] = frozenset({"GROCERY"}),
    excluded: bool = False,
) -> rules.EarnLine:
    return rules.EarnLine(sku=sku, categories=categories, amount=Decimal(amount), excluded=excluded)


def earn(earning: Earning, lines: list[rules.EarnLine], **context: object) -> rules.Earned:
    values = {"day": THURSDAY, "tier": REGULAR, **context}
    return rules.points_for_receipt(earning, lines, rules.EarnContext(**values))  # type: ignore[arg-type]


def test_base_rate_rounds_the_receipt_once_down_or_half_up() -> None:
    lines = [line("10.60"), line("5.70")]  # 16.30: per line down would give 10 + 5 = 15
    assert earn(Earning(), lines).points == 16
    assert earn(Earning(rounding="half_up"), [line("16.50")]).points == 17
    assert earn(Earning(), [line("16.99")]).points == 16


def test_excluded_items_earn_nothing_whether_by_flag_category_or_sku() -> None:
    earning = Earning(excluded_categories=["TOBACCO"], excluded_skus=["GIFTCARD"])
    result = earn(
        earning,
        [
            line("100", categories=frozenset({"TOBACCO", "CIGS"})),
            line("50", sku="GIFTCARD"),
            line("30", excluded=True),
            line("20"),
        ],
    )
    assert result.points == 20
    assert result.eligible_amount == Decimal(20)


def test_multipliers_stack_by_multiplying() -> None:
    earning = Earning(
        multipliers=[
            Multiplier(
                name="member day", kind="member_day", weekdays=["wednesday"], factor=Decimal(2)
            ),
            Multiplier(name="fresh", kind="category", categories=["FRESH"], factor=Decimal("1.5")),
            Multiplier(name="birthday", kind="birthday_month", factor=Decimal(2)),
        ]
    )
    fresh, dry = line("10", categories=frozenset({"FRESH", "VEG"})), line("10")
    assert earn(earning, [fresh, dry]).points == 25  # 15 + 10
    on_member_day = earn(earning, [fresh, dry], day=WEDNESDAY)
    assert on_member_day.points == 50
    assert "member day" in on_member_day.reasons
    assert earn(earning, [dry], day=WEDNESDAY, birth_month=6, tier=GOLD).points == 60  # 10×1.5×2×2


def test_date_windows_count_their_first_and_last_day_and_may_keep_to_weekdays() -> None:
    earning = Earning(
        multipliers=[
            Multiplier(
                name="double 11",
                kind="date_window",
                starts=date(2026, 11, 7),
                ends=date(2026, 11, 11),
                factor=Decimal(3),
            )
        ]
    )
    assert [earn(earning, [line("10")], day=date(2026, 11, d)).points for d in (6, 7, 11, 12)] == [
        10,
        30,
        30,
        10,
    ]
    weekends = Earning(
        multipliers=[
            Multiplier(
                name="weekend",
                kind="date_window",
                starts=date(2026, 6, 1),
                ends=date(2026, 6, 30),
                weekdays=["saturday", "sunday"],
                factor=Decimal(2),
            )
        ]
    )
    assert earn(weekends, [line("10")], day=date(2026, 6, 20)).points == 20
    assert earn(weekends, [line("10")], day=date(2026, 6, 19)).points == 10


def test_caps_per_receipt_and_per_day() -> None:
    earning = Earning(cap_per_receipt=100, cap_per_day=150)
    assert earn(earning, [line("500")]).points == 100
    assert earn(earning, [line("500")], earned_today=120).points == 30
    assert earn(earning, [line("500")], earned_today=200).points == 0


def test_money_paid_with_points_earns_nothing() -> None:
    result = earn(Earning(), [line("60"), line("40")], paid_with_points=Decimal(20))
    assert result.points == 80
    assert result.eligible_amount == Decimal(100)


def test_a_multiplier_missing_what_it_needs_is_refused() -> None:
    with pytest.raises(ValueError, match="needs categories"):
        Multiplier(name="x", kind="category", factor=Decimal(2))
    with pytest.raises(ValueError, match="ends is before starts"):
        Multiplier(
            name="x",
            kind="date_window",
            starts=date(2026, 2, 1),
            ends=date(2026, 1, 1),
            factor=Decimal(2),
        )


@pytest.mark.parametrize(
    ("policy", "months", "earned", "expected"),
    [
        ("rolling", 24, date(2026, 3, 15), date(2028, 3, 15)),
        ("rolling", 12, date(2024, 2, 29), date(2025, 2, 28)),  # no 29 February next year
        ("rolling", 1, date(2026, 12, 20), date(2027, 1, 20)),
        ("calendar", 24, date(2026, 1, 1), date(2028, 1, 1)),
        ("calendar", 24, date(2026, 12, 31), date(2028, 1, 1)),
    ],
)
def test_expiry_is_the_start_of_a_local_day(
    policy: str, months: int, earned: date, expected: date
) -> None:
    moment = rules.expires_at(Expiry(policy=policy, months=months), earned, SHANGHAI)  # type: ignore[arg-type]
    assert moment == datetime(expected.year, expected.month, expected.day, tzinfo=SHANGHAI)
    assert rules.expires_at(Expiry(policy="never"), earned, SHANGHAI) is None


def test_redemption_respects_minimum_share_and_balance() -> None:
    redemption = Redemption(points_per_yuan=100, min_points=100, max_share=Decimal("0.5"))
    assert rules.redeemable_points(redemption, wanted=50, balance=1000, payable=Decimal(100)) == 0
    assert (
        rules.redeemable_points(redemption, wanted=800, balance=1000, payable=Decimal(100)) == 800
    )
    assert (
        rules.redeemable_points(redemption, wanted=8000, balance=9000, payable=Decimal(100)) == 5000
    )
    assert rules.redeemable_points(redemption, wanted=800, balance=300, payable=Decimal(100)) == 300
    assert rules.points_value(redemption, 250) == Decimal("2.50")


def test_shares_of_refunded_points_add_up() -> None:
    parts, done = [], 0
    for part, last in (
        (Decimal("33.33"), False),
        (Decimal("33.33"), False),
        (Decimal("33.34"), True),
    ):
        share = rules.share_of(100, part, Decimal(100), done=done, last=last)
        parts.append(share)
        done += share
    assert parts == [33, 33, 34]
