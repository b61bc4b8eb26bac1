from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.checkout.refunds import refund_sale
from regulars.checkout.schemas import CartLine, SaleIn
from regulars.checkout.service import PointsNotRedeemable, commit_sale
from regulars.db import run_in_transaction
from regulars.jobs import Job, run_job
from regulars.points.models import PointEntry
from regulars.points.service import (
    AdjustmentNeedsReason,
    InsufficientPoints,
    adjust_points,
    balance,
    ledger_discrepancies,
)
from regulars.program.service import active_program
from regulars.sales.models import Receipt
from regulars.sales.rules import Limits
from regulars.sales.schemas import RefundIn, RefundLineIn
from regulars.tiers.service import tier_history
from tests.conftest import Database
from tests.factories import NOW, make_member, make_product, make_program, make_store

LIMITS = Limits()


def shop(session: Session, pending_days: int = 0) -> str:
    make_store(session, "S001")
    make_product(session, sku="RICE", price="50.00")
    make_product(session, sku="CIGS", price="30.00", subcategory="TOBACCO", excluded=True)
    make_program(session, pending_days=pending_days)
    return make_member(session).card_number


def sale(
    card: str | None,
    number: str,
    *,
    rice: int = 2,
    cigs: int = 0,
    redeem: int = 0,
    at: datetime = NOW,
) -> SaleIn:
    lines = [CartLine(sku="RICE", quantity=Decimal(rice))]
    if cigs:
        lines.append(CartLine(sku="CIGS", quantity=Decimal(cigs)))
    return SaleIn(
        store_code="S001",
        pos_receipt_no=number,
        sold_at=at,
        member_card=card,
        lines=lines,
        redeem_points=redeem,
    )


def commit(session: Session, what: SaleIn, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return commit_sale(session, sale=what, now=now, limits=LIMITS)


def refund(
    session: Session, receipt_id: int, number: str, line_no: int, quantity: str, now: datetime = NOW
):  # type: ignore[no-untyped-def]
    return refund_sale(
        session,
        receipt_id=receipt_id,
        now=now,
        limits=LIMITS,
        refund=RefundIn(
            pos_refund_no=number,
            refunded_at=now,
            lines=[RefundLineIn(line_no=line_no, quantity=Decimal(quantity))],
        ),
    )


def member_id(session: Session, card: str) -> int:
    from regulars.members.service import find_member

    return find_member(session, card_number=card, region="CN").id


def test_a_sale_earns_on_eligible_goods_and_a_retry_earns_nothing_more(session: Session) -> None:
    card = shop(session)
    first = commit(session, sale(card, "1", cigs=1))
    assert (first.points_earned, first.created, first.total) == (100, True, Decimal(130))
    again = commit(session, sale(card, "1", cigs=1))
    assert (again.receipt_id, again.created, again.points_earned) == (first.receipt_id, False, 100)
    assert balance(session, member_id=member_id(session, card), now=NOW).total == 100
    assert ledger_discrepancies(session) == []


def test_pending_points_count_in_the_balance_but_cannot_be_spent(session: Session) -> None:
    card = shop(session, pending_days=7)
    commit(session, sale(card, "1", rice=4))
    owner = member_id(session, card)
    now = balance(session, member_id=owner, now=NOW)
    assert (now.total, now.spendable, now.pending) == (200, 0, 200)
    with pytest.raises(PointsNotRedeemable):
        commit(session, sale(card, "2", redeem=100), now=NOW + timedelta(days=1))
    later = NOW + timedelta(days=7)
    assert balance(session, member_id=owner, now=later).spendable == 200
    assert (
        run_job(
            session,
            Job.MATURE_POINTS,
            (later + timedelta(days=1)).date().isoformat(),
            allow_future=True,
        )
        == "200 points in 1 lots became spendable"
    )
    assert (
        run_job(
            session,
            Job.MATURE_POINTS,
            (later + timedelta(days=1)).date().isoformat(),
            allow_future=True,
        )
        == "0 points in 0 lots became spendable"
    )


def test_points_pay_part_of_a_receipt_within_the_rules(session: Session) -> None:
    card = shop(session)
    commit(session, sale(card, "1", rice=20))  # 1000 points
    with pytest.raises(PointsNotRedeemable, match="minimum 100"):
        commit(session, sale(card, "2", rice=2, redeem=99))
    paid = commit(session, sale(card, "3", rice=2, redeem=500))
    assert paid.redeemed_value == Decimal("5.00")
    assert paid.to_pay == Decimal("95.00")
    assert paid.tier.tier == "silver"  # the first sale reached 1,000 yuan
    assert paid.points_earned == 190  # 95 yuan paid in money, silver earns double
    with pytest.raises(PointsNotRedeemable, match="at most 690"):  # 1000 - 500 + 190
        commit(session, sale(card, "4", rice=200, redeem=700))
    with pytest.raises(PointsNotRedeemable, match="only be redeemed by a member"):
        commit(session, sale(None, "5", rice=2, redeem=100))
    assert ledger_discrepancies(session) == []


def test_refunds_reverse_in_proportion_and_claw_back_what_was_spent(session: Session) -> None:
    card = shop(session)
    owner = member_id(session, card)
    bought = commit(session, sale(card, "1", rice=4))  # 200 points
    commit(session, sale(card, "2", rice=2, redeem=150))  # spends 150 of them
    points_before = balance(session, member_id=owner, now=NOW).total
    first = refund(session, bought.receipt_id, "R1", 1, "1")
    assert first.points_reversed == 50
    assert refund(session, bought.receipt_id, "R1", 1, "1").created is False
    rest = refund(session, bought.receipt_id, "R2", 1, "3")
    assert rest.points_reversed == 150
    after = balance(session, member_id=owner, now=NOW)
    assert after.total == points_before - 200
    assert ledger_discrepancies(session) == []
    # 200 earned, 150 spent, 98 earned on the 98.50 paid in money: reversing all 200 of the
    # first sale leaves the member 52 points in debt, which their next earnings pay first.
    assert after.total == -52
    assert after.spendable == 0
    paid = commit(session, sale(card, "3", rice=2))
    assert paid.points_earned == 100
    assert balance(session, member_id=owner, now=NOW).total == 48
    assert ledger_discrepancies(session) == []


def test_refunding_a_sale_paid_with_points_gives_them_back(session: Session) -> None:
    card = shop(session)
    owner = member_id(session, card)
    commit(session, sale(card, "1", rice=20))  # 1000 points
    paid = commit(session, sale(card, "2", rice=2, redeem=400))
    result = refund(session, paid.receipt_id, "R1", 1, "2")
    assert result.points_returned == 400
    assert result.points_reversed == paid.points_earned
    assert balance(session, member_id=owner, now=NOW).total == 1000
    assert ledger_discrepancies(session) == []


def test_crossing_a_threshold_upgrades_at_once_and_the_review_soft_lands(session: Session) -> None:
    card = shop(session)
    owner = member_id(session, card)
    assert commit(session, sale(card, "1", rice=19)).tier.tier == "regular"
    upgraded = commit(session, sale(card, "2", rice=1))
    assert (upgraded.tier.tier, upgraded.upgraded_to) == ("silver", "silver")
    assert commit(session, sale(card, "3", rice=1)).points_earned == 100  # silver earns double
    assert (
        run_job(session, Job.TIER_REVIEW, "2027-01-01", allow_future=True)
        == "reviewed 1, kept 1, raised 0, lowered 0"
    )
    assert (
        run_job(session, Job.TIER_REVIEW, "2027-01-01", allow_future=True)
        == "reviewed 0, kept 0, raised 0, lowered 0"
    )
    assert (
        run_job(session, Job.TIER_REVIEW, "2028-01-01", allow_future=True)
        == "reviewed 1, kept 0, raised 0, lowered 1"
    )
    assert [(c.from_code, c.to_code) for c in tier_history(session, member_id=owner)] == [
        (None, "silver"),
        ("silver", "regular"),
    ]


def test_expired_points_are_never_spent_and_expiry_runs_once(session: Session) -> None:
    card = shop(session)
    owner = member_id(session, card)
    commit(session, sale(card, "1", rice=20))
    year_later = NOW + timedelta(days=366)
    assert balance(session, member_id=owner, now=year_later).spendable == 0
    with pytest.raises(PointsNotRedeemable):
        commit(session, sale(card, "2", redeem=100, at=year_later), now=year_later)
    day = year_later.date().isoformat()
    assert (
        run_job(session, Job.EXPIRE_POINTS, day, allow_future=True)
        == "1,000 points in 1 lots expired"
    )
    assert (
        run_job(session, Job.EXPIRE_POINTS, day, allow_future=True) == "0 points in 0 lots expired"
    )
    assert balance(session, member_id=owner, now=year_later).total == 0
    assert ledger_discrepancies(session) == []


def test_manual_adjustments_need_a_reason_and_cannot_overdraw(session: Session) -> None:
    card = shop(session)
    owner = member_id(session, card)
    _, program = active_program(session)
    with pytest.raises(AdjustmentNeedsReason):
        adjust_points(
            session,
            member_id=owner,
            points=50,
            reason=" ",
            actor="agent-7",
            now=NOW,
            program=program,
        )
    adjust_points(
        session,
        member_id=owner,
        points=50,
        reason="goodwill: broken eggs",
        actor="agent-7",
        now=NOW,
        program=program,
    )
    with pytest.raises(InsufficientPoints):
        adjust_points(
            session,
            member_id=owner,
            points=-80,
            reason="typo",
            actor="agent-7",
            now=NOW,
            program=program,
        )
    entry = session.scalars(select(PointEntry).where(PointEntry.member_id == owner)).one()
    assert (entry.points, entry.actor, entry.reason) == (50, "agent-7", "goodwill: broken eggs")


def test_one_receipt_committed_by_many_tills_at_once_earns_once(database: Database) -> None:
    card = run_in_transaction(database.sessions, shop)

    def send(_: int) -> int:
        return run_in_transaction(
            database.sessions, lambda session: commit(session, sale(card, "1", rice=4)).receipt_id
        )

    with ThreadPoolExecutor(64) as pool:
        ids = set(pool.map(send, range(100)))
    with database.sessions() as session:
        assert len(ids) == 1
        assert session.scalar(select(func.count()).select_from(Receipt)) == 1
        assert balance(session, member_id=member_id(session, card), now=NOW).total == 200
        assert ledger_discrepancies(session) == []
