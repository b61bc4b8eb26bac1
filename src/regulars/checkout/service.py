"""Use cases of the till: commit a sale with its points exactly once, refund it.

A sale is recorded through the sales record, which is idempotent on (store, POS receipt
number); points move only when the receipt is new, inside the same transaction, so a till
that retries can never earn or redeem twice.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from regulars.catalog.models import Product, Store
from regulars.catalog.service import category_codes
from regulars.checkout.schemas import RefundResult, SaleIn, SaleResult
from regulars.errors import Conflict, InvalidInput
from regulars.members.models import MemberStatus
from regulars.points import rules
from regulars.points.models import EntryKind, PointEntry, PointLot, ReceiptPoints
from regulars.points.service import (
    MemberNotActive,
    add_points,
    balance,
    fefo,
    lock_member,
    take_points,
)
from regulars.program.models import ProgramVersion
from regulars.program.schema import Program
from regulars.program.service import active_program, load_program
from regulars.sales.models import Receipt, Refund
from regulars.sales.schemas import ReceiptIn, RefundIn
from regulars.sales.service import get_receipt, record_receipt, refund_receipt
from regulars.tiers.service import current_tier, upgrade_if_qualified


class PointsNotRedeemable(Conflict):
    code = "points_not_redeemable"


def _earn_lines(session: Session, receipt: Receipt) -> list[rules.EarnLine]:
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(Product.id.in_({line.product_id for line in receipt.lines}))
        )
    }
    paths = category_codes(session)
    return [
        rules.EarnLine(
            sku=products[line.product_id].sku,
            categories=paths[products[line.product_id].category_id],
            amount=line.amount,
            excluded=products[line.product_id].excluded_from_points,
        )
        for line in receipt.lines
    ]


def _earned_on_day(session: Session, member_id: int, sold_at: datetime, zone: ZoneInfo) -> int:
    day = sold_at.astimezone(zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    query = select(func.coalesce(func.sum(ReceiptPoints.earned), 0)).where(
        ReceiptPoints.member_id == member_id,
        ReceiptPoints.sold_at >= start,
        ReceiptPoints.sold_at < start + timedelta(days=1),
    )
    return int(session.scalar(query) or 0)


def _result(
    receipt: Receipt,
    created: bool,
    points: ReceiptPoints | None,
    tier: str | None,
    upgraded_to: str | None = None,
) -> SaleResult:
    redeemed_value = points.redeemed_value if points else Decimal(0)
    return SaleResult(
        receipt_id=receipt.id,
        created=created,
        program_version=points.program_version if points else None,
        total_amount=receipt.total_amount,
        points_redeemed=points.redeemed if points else 0,
        redeemed_value=redeemed_value,
        to_pay=receipt.total_amount - redeemed_value,
        points_earned=points.earned if points else 0,
        tier=tier,
        upgraded_to=upgraded_to,
    )


def commit_sale(
    session: Session, *, sale: SaleIn, now: datetime, future_tolerance: timedelta
) -> SaleResult:
    """Record a sale, take the points it is paid with, credit the points it earns."""
    if sale.redeem_points and not sale.member_card:
        raise InvalidInput("points can only be redeemed by a member", field="redeem_points")
    version, program = active_program(session)
    receipt, created = record_receipt(
        session,
        receipt=ReceiptIn.model_validate(sale.model_dump(exclude={"redeem_points"})),
        now=now,
        future_tolerance=future_tolerance,
    )
    if not created or receipt.member_id is None:
        points = session.get(ReceiptPoints, receipt.id)
        held = None
        if receipt.member_id is not None:
            held = current_tier(session, member_id=receipt.member_id, program=program).code
        return _result(receipt, created, points, held)

    member = lock_member(session, receipt.member_id)
    if member.status is not MemberStatus.ACTIVE:
        raise MemberNotActive(f"member card is {member.status}", field="member_card")
    zone = ZoneInfo(session.get_one(Store, receipt.store_id).timezone)
    redeemed = _redeem(session, program, member.id, sale.redeem_points, receipt, now)
    redeemed_value = rules.points_value(program.redemption, redeemed)
    tier = current_tier(session, member_id=member.id, program=program)
    earned = rules.points_for_receipt(
        program.earning,
        _earn_lines(session, receipt),
        rules.EarnContext(
            day=receipt.sold_at.astimezone(zone).date(),
            tier=tier,
            birth_month=member.birth_date.month if member.birth_date else None,
            earned_today=_earned_on_day(session, member.id, receipt.sold_at, zone),
            paid_with_points=redeemed_value,
        ),
    )
    add_points(
        session,
        member_id=member.id,
        points=earned.points,
        kind=EntryKind.EARN,
        now=now,
        earned_at=receipt.sold_at,
        available_at=rules.available_from(receipt.sold_at, program.earning.pending_days),
        expires_at=rules.expires_at(program.expiry, receipt.sold_at.astimezone(zone).date(), zone),
        receipt_id=receipt.id,
        reason="; ".join(earned.reasons),
    )
    points = ReceiptPoints(
        receipt_id=receipt.id,
        member_id=member.id,
        program_version=version,
        eligible_amount=earned.eligible_amount,
        refunded_eligible_amount=Decimal(0),
        earned=earned.points,
        reversed=0,
        redeemed=redeemed,
        redeemed_value=redeemed_value,
        returned=0,
        sold_at=receipt.sold_at,
    )
    session.add(points)
    session.flush()
    upgraded = upgrade_if_qualified(
        session, member_id=member.id, program=program, program_version=version, now=now
    )
    return _result(
        receipt, True, points, (upgraded or tier).code, upgraded.code if upgraded else None
    )


def _redeem(
    session: Session, program: Program, member_id: int, wanted: int, receipt: Receipt, now: datetime
) -> int:
    if not wanted:
        return 0
    spendable = balance(session, member_id=member_id, now=now).spendable
    allowed = rules.redeemable_points(
        program.redemption, wanted=wanted, balance=spendable, payable=receipt.total_amount
    )
    if allowed < wanted:
        raise PointsNotRedeemable(
            f"{wanted} points offered, at most {allowed} may pay this receipt "
            f"(balance {spendable}, minimum {program.redemption.min_points}, "
            f"at most {program.redemption.max_share:.0%} of the amount)",
            field="redeem_points",
        )
    take_points(
        session,
        member_id=member_id,
        points=wanted,
        kind=EntryKind.BURN,
        now=now,
        receipt_id=receipt.id,
        reason="paid with points",
    )
    return wanted


def refund_sale(
    session: Session,
    *,
    receipt_id: int,
    refund: RefundIn,
    now: datetime,
    future_tolerance: timedelta,
) -> RefundResult:
    """Refund goods; reverse the points they earned and give back the points they were paid with.

    Points reversed come first from the sale's own lot, then from the member's other lots,
    first expiring first; what the member has already spent becomes a debt that later
    earnings pay off. Nothing is lost and nothing is counted twice.
    """
    record, created = refund_receipt(
        session, receipt_id=receipt_id, refund=refund, now=now, future_tolerance=future_tolerance
    )
    points = session.get(ReceiptPoints, receipt_id)
    if not created or points is None:
        return _refund_result(session, record, created)
    receipt = get_receipt(session, receipt_id=receipt_id)
    lock_member(session, points.member_id)
    program = load_program(session.get_one(ProgramVersion, points.program_version))
    earn_lines = dict(
        zip((line.id for line in receipt.lines), _earn_lines(session, receipt), strict=True)
    )
    refunded_eligible = sum(
        (
            part.amount
            for part in record.lines
            if rules.is_eligible(program.earning, earn_lines[part.receipt_line_id])
        ),
        Decimal(0),
    )
    all_refunded = _refunded_money(session, receipt_id)
    reverse = rules.share_of(
        points.earned,
        refunded_eligible,
        points.eligible_amount,
        done=points.reversed,
        last=points.refunded_eligible_amount + refunded_eligible >= points.eligible_amount,
    )
    give_back = rules.share_of(
        points.redeemed,
        record.amount,
        receipt.total_amount,
        done=points.returned,
        last=all_refunded >= receipt.total_amount,
    )
    if reverse:
        own = list(
            session.scalars(
                select(PointLot).where(
                    PointLot.receipt_id == receipt_id,
                    PointLot.member_id == points.member_id,
                    PointLot.kind == EntryKind.EARN,
                    PointLot.remaining > 0,
                )
            )
        )
        others = [
            lot
            for lot in fefo(
                session,
                PointLot.member_id == points.member_id,
                PointLot.remaining > 0,
                or_(PointLot.expires_at.is_(None), PointLot.expires_at > now),
            )
            if lot not in own
        ]
        take_points(
            session,
            member_id=points.member_id,
            points=reverse,
            kind=EntryKind.REVERSE,
            now=now,
            lots=own + others,
            receipt_id=receipt_id,
            refund_id=record.id,
            reason="refund",
            into_debt=True,
        )
    if give_back:
        zone = ZoneInfo(program.timezone)
        add_points(
            session,
            member_id=points.member_id,
            points=give_back,
            kind=EntryKind.REVERSE,
            now=now,
            available_at=now,
            expires_at=rules.expires_at(program.expiry, now.astimezone(zone).date(), zone),
            receipt_id=receipt_id,
            reason="points paid, given back on refund",
        )
        session.flush()
        session.execute(
            PointEntry.__table__.update()  # type: ignore[attr-defined]
            .where(
                PointEntry.receipt_id == receipt_id,
                PointEntry.refund_id.is_(None),
                PointEntry.kind == EntryKind.REVERSE,
                PointEntry.points > 0,
            )
            .values(refund_id=record.id)
        )
    points.reversed += reverse
    points.returned += give_back
    points.refunded_eligible_amount += refunded_eligible
    session.flush()
    return RefundResult(
        refund_id=record.id,
        created=True,
        amount=record.amount,
        points_reversed=reverse,
        points_returned=give_back,
    )


def _refunded_money(session: Session, receipt_id: int) -> Decimal:
    amounts = session.scalars(select(Refund.amount).where(Refund.receipt_id == receipt_id))
    return sum(amounts, Decimal(0))


def _refund_result(session: Session, record: Refund, created: bool) -> RefundResult:
    moved = list(
        session.scalars(
            select(PointEntry.points).where(
                PointEntry.refund_id == record.id, PointEntry.kind == EntryKind.REVERSE
            )
        )
    )
    return RefundResult(
        refund_id=record.id,
        created=created,
        amount=record.amount,
        points_reversed=-sum(p for p in moved if p < 0),
        points_returned=sum(p for p in moved if p > 0),
    )
