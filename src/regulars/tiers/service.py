"""Use cases of tiers: the member's tier, upgrades as soon as earned, the yearly review."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from regulars.db import table
from regulars.points.models import PointLot, ReceiptPoints
from regulars.points.service import debt_of
from regulars.program.schema import Program, Tier
from regulars.tiers import rules
from regulars.tiers.models import MemberTier, TierChange


@dataclass(frozen=True)
class TierStanding:
    tier: Tier
    spend: Decimal  # eligible spend in the qualification window
    visits: int
    next_tier: Tier | None
    review_on: date | None


def window_start(program: Program, as_of: datetime) -> datetime:
    """Where the qualification window that ends at `as_of` begins."""
    zone = ZoneInfo(program.timezone)
    day = as_of.astimezone(zone).date()
    months = day.year * 12 + day.month - 1 - program.tier_review.window_months
    start = date(months // 12, months % 12 + 1, min(day.day, 28))
    return datetime.combine(start, time.min, tzinfo=zone)


def window_activity(
    session: Session, *, member_id: int, program: Program, as_of: datetime
) -> tuple[Decimal, int]:
    """Eligible spend (after refunds) and visits in the rolling qualification window."""
    activity = _activity(session, member_id, program, as_of, day_start=as_of)
    return activity.spend, activity.visits


def current_tier(session: Session, *, member_id: int, program: Program) -> Tier:
    held = session.get(MemberTier, member_id)
    if held is None or held.tier_code not in {t.code for t in program.tiers}:
        return program.tiers[0]
    return program.tier(held.tier_code)


def standing(
    session: Session, *, member_id: int, program: Program, as_of: datetime
) -> TierStanding:
    tier = current_tier(session, member_id=member_id, program=program)
    spend, visits = window_activity(session, member_id=member_id, program=program, as_of=as_of)
    index = program.tier_index(tier.code)
    higher = program.tiers[index + 1] if index + 1 < len(program.tiers) else None
    held = session.get(MemberTier, member_id)
    return TierStanding(tier, spend, visits, higher, held.review_on if held else None)


def _set_tier(
    session: Session,
    *,
    member_id: int,
    tier: Tier,
    reason: str,
    now: datetime,
    program: Program,
    program_version: int,
) -> None:
    held = session.get(MemberTier, member_id)
    local_day = now.astimezone(ZoneInfo(program.timezone)).date()
    review_on = rules.next_review(program, local_day)
    previous = held.tier_code if held else None
    if held is None:
        session.add(
            MemberTier(member_id=member_id, tier_code=tier.code, since=now, review_on=review_on)
        )
    else:
        if held.tier_code != tier.code:
            held.since = now
        held.tier_code = tier.code
        held.review_on = review_on
    if previous != tier.code:
        session.add(
            TierChange(
                member_id=member_id,
                from_code=previous,
                to_code=tier.code,
                reason=reason,
                changed_at=now,
                program_version=program_version,
            )
        )
    session.flush()


@dataclass(frozen=True)
class SaleContext:
    standing: rules.Standing  # tier, window spend and visits before the sale
    earned_today: int  # points earned on the sale's local day, for the daily cap
    owes_points: bool  # a refund clawed back points already spent: earnings pay it first


def _activity_query() -> Select[Any]:
    """The member's activity in one query, built once; its values are bound per call."""
    row = table(ReceiptPoints).c
    in_window = and_(
        row.sold_at > bindparam("start"),
        row.sold_at <= bindparam("as_of"),
        row.eligible_amount > 0,
    )
    today = and_(row.sold_at >= bindparam("day_start"), row.sold_at < bindparam("day_end"))
    return select(
        func.coalesce(func.sum(case((in_window, row.eligible_amount), else_=0)), 0),
        func.coalesce(func.sum(case((in_window, row.refunded_eligible_amount), else_=0)), 0),
        func.coalesce(func.sum(case((in_window, 1), else_=0)), 0),
        func.coalesce(func.sum(case((today, row.earned), else_=0)), 0),
        select(table(PointLot).c.id).where(debt_of(bindparam("member"))).exists().label("owes"),
    ).where(
        row.member_id == bindparam("member"),
        row.sold_at > bindparam("since"),
        row.sold_at < bindparam("day_end"),
    )


_ACTIVITY = _activity_query()


@dataclass(frozen=True)
class _Activity:
    spend: Decimal  # eligible spend after refunds in the window ending at `as_of`
    visits: int
    earned_on_day: int  # points earned on the local day from `day_start`
    owes_points: bool


def _activity(
    session: Session, member_id: int, program: Program, as_of: datetime, day_start: datetime
) -> _Activity:
    start = window_start(program, as_of)
    values = {
        "member": member_id,
        "start": start,
        "as_of": as_of,
        "day_start": day_start,
        "day_end": day_start + timedelta(days=1),
        "since": min(start, day_start),
    }
    spend, refunded, visits, earned, owes = session.execute(_ACTIVITY, values).one()
    return _Activity(Decimal(spend) - Decimal(refunded), int(visits), int(earned), bool(owes))


def before_sale(
    session: Session,
    *,
    member_id: int,
    held: MemberTier | None,
    program: Program,
    sold_at: datetime,
    day_start: datetime,
) -> SaleContext:
    """How a sale at `sold_at` finds the member (who holds `held`), in one query: the
    window's spend and visits up to the sale, the points earned on its local day, and
    whether they owe points."""
    activity = _activity(session, member_id, program, sold_at, day_start)
    known = held is not None and held.tier_code in {t.code for t in program.tiers}
    tier = program.tier(held.tier_code) if held and known else program.tiers[0]
    review_on = held.review_on if held and known else None
    standing = rules.Standing(tier, activity.spend, activity.visits, review_on)
    return SaleContext(standing, activity.earned_on_day, activity.owes_points)


def upgrade(
    session: Session,
    *,
    member_id: int,
    tier: Tier,
    program: Program,
    program_version: int,
    now: datetime,
) -> None:
    """Move a member up to the tier a sale reached (the sale's priced tier outcome)."""
    _set_tier(
        session,
        member_id=member_id,
        tier=tier,
        reason="upgrade",
        now=now,
        program=program,
        program_version=program_version,
    )


def review_tiers(
    session: Session, *, program: Program, program_version: int, as_of: datetime
) -> dict[str, int]:
    """The review: members due keep a tier they requalify for, else drop one level.

    Safe to re-run: a reviewed member's next review moves a year ahead.
    """
    today = as_of.astimezone(ZoneInfo(program.timezone)).date()
    due = list(
        session.scalars(
            select(MemberTier)
            .where(MemberTier.review_on <= today)
            .order_by(MemberTier.member_id)
            .with_for_update()
        )
    )
    counts = {"reviewed": 0, "kept": 0, "raised": 0, "lowered": 0}
    for held in due:
        spend, visits = window_activity(
            session, member_id=held.member_id, program=program, as_of=as_of
        )
        current = current_tier(session, member_id=held.member_id, program=program)
        new = rules.reviewed_tier(program, current=current.code, spend=spend, visits=visits)
        change = program.tier_index(new.code) - program.tier_index(current.code)
        key = "kept" if change == 0 else "raised" if change > 0 else "lowered"
        counts["reviewed"] += 1
        counts[key] += 1
        _set_tier(
            session,
            member_id=held.member_id,
            tier=new,
            reason=f"review: {key}",
            now=as_of,
            program=program,
            program_version=program_version,
        )
    return counts


def tier_history(session: Session, *, member_id: int) -> list[TierChange]:
    query = select(TierChange).where(TierChange.member_id == member_id).order_by(TierChange.id)
    return list(session.scalars(query))
