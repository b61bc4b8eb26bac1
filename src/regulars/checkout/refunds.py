"""Use case of refunds at the till: money back, and the points that go with it."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from regulars.catalog.models import Product
from regulars.catalog.service import category_codes
from regulars.checkout.schemas import RefundResult
from regulars.points import rules
from regulars.points.models import EntryKind, PointEntry, PointLot, ReceiptPoints
from regulars.points.service import credit_points, fefo, lock_member, take_points
from regulars.program.models import ProgramVersion
from regulars.program.service import load_program
from regulars.sales.models import Receipt, Refund
from regulars.sales.rules import Limits
from regulars.sales.schemas import RefundIn
from regulars.sales.service import get_receipt, refund_receipt


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


def refund_sale(
    session: Session,
    *,
    receipt_id: int,
    refund: RefundIn,
    now: datetime,
    limits: Limits,
) -> RefundResult:
    """Refund goods; reverse the points they earned and give back the points they were paid with.

    Points reversed come first from the sale's own lot, then from the member's other lots,
    first expiring first; what the member has already spent becomes a debt that later
    earnings pay off. Nothing is lost and nothing is counted twice.
    """
    record, created = refund_receipt(
        session, receipt_id=receipt_id, refund=refund, now=now, limits=limits
    )
    points = session.get(ReceiptPoints, receipt_id)
    if not created or points is None:
        return _refund_result(session, record, created=created)
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
        credit_points(
            session,
            member_id=points.member_id,
            points=give_back,
            kind=EntryKind.REVERSE,
            now=now,
            program=program,
            receipt_id=receipt_id,
            refund_id=record.id,
            reason="points paid, given back on refund",
        )
    points.reversed += reverse
    points.returned += give_back
    points.refunded_eligible_amount += refunded_eligible
    session.flush()
    return _refund_result(session, record, created=True)


def _refunded_money(session: Session, receipt_id: int) -> Decimal:
    amounts = session.scalars(select(Refund.amount).where(Refund.receipt_id == receipt_id))
    return sum(amounts, Decimal(0))


def _refund_result(session: Session, record: Refund, *, created: bool) -> RefundResult:
    """What a refund did, read back from the ledger, so a retried refund gets the same answer."""
    session.flush()
    moved = list(
        session.scalars(
            select(PointEntry.points).where(
                PointEntry.refund_id == record.id, PointEntry.kind == EntryKind.REVERSE
            )
        )
    )
    returned = sum(p for p in moved if p > 0)
    value = Decimal(0)
    points = session.get(ReceiptPoints, record.receipt_id)
    if returned and points is not None:
        program = load_program(session.get_one(ProgramVersion, points.program_version))
        value = rules.points_value(program.redemption, returned)
    return RefundResult(
        refund_id=record.id,
        created=created,
        amount=record.amount,
        points_reversed=-sum(p for p in moved if p < 0),
        points_returned=returned,
        money_back=record.amount - value,
    )
