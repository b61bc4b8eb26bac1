"""A quote and the sale committed right after it agree on everything: lines, totals,
points and tier, whatever the program and the member's history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from regulars.checkout.schemas import CartIn, CartLine, SaleIn
from regulars.checkout.service import PointsNotRedeemable, commit_sale, quote
from regulars.points.service import ledger_discrepancies
from regulars.sales.rules import Limits
from tests.factories import NOW, make_member, make_product, make_program, make_store

LIMITS = Limits()

PROGRAM = """
name = "Property program"
[earning]
points_per_yuan = {rate}
rounding = "{rounding}"
excluded_categories = ["TOBACCO"]
{cap}
[[earning.multipliers]]
name = "member day"
kind = "member_day"
weekdays = ["{member_day}"]
factor = 2
[expiry]
policy = "rolling"
months = 12
[[tiers]]
code = "regular"
name = "Regular"
[[tiers]]
code = "silver"
name = "Silver"
min_spend = {silver_spend}
min_visits = {silver_visits}
earn_multiplier = 2
[[tiers]]
code = "gold"
name = "Gold"
min_spend = {gold_spend}
min_visits = {gold_visits}
earn_multiplier = 3
[tier_review]
qualify_by = "{qualify_by}"
[redemption]
points_per_yuan = 100
min_points = 100
max_share = 0.5
"""

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

programs = st.builds(
    lambda rate, rounding, cap, day, silver, gold, how: PROGRAM.format(
        rate=rate,
        rounding=rounding,
        cap=f"cap_per_day = {cap}" if cap else "",
        member_day=day,
        silver_spend=silver[0],
        silver_visits=silver[1],
        gold_spend=silver[0] + gold[0],
        gold_visits=silver[1] + gold[1],
        qualify_by=how,
    ),
    st.integers(1, 3),
    st.sampled_from(["down", "half_up"]),
    st.sampled_from([0, 150, 400]),
    st.sampled_from(WEEKDAYS),
    st.tuples(st.integers(50, 600), st.integers(1, 4)),
    st.tuples(st.integers(1, 600), st.integers(1, 4)),
    st.sampled_from(["spend", "visits", "spend_or_visits", "spend_and_visits"]),
)
carts = st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(0, 2)).filter(any)
histories = st.lists(carts, max_size=4)


def _lines(rice: int, eggs: int, cigs: int) -> list[CartLine]:
    wanted = {"RICE": rice, "EGGS": eggs, "CIGS": cigs}
    return [CartLine(sku=sku, quantity=Decimal(n)) for sku, n in wanted.items() if n]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    program=programs,
    history=histories,
    cart=carts,
    redeem=st.sampled_from([0, 0, 100, 250, 5000]),
    hours=st.integers(0, 24 * 9),
)
def test_a_quote_and_the_sale_after_it_agree(
    session: Session,
    program: str,
    history: list[tuple[int, int, int]],
    cart: tuple[int, int, int],
    redeem: int,
    hours: int,
) -> None:
    example = session.begin_nested()
    try:
        make_store(session, "S001")
        make_product(session, sku="RICE", price="50.00")
        make_product(session, sku="EGGS", price="15.80")
        make_product(session, sku="CIGS", price="30.00", subcategory="TOBACCO", excluded=True)
        make_program(session, text=program)
        card = make_member(session).card_number
        start = NOW - timedelta(days=10)
        for n, past in enumerate(history):
            commit_sale(
                session,
                sale=SaleIn(
                    store_code="S001",
                    pos_receipt_no=f"H{n}",
                    sold_at=start + timedelta(days=n),
                    member_card=card,
                    lines=_lines(*past),
                ),
                now=NOW,
                limits=LIMITS,
            )
        at = start + timedelta(hours=hours)
        asked = CartIn(
            store_code="S001",
            sold_at=at,
            member_card=card,
            lines=_lines(*cart),
            redeem_points=redeem,
        )
        quoted = quote(session, cart=asked, now=NOW)
        sale = SaleIn(**asked.model_dump(), pos_receipt_no="NOW")
        if quoted.points_problem:
            with pytest.raises(PointsNotRedeemable) as refused:
                commit_sale(session, sale=sale, now=NOW, limits=LIMITS)
            assert refused.value.message == quoted.points_problem
            return
        sold = commit_sale(session, sale=sale, now=NOW, limits=LIMITS)
        assert sold.model_dump(include=set(type(quoted).model_fields)) == quoted.model_dump()
        assert ledger_discrepancies(session) == []
    finally:
        example.rollback()
        session.expunge_all()  # the next example reuses the ids


def test_a_member_who_qualifies_by_visits_is_told_so_by_the_quote(session: Session) -> None:
    make_store(session, "S001")
    make_product(session, sku="EGGS", price="15.80")
    make_program(
        session,
        text=PROGRAM.format(
            rate=1,
            rounding="down",
            cap="",
            member_day="monday",
            silver_spend=1000,
            silver_visits=3,
            gold_spend=5000,
            gold_visits=30,
            qualify_by="spend_or_visits",
        ),
    )
    card = make_member(session).card_number
    eggs = [CartLine(sku="EGGS", quantity=Decimal(1))]
    for n in range(2):
        sale = SaleIn(
            store_code="S001",
            pos_receipt_no=f"V{n}",
            member_card=card,
            lines=eggs,
            sold_at=NOW - timedelta(days=2 - n),
        )
        commit_sale(session, sale=sale, now=NOW, limits=LIMITS)
    third = CartIn(store_code="S001", sold_at=NOW, member_card=card, lines=eggs)
    quoted = quote(session, cart=third, now=NOW)
    sold = commit_sale(
        session,
        sale=SaleIn(**third.model_dump(), pos_receipt_no="V2"),
        now=NOW,
        limits=LIMITS,
    )
    assert quoted.tier is not None
    assert sold.tier is not None
    assert (quoted.tier.tier, quoted.tier.next_tier) == ("silver", "gold")
    assert sold.tier == quoted.tier
    assert sold.upgraded_to == "silver"
