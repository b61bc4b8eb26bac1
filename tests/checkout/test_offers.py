from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from random import Random

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.checkout.schemas import CartIn, CartLine, SaleIn
from regulars.checkout.service import commit_sale, quote
from regulars.coupons.codes import new_code
from regulars.coupons.models import Coupon, CouponKind, CouponStatus
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.coupons.service import (
    CouponLimitReached,
    CouponsSoldOut,
    add_template,
    expire_coupons,
    issue_coupons,
    wallet,
)
from regulars.db import run_in_transaction
from regulars.sales.models import Receipt
from regulars.sales.rules import Limits
from tests.conftest import Database
from tests.factories import NOW, PROGRAM, make_member, make_product, make_program, make_store

LIMITS = Limits()
OFFERS = (
    PROGRAM.format(pending_days=0)
    + """
[[promotions]]
code = "MJ100"
name = "spend 100 save 20"
kind = "spend_save"
threshold = 100
save = 20
budget_count = 10

[[promotions]]
code = "EGG2"
name = "second box of eggs half price"
kind = "nth_item"
skus = ["EGGS"]
nth = 2
percent = 50
priority = 10
"""
)


def shop(session: Session) -> tuple[str, str]:
    make_store(session, "S001")
    make_product(session, sku="RICE", price="50.00")
    make_product(session, sku="EGGS", price="15.80")
    make_program(session, text=OFFERS)
    add_template(
        session,
        now=NOW,
        data=CouponTemplateCreate(
            code="WELCOME10",
            name="10 off your first shop",
            kind=CouponKind.AMOUNT_OFF,
            amount=Decimal(10),
            min_spend=Decimal(50),
            valid_days=30,
            per_member_limit=1,
            total_quantity=100,
        ),
    )
    first, second = make_member(session, "13800138000"), make_member(session, "13800138001")
    return first.card_number, second.card_number


def ids_of(session: Session, *cards: str) -> list[int]:
    from regulars.members.service import find_member

    return [find_member(session, card_number=c, region="CN").id for c in cards]


def cart(card: str | None, rice: int, eggs: int = 0, coupons: tuple[str, ...] = ()) -> dict:  # type: ignore[type-arg]
    lines = [CartLine(sku="RICE", quantity=Decimal(rice))]
    if eggs:
        lines.append(CartLine(sku="EGGS", quantity=Decimal(eggs)))
    return {
        "store_code": "S001",
        "member_card": card,
        "sold_at": NOW,
        "lines": lines,
        "coupons": list(coupons),
    }


def test_the_quote_and_the_sale_agree_to_the_cent(session: Session) -> None:
    card, _ = shop(session)
    [member] = ids_of(session, card)
    [coupon] = issue_coupons(
        session, template_code="WELCOME10", member_ids=[member], now=NOW, source="test"
    )
    priced = quote(session, cart=CartIn(**cart(card, 2, 2, (coupon.code,))), now=NOW)
    sale = commit_sale(
        session,
        sale=SaleIn(**cart(card, 2, 2, (coupon.code,)), pos_receipt_no="1"),
        now=NOW,
        limits=LIMITS,
    )
    assert [o.code for o in priced.promotions] == ["EGG2", "MJ100"]
    assert priced.discount == Decimal("7.90") + Decimal(20) + Decimal(10)
    for name in ("lines", "promotions", "coupons", "total", "to_pay", "points_earned"):
        assert getattr(sale, name) == getattr(priced, name)
    receipt = session.get_one(Receipt, sale.receipt_id)
    assert receipt.discount_amount == priced.discount
    assert receipt.total_amount == priced.total
    assert session.get_one(Coupon, coupon.id).status is CouponStatus.REDEEMED


def test_the_quote_explains_every_offer_it_considered(session: Session) -> None:
    card, _ = shop(session)
    priced = quote(session, cart=CartIn(**cart(card, 1, 1)), now=NOW)
    assert [(o.code, o.applied, o.reason, o.message) for o in priced.considered] == [
        ("EGG2", False, "too_few_items", "not enough of its goods in the cart"),
        ("MJ100", False, "below_threshold", "spend 34.20 more"),
    ]
    priced = quote(session, cart=CartIn(**cart(card, 2, 2)), now=NOW)
    assert [(o.code, o.applied, o.discount) for o in priced.considered] == [
        ("EGG2", True, Decimal("7.90")),
        ("MJ100", True, Decimal(20)),
    ]


def test_a_retried_sale_gets_the_same_answer_and_spends_its_coupon_once(session: Session) -> None:
    card, _ = shop(session)
    [member] = ids_of(session, card)
    [coupon] = issue_coupons(
        session, template_code="WELCOME10", member_ids=[member], now=NOW, source="test"
    )
    sale = SaleIn(**cart(card, 2, coupons=(coupon.code,)), pos_receipt_no="1")
    first = commit_sale(session, sale=sale, now=NOW, limits=LIMITS)
    again = commit_sale(session, sale=sale, now=NOW, limits=LIMITS)
    assert again.model_copy(update={"created": True}) == first
    assert not again.created
    later = commit_sale(
        session,
        sale=SaleIn(**cart(card, 2, coupons=(coupon.code,)), pos_receipt_no="2"),
        now=NOW,
        limits=LIMITS,
    )
    assert later.coupons == []
    assert [r.reason for r in later.rejected_coupons] == ["coupon_redeemed"]


def test_coupons_know_their_owner_expiry_and_limits(session: Session) -> None:
    card, other = shop(session)
    first, second = ids_of(session, card, other)
    [coupon] = issue_coupons(
        session, template_code="WELCOME10", member_ids=[first], now=NOW, source="test"
    )
    with pytest.raises(CouponLimitReached):
        issue_coupons(session, template_code="WELCOME10", member_ids=[first], now=NOW, source="t")
    never_issued = new_code(Random(7))  # well formed, but no coupon has it
    shown = (coupon.code, never_issued, "NOSUCHCODE")
    priced = quote(session, cart=CartIn(**cart(other, 2, coupons=shown)), now=NOW)
    assert [r.reason for r in priced.rejected_coupons] == [
        "coupon_other_member",
        "coupon_unknown",
        "coupon_check_failed",
    ]
    month_later = NOW + timedelta(days=31)
    assert wallet(session, member_id=first, now=NOW) != []
    assert wallet(session, member_id=first, now=month_later) == []
    late = quote(
        session,
        cart=CartIn(**{**cart(card, 2, coupons=(coupon.code,)), "sold_at": month_later}),
        now=month_later,
    )
    assert [r.reason for r in late.rejected_coupons] == ["coupon_expired"]
    assert expire_coupons(session, as_of=month_later) == 1
    assert expire_coupons(session, as_of=month_later) == 0
    with pytest.raises(CouponLimitReached):
        issue_coupons(
            session, template_code="WELCOME10", member_ids=[second] * 2, now=NOW, source="t"
        )
    with pytest.raises(CouponsSoldOut):  # 100 printed, one already given to the first member
        issue_coupons(
            session, template_code="WELCOME10", member_ids=[None] * 100, now=NOW, source="t"
        )


def test_one_coupon_shown_at_64_tills_at_once_is_taken_once(database: Database) -> None:
    run_in_transaction(database.sessions, shop)
    # A printed coupon anyone may use, shown in 64 anonymous sales: no member lock lines
    # them up, only the coupon's own guard decides.
    [coupon] = run_in_transaction(
        database.sessions,
        lambda s: issue_coupons(
            s, template_code="WELCOME10", member_ids=[None], now=NOW, source="flyer"
        ),
    )

    def sell(n: int) -> int:
        sale = SaleIn(**cart(None, 2, coupons=(coupon.code,)), pos_receipt_no=f"T{n}")
        result = run_in_transaction(
            database.sessions,
            lambda s: commit_sale(s, sale=sale, now=NOW, limits=LIMITS),
        )
        return len(result.coupons)

    with ThreadPoolExecutor(64) as pool:
        taken = list(pool.map(sell, range(64)))
    assert sum(taken) == 1
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 64


def test_a_budget_of_ten_holds_under_64_concurrent_sales(database: Database) -> None:
    card, _ = run_in_transaction(database.sessions, shop)

    def sell(n: int) -> bool:
        sale = SaleIn(**cart(card if n % 2 else None, 3), pos_receipt_no=f"B{n}")
        result = run_in_transaction(
            database.sessions,
            lambda s: commit_sale(s, sale=sale, now=NOW, limits=LIMITS),
        )
        return any(o.code == "MJ100" for o in result.promotions)

    with ThreadPoolExecutor(64) as pool:
        granted = list(pool.map(sell, range(64)))
    assert sum(granted) == 10
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 64
