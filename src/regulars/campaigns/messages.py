"""Putting messages in the outbox, for a campaign, a journey's step or a transactional
notice: who may be sent one now (consent, an address, the weekly cap on marketing), what
each member's message may say about them, and the rows the outbox workers send."""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from regulars.audiences.service import consents_to
from regulars.campaigns.models import MessageStatus, OutboxMessage
from regulars.campaigns.rules import LANGUAGES, Wording
from regulars.catalog.models import Product, Store
from regulars.db import bulk_insert
from regulars.errors import NotFound
from regulars.insights.models import Recommendation
from regulars.members.models import ConsentChannel, Member
from regulars.points.models import PointLot
from regulars.program.service import active_program
from regulars.tiers.models import MemberTier

BATCH = 5_000  # members a statement looks up at once
RECOMMENDED = 3  # products a message's {recommended} names
SEPARATOR = {"en": ", "}  # between them; Chinese lists with 、
WEEK = timedelta(days=7)
Values = dict[str, object]
T = TypeVar("T")


def chunks(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def reasons_to_skip(
    session: Session, channel: ConsentChannel, members: Sequence[int], now: datetime, cap: int
) -> dict[int, str]:
    """Why each member who may not be sent marketing on `channel` now gets nothing."""
    agreed: set[int] = set()
    addressed: set[int] = set()
    recent: dict[int, int] = {}
    address = {ConsentChannel.SMS: Member.phone_index, ConsentChannel.EMAIL: Member.email_index}
    column = address.get(channel, Member.card_number)  # push and WeChat go by card
    for chunk in chunks(members):
        agreed |= set(
            session.scalars(select(Member.id).where(Member.id.in_(chunk), consents_to(channel)))
        )
        addressed |= set(
            session.scalars(select(Member.id).where(Member.id.in_(chunk), column.is_not(None)))
        )
        recent |= dict(
            session.execute(
                select(OutboxMessage.member_id, func.count())
                .where(
                    OutboxMessage.member_id.in_(chunk),
                    OutboxMessage.marketing.is_(True),
                    OutboxMessage.created_at > now - WEEK,
                )
                .group_by(OutboxMessage.member_id)
            ).all()
        )
    why: dict[int, str] = {}
    for m in members:
        if m not in agreed:
            why[m] = f"no {channel} consent"
        elif m not in addressed:
            why[m] = f"no {channel} address"
        elif recent.get(m, 0) >= cap:
            why[m] = f"{cap} messages this week"
    return why


def member_values(session: Session, members: Sequence[int]) -> dict[int, Values]:
    """What a message may say about each member, and the language they read."""
    program = active_program(session)[1]
    tier_names = {t.code: t.name for t in program.tiers}
    values: dict[int, Values] = {}
    popular = _recommended(session, Recommendation.member_id.is_(None)).get(None, [])
    for chunk in chunks(members):
        recommended = _recommended(session, Recommendation.member_id.in_(chunk))
        points = dict(
            session.execute(
                select(PointLot.member_id, func.sum(PointLot.remaining))
                .where(PointLot.member_id.in_(chunk))
                .group_by(PointLot.member_id)
            ).all()
        )
        tiers = dict(
            session.execute(
                select(MemberTier.member_id, MemberTier.tier_code).where(
                    MemberTier.member_id.in_(chunk)
                )
            ).all()
        )
        found = session.execute(
            select(Member, Store.name)
            .outerjoin(Store, Store.id == Member.join_store_id)
            .where(Member.id.in_(chunk))
        )
        for member, store in found:
            values[member.id] = {
                "name": member.name or "",
                "card_number": member.card_number,
                "points": int(points.get(member.id) or 0),
                "tier": tier_names.get(tiers.get(member.id, ""), program.tiers[0].name),
                "store": store or "",
                "language": member.language,
                "recommended": SEPARATOR.get(member.language or "", "、").join(
                    recommended.get(member.id, popular)
                ),
            }
    return values


def _recommended(session: Session, whose: ColumnElement[bool]) -> dict[int | None, list[str]]:
    """The names of the first products of each stored recommendation list."""
    found: dict[int | None, list[str]] = {}
    for member_id, name in session.execute(
        select(Recommendation.member_id, Product.name)
        .join(Product, Product.id == Recommendation.product_id)
        .where(whose, Recommendation.rank <= RECOMMENDED)
        .order_by(Recommendation.member_id, Recommendation.rank)
    ):
        found.setdefault(member_id, []).append(name)
    return found


def message_key(send: str) -> str:
    """The idempotency key of a send named like "campaign:4:17", as the provider sees it."""
    return hashlib.sha256(send.encode()).hexdigest()


def queue_messages(
    session: Session,
    *,
    keys: Mapping[int, str],
    channel: ConsentChannel,
    wording: Wording,
    values: Mapping[int, Values],
    now: datetime,
    marketing: bool = True,
    campaign_id: int | None = None,
    journey_id: int | None = None,
) -> int:
    """One outbox message to each member in `values`, in their language; `keys` names each
    member's send (a campaign's to them, a journey's step for their entry): the key that
    the provider sees again on a retry."""
    rows = []
    for member_id, own in values.items():
        subject, body = wording.rendered(str(own.get("language") or ""), own)
        rows.append(
            {
                "key": message_key(keys[member_id]),
                "campaign_id": campaign_id,
                "journey_id": journey_id,
                "member_id": member_id,
                "channel": channel,
                "marketing": marketing,
                "subject": subject,
                "body": body,
                "status": MessageStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    for chunk in chunks(rows):
        session.execute(bulk_insert(OutboxMessage), chunk)
    return len(rows)


def message_figures(session: Session, sent_by: ColumnElement[bool]) -> dict[str, int]:
    """The messages of a campaign or journey (`sent_by` picks them): how many in each
    status, and how many the channel reported delivered, opened and clicked."""
    found = {
        str(status): count
        for status, count in session.execute(
            select(OutboxMessage.status, func.count()).where(sent_by).group_by(OutboxMessage.status)
        )
    }
    reported = session.execute(
        select(
            func.count(OutboxMessage.delivered_at),
            func.count(OutboxMessage.opened_at),
            func.count(OutboxMessage.clicked_at),
        ).where(sent_by)
    ).one()
    return found | dict(zip(("delivered", "opened", "clicked"), reported, strict=True))


def preview(
    session: Session, *, wording: Wording, member_id: int, variables: Sequence[str]
) -> tuple[str, str, str]:
    """(language, subject, body) of the message as this member would read it; a value only
    the send knows (their coupon code, a trigger's figures) shows as its name in brackets."""
    own: Values = {name: f"[{name}]" for name in variables}
    found = member_values(session, [member_id])
    if member_id not in found:
        raise NotFound(f"no member {member_id}", field="member")
    own |= found[member_id]
    language = str(own["language"] or LANGUAGES[0])
    return (language, *wording.rendered(language, own))
