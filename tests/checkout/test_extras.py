"""Referrals, the rewards catalogue, engagement and birthday points, merges, upgrade coupons."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from regulars.checkout.refunds import refund_sale
from regulars.checkout.schemas import CartLine, SaleIn
from regulars.checkout.service import commit_sale
from regulars.coupons.models import CouponKind
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.coupons.service import add_template, get_template, wallet
from regulars.jobs import Job, run_job
from regulars.members.service import SelfReferral, get_member
from regulars.points import rules as points_rules
from regulars.points.bonuses import EngagementCapReached, award_engagement
from regulars.points.service import (
    InsufficientPoints,
    balance,
    ledger_discrepancies,
    merge_accounts,
)
from regulars.program.service import active_program
from regulars.referrals.service import referral_status
from regulars.rewards.service import RewardOutOfStock, order_reward
from regulars.sales.models import Receipt
from regulars.sales.rules import Limits
from regulars.sales.schemas import RefundIn, RefundLineIn
from regulars.tiers.service import current_tier
from tests.factories import NOW, PROGRAM, make_member, make_product, make_program, make_store

LIMITS = Limits()
EXTRAS = (
    PROGRAM.format(pending_days=0).replace(
        'code = "silver"\nname = "Silver"\nmin_spend = 1000\nearn_multiplier = 2',
        'code = "silver"\nname = "Silver"\nmin_spend = 1000\nearn_multiplier = 2\n'
        'birthday_bonus = 300\nupgrade_coupon = "SILVER20"',
    )
    + """
[referral]
referrer_points = 300
referee_points = 100
min_first_purchase = 50
max_rewards_per_referrer = 1

[engagement]
survey_answered = 20
review_written = 10
daily_cap = 25

[[rewards]]
code = "TOTE"
name = "Tote bag"
points = 500
kind = "gift"
stock = 1

[[rewards]]
code = "C5"
name = "5 yuan coupon"
points = 400
kind = "coupon"
coupon_template = "FIVE"
"""
)


def shop(session: Session) -> None:
    make_store(session, "S001")
    make_product(session, sku="RICE", price="50.00")
    for code in ("SILVER20", "FIVE"):
        add_template(
            session,
            now=NOW,
            data=CouponTemplateCreate(
                code=code, name=code, kind=CouponKind.AMOUNT_OFF, amount=Decimal(5)
            ),
        )
    make_program(session, text=EXTRAS)


def buy(session: Session, card: str, rice: int, number: str) -> object:
    sale = SaleIn(
        store_code="S001",
        pos_receipt_no=number,
        sold_at=NOW,
        member_card=card,
        lines=[CartLine(sku="RICE", quantity=Decimal(rice))],
    )
    return commit_sale(session, sale=sale, now=NOW, limits=LIMITS)


def test_a_referral_rewards_both_sides_once_and_respects_the_cap(session: Session) -> None:
    shop(session)
    friend = make_member(session, "13800138000", email="friend@mail.example.cn")
    with pytest.raises(SelfReferral):
        make_member(
            session,
            "13800138009",
            email="friend@mail.example.cn",
            referred_by_code=friend.referral_code,
        )
    newcomer = make_member(session, "13800138001", referred_by_code=friend.referral_code)
    second = make_member(session, "13800138002", referred_by_code=friend.referral_code)
    buy(session, newcomer.card_number, 0 + 1, "1")  # 50 yuan: qualifies
    buy(session, newcomer.card_number, 2, "2")  # a second purchase rewards nothing more
    assert balance(session, member_id=friend.id, now=NOW).total == 300
    assert balance(session, member_id=newcomer.id, now=NOW).total == 100 + 50 + 100
    buy(session, second.card_number, 2, "3")  # beyond the referrer's cap of one
    assert balance(session, member_id=second.id, now=NOW).total == 100
    status = referral_status(session, member_id=friend.id)
    assert (status.referred, status.rewarded, status.refused, status.points_earned) == (
        2,
        1,
        1,
        300,
    )


def test_rewards_cost_points_keep_to_stock_and_can_be_coupons(session: Session) -> None:
    shop(session)
    member = make_member(session)
    other = make_member(session, "13800138001")
    buy(session, member.card_number, 20, "1")  # 1000 points
    buy(session, other.card_number, 20, "2")
    _, program = active_program(session)
    order_reward(session, member_id=member.id, reward_code="TOTE", now=NOW, program=program)
    with pytest.raises(RewardOutOfStock):
        order_reward(session, member_id=other.id, reward_code="TOTE", now=NOW, program=program)
    order = order_reward(session, member_id=member.id, reward_code="C5", now=NOW, program=program)
    assert order.coupon_id is not None
    five = get_template(session, code="FIVE").id
    assert five in {c.template_id for c in wallet(session, member_id=member.id, now=NOW)}
    with pytest.raises(InsufficientPoints):
        order_reward(session, member_id=member.id, reward_code="C5", now=NOW, program=program)
    assert balance(session, member_id=member.id, now=NOW).total == 100
    assert ledger_discrepancies(session) == []


def test_engagement_points_stop_at_the_daily_cap(session: Session) -> None:
    shop(session)
    member = make_member(session)
    _, program = active_program(session)
    assert (
        award_engagement(
            session, member_id=member.id, kind="survey_answered", now=NOW, program=program
        )
        == 20
    )
    assert (
        award_engagement(
            session, member_id=member.id, kind="review_written", now=NOW, program=program
        )
        == 5
    )
    with pytest.raises(EngagementCapReached):
        award_engagement(
            session, member_id=member.id, kind="review_written", now=NOW, program=program
        )
    assert (
        award_engagement(
            session,
            member_id=member.id,
            kind="review_written",
            now=NOW + timedelta(days=1),
            program=program,
        )
        == 10
    )


def test_an_upgrade_brings_its_coupon_and_birthdays_their_bonus_once(session: Session) -> None:
    shop(session)
    member = make_member(session, birth_date="1990-06-02")
    buy(session, member.card_number, 20, "1")
    assert (
        current_tier(session, member_id=member.id, program=active_program(session)[1]).code
        == "silver"
    )
    assert len(wallet(session, member_id=member.id, now=NOW)) == 1
    before = balance(session, member_id=member.id, now=NOW).total
    assert run_job(session, Job.BIRTHDAY_BONUS, "2026-06-20") == "300 birthday points to 1 members"
    assert run_job(session, Job.BIRTHDAY_BONUS, "2026-06-21") == "0 birthday points to 0 members"
    assert run_job(session, Job.BIRTHDAY_BONUS, "2026-07-01") == "0 birthday points to 0 members"
    assert balance(session, member_id=member.id, now=NOW).total == before + 300


def test_a_merge_moves_points_and_purchase_history(session: Session) -> None:
    shop(session)
    keep, duplicate = make_member(session), make_member(session, "13800138001")
    buy(session, duplicate.card_number, 4, "1")
    merge_accounts(session, source_id=duplicate.id, target_id=keep.id, actor="agent", now=NOW)
    assert balance(session, member_id=keep.id, now=NOW).total == 200
    assert balance(session, member_id=duplicate.id, now=NOW).total == 0
    assert session.scalars(select(Receipt.member_id)).all() == [keep.id]
    assert get_member(session, member_id=duplicate.id).merged_into_id == keep.id
    assert ledger_discrepancies(session) == []


def test_a_refund_of_a_sale_paid_partly_in_points_pays_back_only_the_money(
    session: Session,
) -> None:
    shop(session)
    member = make_member(session)
    buy(session, member.card_number, 20, "1")  # 1000 points
    sale = SaleIn(
        store_code="S001",
        pos_receipt_no="2",
        sold_at=NOW,
        member_card=member.card_number,
        lines=[CartLine(sku="RICE", quantity=Decimal(2))],
        redeem_points=400,
    )
    paid = commit_sale(session, sale=sale, now=NOW, limits=LIMITS)
    assert paid.to_pay == Decimal(96)
    back = refund_sale(
        session,
        receipt_id=paid.receipt_id,
        now=NOW,
        limits=LIMITS,
        refund=RefundIn(
            pos_refund_no="R", refunded_at=NOW, lines=[RefundLineIn(line_no=1, quantity=Decimal(2))]
        ),
    )
    assert (back.amount, back.points_returned, back.money_back) == (Decimal(100), 400, Decimal(96))


def test_points_are_spent_in_whole_cents(session: Session) -> None:
    shop(session)
    member = make_member(session)
    buy(session, member.card_number, 20, "1")
    _, program = active_program(session)
    odd = program.redemption.model_copy(update={"points_per_yuan": 200})
    assert (
        points_rules.redeemable_points(odd, wanted=301, balance=1000, payable=Decimal(100)) == 300
    )
    assert points_rules.points_value(odd, 300) == Decimal("1.50")


def test_a_merged_debt_is_settled_and_never_spent_twice(session: Session) -> None:
    shop(session)
    keep, duplicate = make_member(session), make_member(session, "13800138001")
    buy(session, keep.card_number, 10, "1")  # 500 points
    sold = buy(session, duplicate.card_number, 8, "2")  # 400 points
    _, program = active_program(session)
    order_reward(session, member_id=duplicate.id, reward_code="C5", now=NOW, program=program)
    refund_sale(
        session,
        receipt_id=sold.receipt_id,
        now=NOW,
        limits=LIMITS,  # type: ignore[attr-defined]
        refund=RefundIn(
            pos_refund_no="R", refunded_at=NOW, lines=[RefundLineIn(line_no=1, quantity=Decimal(8))]
        ),
    )
    assert balance(session, member_id=duplicate.id, now=NOW).total == -400
    merge_accounts(session, source_id=duplicate.id, target_id=keep.id, actor="agent", now=NOW)
    after = balance(session, member_id=keep.id, now=NOW)
    assert (after.total, after.spendable) == (100, 100)
    with pytest.raises(InsufficientPoints):
        order_reward(session, member_id=keep.id, reward_code="C5", now=NOW, program=program)
    assert ledger_discrepancies(session) == []


def test_a_sale_stands_when_the_upgrade_coupon_has_run_out(session: Session) -> None:
    shop(session)
    from regulars.coupons.models import CouponTemplate as Row

    session.execute(update(Row).where(Row.code == "SILVER20").values(total_quantity=0))
    member = make_member(session)
    result = buy(session, member.card_number, 20, "1")
    assert result.upgraded_to == "silver"  # type: ignore[attr-defined]
    assert wallet(session, member_id=member.id, now=NOW) == []
