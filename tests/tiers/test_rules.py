from datetime import date
from decimal import Decimal

import pytest

from regulars.program.schema import Program, Tier
from regulars.tiers import rules
from tests.points.test_rules import GOLD, REGULAR


def program(**review: object) -> Program:
    return Program(
        name="t",
        tiers=[
            REGULAR,
            Tier(code="silver", name="Silver", min_spend=Decimal(3000), min_visits=20),
            GOLD,
        ],
        tier_review={"month": 1, "day": 1, **review},  # type: ignore[arg-type]
    )


def test_the_highest_tier_reached_counts_and_review_drops_one_level_at_most() -> None:
    p = program()
    assert rules.tier_for(p, spend=Decimal(2999), visits=50).code == "regular"
    assert rules.tier_for(p, spend=Decimal(3000), visits=0).code == "silver"
    assert rules.tier_for(p, spend=Decimal(9000), visits=0).code == "gold"
    assert (
        rules.tier_for(program(qualify_by="visits"), spend=Decimal(0), visits=25).code == "silver"
    )
    assert rules.reviewed_tier(p, current="gold", spend=Decimal(9000), visits=0).code == "gold"
    assert rules.reviewed_tier(p, current="gold", spend=Decimal(0), visits=0).code == "silver"
    assert rules.reviewed_tier(p, current="silver", spend=Decimal(9000), visits=0).code == "gold"
    assert rules.reviewed_tier(p, current="regular", spend=Decimal(0), visits=0).code == "regular"


def test_a_ladder_must_climb() -> None:
    with pytest.raises(ValueError, match="must ask more"):
        Program(
            name="t", tiers=[REGULAR, GOLD, Tier(code="silver", name="S", min_spend=Decimal(10))]
        )
    with pytest.raises(ValueError, match="unique"):
        Program(name="t", tiers=[REGULAR, REGULAR])


def test_next_review_is_after_the_given_day() -> None:
    p = program()
    assert rules.next_review(p, date(2026, 6, 1)) == date(2027, 1, 1)
    assert rules.next_review(p, date(2027, 1, 1)) == date(2028, 1, 1)
    assert rules.next_review(program(month=7), date(2026, 6, 1)) == date(2026, 7, 1)


def test_a_sale_that_crosses_a_threshold_upgrades_and_says_what_comes_next() -> None:
    p = program(qualify_by="spend_or_visits")
    before = rules.Standing(REGULAR, spend=Decimal(2900), visits=3, review_on=None)
    outcome = rules.after_sale(p, before, Decimal(100))
    assert (outcome.tier.code, outcome.upgraded, outcome.next_tier) == ("silver", True, GOLD)
    assert (outcome.spend_to_next, outcome.visits_to_next) == (Decimal(5000), 46)


def test_visits_alone_upgrade_when_the_program_says_so() -> None:
    p = program(qualify_by="spend_or_visits")
    outcome = rules.after_sale(p, rules.Standing(REGULAR, Decimal(10), 19), Decimal(5))
    assert (outcome.tier.code, outcome.upgraded) == ("silver", True)
    assert (
        rules.after_sale(p, rules.Standing(REGULAR, Decimal(10), 19), Decimal(0)).upgraded is False
    )


def test_a_sale_never_lowers_a_tier_and_the_member_is_told_what_keeps_it() -> None:
    silver = program().tier("silver")
    standing = rules.Standing(silver, Decimal(2880), 4, review_on=date(2027, 1, 1))
    outcome = rules.after_sale(program(), standing, Decimal(0))
    assert (outcome.tier.code, outcome.upgraded) == ("silver", False)
    assert outcome.message == (
        "Spend 120.00 more by 2027-01-01 to keep Silver; spend 5120.00 more to reach Gold"
    )
    kept = rules.after_sale(program(), standing, Decimal(120))
    assert kept.message.startswith("Silver is kept at the review on 2027-01-01")
