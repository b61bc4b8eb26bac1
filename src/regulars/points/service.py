"""Use cases of the ledger. Every change goes through `_move`, which writes an entry and
updates its lot in the same step, so the two can never disagree."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from regulars.db import bulk_insert, table
from regulars.errors import Conflict, InvalidInput
from regulars.members.models import Member, MemberStatus
from regulars.members.service import MemberNotActive, get_member
from regulars.points import rules
from regulars.points.models import EntryKind, PointEntry, PointLot, ReceiptPoints
from regulars.program.schema import Program
from regulars.sales.models import Receipt


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class AdjustmentNeedsReason(InvalidInput):
    code = "adjustment_needs_reason"


def lock_members(session: Session, member_ids: Iterable[int]) -> set[int]:
    """Lock many members at once, in id order (the order a sale takes them); those of them
    who owe points from a claw-back."""
    ids = sorted(set(member_ids))
    locking = select(Member.id).where(Member.id.in_(ids)).order_by(Member.id)
    session.execute(locking.with_for_update(key_share=True)).all()
    owing = select(PointLot.member_id).where(PointLot.remaining < 0, PointLot.member_id.in_(ids))
    return set(session.scalars(owing))


def lock_member(session: Session, member_id: int) -> Member:
    """Serialise all point work of one member (row lock on PostgreSQL, write lock on SQLite).

    FOR NO KEY UPDATE: rows that merely reference the member (a new receipt) do not wait.
    """
    member = session.scalars(
        select(Member)
        .where(Member.id == member_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if member is None:
        get_member(session, member_id=member_id)  # raises member_not_found
        raise AssertionError("unreachable")
    return member


def _move(
    session: Session,
    lot: PointLot,
    points: int,
    kind: EntryKind,
    now: datetime,
    *,
    receipt_id: int | None = None,
    refund_id: int | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> None:
    lot.remaining += points
    session.add(
        PointEntry(
            **_entry(lot.member_id, lot.id, points, kind, now, receipt_id, refund_id, reason, actor)
        )
    )


def _entry(
    member_id: int,
    lot_id: int,
    points: int,
    kind: EntryKind,
    now: datetime,
    receipt_id: int | None,
    refund_id: int | None,
    reason: str | None,
    actor: str | None,
) -> dict[str, object]:
    """The ledger entry of a movement of `points` on a lot."""
    return {
        "member_id": member_id,
        "lot_id": lot_id,
        "kind": kind,
        "points": points,
        "created_at": now,
        "receipt_id": receipt_id,
        "refund_id": refund_id,
        "reason": reason,
        "actor": actor,
    }


def debt_of(member: object) -> ColumnElement[bool]:
    """A member's debt lots: points clawed back by a refund after they were spent."""
    lots = table(PointLot).c
    return and_(lots.member_id == member, lots.remaining < 0)


def _spendable(member_id: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        PointLot.member_id == member_id,
        PointLot.remaining > 0,
        PointLot.available_at <= now,
        or_(PointLot.expires_at.is_(None), PointLot.expires_at > now),
    )


def fefo(session: Session, *conditions: ColumnElement[bool]) -> list[PointLot]:
    """Lots in the order they are spent: first expiring first, never-expiring last."""
    order = (PointLot.expires_at.is_(None), PointLot.expires_at, PointLot.id)
    query = select(PointLot).where(*conditions).order_by(*order)
    return list(session.scalars(query.execution_options(populate_existing=True)))


_NEW_LOT = bulk_insert(PointLot).returning(table(PointLot).c.id)  # built once
_NEW_ENTRY = bulk_insert(PointEntry)
_DEBTS = select(PointLot).where(debt_of(bindparam("member"))).order_by(PointLot.id)


def add_points(
    session: Session,
    *,
    member_id: int,
    points: int,
    kind: EntryKind,
    now: datetime,
    available_at: datetime,
    expires_at: datetime | None,
    earned_at: datetime | None = None,
    receipt_id: int | None = None,
    refund_id: int | None = None,
    reason: str | None = None,
    actor: str | None = None,
    may_owe: bool = True,
) -> int | None:
    """Credit points, paying off any debt from claw-backs first; the new lot's id, if any.
    The member must be locked. A caller that has just read that the member owes nothing
    says so with `may_owe=False`, and the debts are not looked up."""
    if points <= 0:
        return None
    for debt in session.scalars(_DEBTS, {"member": member_id}) if may_owe else ():
        paid = min(points, -debt.remaining)
        _move(
            session,
            debt,
            paid,
            kind,
            now,
            receipt_id=receipt_id,
            refund_id=refund_id,
            reason=reason,
            actor=actor,
        )
        points -= paid
        if points == 0:
            return None
    # Two plain inserts: the new lot, holding its points, and its entry.
    lot = {
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "remaining": points,
        "earned_at": earned_at or now,
        "available_at": available_at,
        "expires_at": expires_at,
        "matured": available_at <= now,
        "receipt_id": receipt_id,
    }
    lot_id = session.scalar(_NEW_LOT, lot)
    assert lot_id is not None
    entry = _entry(member_id, lot_id, points, kind, now, receipt_id, refund_id, reason, actor)
    session.execute(_NEW_ENTRY, entry)
    return lot_id


def credit_points(
    session: Session,
    *,
    member_id: int,
    points: int,
    kind: EntryKind,
    now: datetime,
    program: Program,
    reason: str,
    actor: str | None = None,
    receipt_id: int | None = None,
    refund_id: int | None = None,
    may_owe: bool = True,
) -> int | None:
    """Points given now and spendable at once (bonuses, adjustments, give-backs), expiring by
    the program's policy. The member must be locked (`may_owe`: see `add_points`)."""
    return add_points(
        session,
        member_id=member_id,
        points=points,
        kind=kind,
        now=now,
        available_at=now,
        expires_at=rules.expiry_of(program, now),
        receipt_id=receipt_id,
        refund_id=refund_id,
        reason=reason,
        actor=actor,
        may_owe=may_owe,
    )


def take_points(
    session: Session,
    *,
    member_id: int,
    points: int,
    kind: EntryKind,
    now: datetime,
    lots: list[PointLot] | None = None,
    receipt_id: int | None = None,
    refund_id: int | None = None,
    reason: str | None = None,
    actor: str | None = None,
    into_debt: bool = False,
) -> int:
    """Debit points from spendable lots, first expiring first. The member must be locked.

    With `into_debt` whatever the lots cannot cover becomes a debt lot (claw-backs);
    without it a shortfall is refused and nothing is taken.
    """
    candidates = lots if lots is not None else fefo(session, *_spendable(member_id, now))
    available = sum(lot.remaining for lot in candidates if lot.remaining > 0)
    if available < points and not into_debt:
        raise InsufficientPoints(f"{points} points wanted, {available} spendable")
    left = points
    for lot in candidates:
        if left == 0:
            break
        taken = min(left, lot.remaining)
        if taken > 0:
            _move(
                session,
                lot,
                -taken,
                kind,
                now,
                receipt_id=receipt_id,
                refund_id=refund_id,
                reason=reason,
                actor=actor,
            )
            left -= taken
    if left:
        debt = PointLot(
            member_id=member_id,
            kind=kind,
            points=0,
            remaining=0,
            earned_at=now,
            available_at=now,
            expires_at=None,
            matured=True,
            receipt_id=receipt_id,
        )
        session.add(debt)
        session.flush()
        _move(
            session,
            debt,
            -left,
            kind,
            now,
            receipt_id=receipt_id,
            refund_id=refund_id,
            reason=reason or "claw-back of points already spent",
            actor=actor,
        )
    session.flush()
    return points


@dataclass(frozen=True)
class Balance:
    total: int  # every unexpired point, pending ones included, less any debt
    spendable: int
    pending: int
    lots: list[PointLot]


def balance(session: Session, *, member_id: int, now: datetime) -> Balance:
    lots = fefo(
        session,
        PointLot.member_id == member_id,
        PointLot.remaining != 0,
        or_(PointLot.expires_at.is_(None), PointLot.expires_at > now),
    )
    debt = -sum(lot.remaining for lot in lots if lot.remaining < 0)
    available = sum(lot.remaining for lot in lots if lot.remaining > 0 and lot.available_at <= now)
    spendable = max(available - debt, 0)
    pending = sum(lot.remaining for lot in lots if lot.available_at > now)
    return Balance(sum(lot.remaining for lot in lots), spendable, pending, lots)


def history(
    session: Session, *, member_id: int, after_id: int = 0, limit: int = 50
) -> list[PointEntry]:
    query = select(PointEntry).where(PointEntry.member_id == member_id, PointEntry.id > after_id)
    return list(session.scalars(query.order_by(PointEntry.id).limit(limit)))


def adjust_points(
    session: Session,
    *,
    member_id: int,
    points: int,
    reason: str,
    actor: str,
    now: datetime,
    program: Program,
) -> int:
    """A manual correction by a named person for a stated reason; it may not overdraw."""
    if not reason.strip() or not actor.strip():
        raise AdjustmentNeedsReason("an adjustment needs a reason and an actor", field="reason")
    if points == 0:
        raise InvalidInput("an adjustment of 0 points changes nothing", field="points")
    member = lock_member(session, member_id)
    if points > 0:
        credit_points(
            session,
            member_id=member.id,
            points=points,
            kind=EntryKind.ADJUST,
            now=now,
            program=program,
            reason=reason,
            actor=actor,
        )
    else:
        take_points(
            session,
            member_id=member.id,
            points=-points,
            kind=EntryKind.ADJUST,
            now=now,
            reason=reason,
            actor=actor,
        )
    return points


def expire_points(session: Session, *, as_of: datetime) -> tuple[int, int]:
    """Write off what is left of every lot whose expiry has passed; (lots, points).

    Each member is locked first, like every other change to their points, so a sale or
    refund running at the same moment never writes back a stale lot.
    """
    due = select(PointLot.member_id).where(PointLot.remaining > 0, PointLot.expires_at <= as_of)
    lots: list[PointLot] = []
    for member_id in sorted(set(session.scalars(due))):
        lock_member(session, member_id)
        lots += fefo(
            session,
            PointLot.member_id == member_id,
            PointLot.remaining > 0,
            PointLot.expires_at <= as_of,
        )
    points = 0
    for lot in lots:
        points += lot.remaining
        _move(
            session,
            lot,
            -lot.remaining,
            EntryKind.EXPIRE,
            as_of,
            reason=f"expired {lot.expires_at:%Y-%m-%d}" if lot.expires_at else "expired",
        )
    session.flush()
    return len(lots), points


def forfeit_points(session: Session, *, member_id: int, now: datetime, reason: str) -> int:
    """Settle a closing account: points left are forfeited and a debt is written off, each
    by a `forfeit` entry on its lot; the member's balance is then 0. Returns the net points
    taken (a debt written off counts negative)."""
    lock_member(session, member_id)
    open_lots = select(PointLot).where(PointLot.member_id == member_id, PointLot.remaining != 0)
    taken = 0
    for lot in session.scalars(open_lots.order_by(PointLot.id)):
        taken += lot.remaining
        _move(session, lot, -lot.remaining, EntryKind.FORFEIT, now, reason=reason)
    session.flush()
    return taken


def mature_points(session: Session, *, as_of: datetime) -> tuple[int, int]:
    """Record that pending lots became spendable; (lots, points). Spending never waits for this."""
    lots = list(
        session.scalars(
            select(PointLot)
            .where(PointLot.matured.is_(False), PointLot.available_at <= as_of)
            .order_by(PointLot.id)
            .with_for_update()
        )
    )
    for lot in lots:
        lot.matured = True
        _move(
            session,
            lot,
            0,
            EntryKind.MATURE,
            as_of,
            receipt_id=lot.receipt_id,
            reason=f"{lot.remaining} points spendable",
        )
    session.flush()
    return len(lots), sum(lot.remaining for lot in lots)


def merge_accounts(
    session: Session, *, source_id: int, target_id: int, actor: str, now: datetime
) -> int:
    """Move every open lot of a duplicate registration to the member who stays; points moved."""
    if source_id == target_id:
        raise InvalidInput("a member cannot be merged into themselves", field="source_id")
    first, second = sorted((source_id, target_id))
    lock_member(session, first)
    lock_member(session, second)
    source, target = session.get_one(Member, source_id), session.get_one(Member, target_id)
    if source.status is not MemberStatus.ACTIVE or target.status is not MemberStatus.ACTIVE:
        raise MemberNotActive("both members must be active to merge")
    moved = 0
    for lot in fefo(session, PointLot.member_id == source_id, PointLot.remaining != 0):
        reason = f"merged from member {source_id}"
        twin = PointLot(
            member_id=target_id,
            kind=EntryKind.TRANSFER,
            points=lot.remaining,
            remaining=0,
            earned_at=lot.earned_at,
            available_at=lot.available_at,
            expires_at=lot.expires_at,
            matured=lot.matured,
            receipt_id=lot.receipt_id,
        )
        session.add(twin)
        session.flush()
        _move(session, twin, lot.remaining, EntryKind.TRANSFER, now, reason=reason, actor=actor)
        moved += lot.remaining
        _move(
            session,
            lot,
            -lot.remaining,
            EntryKind.TRANSFER,
            now,
            reason=f"merged into member {target_id}",
            actor=actor,
        )
    for model in (Receipt, ReceiptPoints):  # their history counts for the member who stays
        session.execute(
            update(model)
            .where(model.member_id == source_id)
            .values(member_id=target_id)
            .execution_options(synchronize_session=False)
        )
    _settle_debt(session, target_id, now, actor)
    source.status = MemberStatus.MERGED
    source.merged_into_id = target_id
    session.flush()
    return moved


def _settle_debt(session: Session, member_id: int, now: datetime, actor: str) -> None:
    """Pay a member's debt lots from their positive lots, first expiring first."""
    reason = "debt settled after a merge"
    for debt in fefo(session, PointLot.member_id == member_id, PointLot.remaining < 0):
        held = fefo(
            session,
            PointLot.member_id == member_id,
            PointLot.remaining > 0,
            or_(PointLot.expires_at.is_(None), PointLot.expires_at > now),
        )
        paid = min(-debt.remaining, sum(lot.remaining for lot in held))
        if paid:
            take_points(
                session,
                member_id=member_id,
                points=paid,
                kind=EntryKind.TRANSFER,
                now=now,
                lots=held,
                reason=reason,
                actor=actor,
            )
            _move(session, debt, paid, EntryKind.TRANSFER, now, reason=reason, actor=actor)
    session.flush()


def ledger_discrepancies(session: Session, *, member_id: int | None = None) -> list[str]:
    """Every way the ledger disagrees with itself; empty when the invariants hold."""
    entries = (
        select(PointEntry.lot_id, func.sum(PointEntry.points).label("points"))
        .group_by(PointEntry.lot_id)
        .subquery()
    )
    query = select(PointLot.id, PointLot.member_id, PointLot.remaining, entries.c.points).outerjoin(
        entries, entries.c.lot_id == PointLot.id
    )
    if member_id is not None:
        query = query.where(PointLot.member_id == member_id)
    problems = [
        f"lot {lot_id} of member {owner}: remaining {remaining} but entries sum to {summed or 0}"
        for lot_id, owner, remaining, summed in session.execute(query)
        if remaining != (summed or 0)
    ]
    orphans = (
        select(func.count())
        .select_from(PointEntry)
        .join(PointLot)
        .where(PointEntry.member_id != PointLot.member_id)
    )
    if count := session.scalar(orphans):
        problems.append(f"{count} entries belong to another member than their lot")
    return problems


def latest_entries(session: Session, *, member_id: int, limit: int = 20) -> list[PointEntry]:
    """A member's latest movements of points, newest first; points turning spendable are
    left out, as they move no points (the lots show what is still pending)."""
    query = select(PointEntry).where(
        PointEntry.member_id == member_id, PointEntry.kind != EntryKind.MATURE
    )
    return list(session.scalars(query.order_by(PointEntry.id.desc()).limit(limit)))
