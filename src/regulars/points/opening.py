"""Opening balances: points carried over from the chain's previous loyalty system."""

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.batch import Outcome, Recorded
from regulars.clock import as_utc
from regulars.errors import Conflict, InvalidInput, RegularsError
from regulars.members.models import Member, MemberStatus
from regulars.members.service import MemberNotActive
from regulars.points import rules
from regulars.points.models import EntryKind, PointLot
from regulars.points.schemas import OpeningBalanceIn
from regulars.points.service import add_points, debt_of, lock_member
from regulars.program.service import NoProgram, active_program
from regulars.sales.service import UnknownMemberCard


def _expiry(session: Session, wanted: datetime | None, now: datetime) -> datetime | None:
    if wanted is not None:
        return wanted
    try:
        _, program = active_program(session)
    except NoProgram:
        return None
    return rules.expiry_of(program, now)


LOOKUP_BATCH = 10_000  # card numbers looked up by one statement


def open_balances(
    session: Session, *, balances: Sequence[OpeningBalanceIn], now: datetime, zone: ZoneInfo
) -> list[Outcome]:
    """Credit each member's carried-over points as a lot of their own, spendable at once.

    A member's opening lot is known by its expiry, so loading the same file again changes
    nothing, and a row that gives the same lot other points is a conflict, never an overwrite.
    """
    cards = sorted({b.member_card for b in balances})
    members: dict[str, Member] = {}
    for start in range(0, len(cards), LOOKUP_BATCH):  # a statement carries a bounded list
        chunk = cards[start : start + LOOKUP_BATCH]
        found = session.scalars(select(Member).where(Member.card_number.in_(chunk)))
        members |= {m.card_number: m for m in found}
    outcomes: list[Outcome] = []
    for row in balances:
        try:
            outcomes.append(_open(session, row, members.get(row.member_card), now, zone))
        except RegularsError as error:
            outcomes.append(error)
    return outcomes


def _open(
    session: Session, row: OpeningBalanceIn, member: Member | None, now: datetime, zone: ZoneInfo
) -> Recorded:
    if member is None:
        raise UnknownMemberCard(f"no member has card {row.member_card!r}", field="member_card")
    if member.status is not MemberStatus.ACTIVE:
        raise MemberNotActive(f"member card is {member.status}", field="member_card")
    expires_at = _expiry(session, row.expires_at and as_utc(row.expires_at, zone), now)
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(f"these points expired on {expires_at:%Y-%m-%d}", field="expires_at")
    lock_member(session, member.id)
    if session.scalar(select(PointLot.id).where(debt_of(member.id))):
        raise Conflict(
            "the member owes points from a refund; settle the debt before carrying a balance over",
            field="member_card",
        )
    same_lot = select(PointLot).where(
        PointLot.member_id == member.id,
        PointLot.kind == EntryKind.OPENING,
        PointLot.expires_at.is_(None) if expires_at is None else PointLot.expires_at == expires_at,
    )
    existing = session.scalars(same_lot).first()
    if existing is not None:
        if existing.points != row.points:
            raise Conflict(
                f"an opening balance of {existing.points} points with this expiry is already "
                "loaded; an import never overwrites",
                field="points",
            )
        return Recorded(existing.id, created=False)
    lot_id = add_points(
        session,
        member_id=member.id,
        points=row.points,
        kind=EntryKind.OPENING,
        now=now,
        available_at=now,
        expires_at=expires_at,
        reason="opening balance from the previous loyalty system",
    )
    assert lot_id is not None  # a member without debt gets every point as a lot of its own
    return Recorded(lot_id, created=True)
