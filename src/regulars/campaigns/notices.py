"""Transactional messages: a receipt, a points statement. They are the member's own
business, not marketing: they need an address but no marketing consent, and neither the
weekly cap nor the quiet hours hold them back. A notice is sent once under its key (asking
again for the same statement on the same day, or the same receipt, queues nothing new).
"""

from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.campaigns.messages import member_values, message_key, queue_messages
from regulars.campaigns.models import OutboxMessage
from regulars.campaigns.outbox import address_of
from regulars.campaigns.rules import Wording
from regulars.catalog.models import Store
from regulars.errors import InvalidInput
from regulars.members.models import ConsentChannel
from regulars.members.service import get_member
from regulars.points.models import ReceiptPoints
from regulars.points.service import balance
from regulars.program.service import active_program
from regulars.sales.models import Receipt
from regulars.sales.service import ReceiptNotFound


class Notice(StrEnum):
    POINTS_STATEMENT = "points_statement"
    RECEIPT = "receipt"


WORDING = {
    Notice.POINTS_STATEMENT: Wording(
        "积分对账单",
        "{name}您好：您的积分共{points}分，可用{spendable}分；"
        "{expiring_points}分将在{expiry_date}前到期。会员等级：{tier}。",
        {
            "en": (
                "Your points statement",
                "Dear {name}: you hold {points} points, {spendable} to spend now; "
                "{expiring_points} lapse by {expiry_date}. Tier: {tier}.",
            )
        },
    ),
    Notice.RECEIPT: Wording(
        "电子小票 {receipt_no}",
        "{store} {sold_at}，小票号{receipt_no}：实付{total}元，本单积分{earned}分，"
        "积分余额{points}分。",
        {
            "en": (
                "Your receipt {receipt_no}",
                "{store}, {sold_at}, receipt {receipt_no}: {total} paid, {earned} points "
                "earned, {points} points held.",
            )
        },
    ),
}


def send_notice(
    session: Session,
    *,
    member_id: int,
    notice: Notice,
    channel: ConsentChannel,
    now: datetime,
    receipt_id: int | None = None,
) -> OutboxMessage:
    """Queue the notice to the member on `channel`; the outbox sends it at once."""
    member = get_member(session, member_id=member_id)
    if address_of(member, channel) is None:
        raise InvalidInput(f"member {member_id} has no {channel} address", field="channel")
    program = active_program(session)[1]
    zone = ZoneInfo(program.timezone)
    values = member_values(session, [member_id])
    own = values[member_id]
    if notice is Notice.POINTS_STATEMENT:
        held = balance(session, member_id=member_id, now=now)
        soon = now + timedelta(days=program.expiry.reminder_days)
        lapsing = [lot for lot in held.lots if lot.expires_at and lot.expires_at <= soon]
        last = max((lot.expires_at for lot in lapsing if lot.expires_at), default=soon)
        own |= {
            "points": held.total,
            "spendable": held.spendable,
            "expiring_points": sum(lot.remaining for lot in lapsing if lot.remaining > 0),
            "expiry_date": str(last.astimezone(zone).date()),
        }
        key = f"statement:{member_id}:{now.astimezone(zone).date()}:{channel}"
    else:
        if receipt_id is None:
            raise InvalidInput("a receipt notice names its receipt", field="receipt_id")
        found = session.execute(
            select(Receipt, Store.name, ReceiptPoints.earned)
            .join(Store, Store.id == Receipt.store_id)
            .outerjoin(ReceiptPoints, ReceiptPoints.receipt_id == Receipt.id)
            .where(Receipt.id == receipt_id, Receipt.member_id == member_id)
        ).first()
        if found is None:
            raise ReceiptNotFound(f"member {member_id} has no receipt {receipt_id}")
        receipt, store, earned = found
        own |= {
            "store": store,
            "sold_at": f"{receipt.sold_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "receipt_no": receipt.pos_receipt_no,
            "total": f"{receipt.total_amount:.2f}",
            "earned": earned or 0,
        }
        key = f"receipt:{receipt_id}:{channel}"
    already = session.scalars(select(OutboxMessage).where(OutboxMessage.key == message_key(key)))
    if (sent := already.first()) is not None:
        return sent
    queue_messages(
        session,
        keys={member_id: key},
        channel=channel,
        wording=WORDING[notice],
        values=values,
        now=now,
        marketing=False,
    )
    return session.scalars(select(OutboxMessage).where(OutboxMessage.key == message_key(key))).one()
