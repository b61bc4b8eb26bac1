"""Points given for things other than buying: engagement and birthdays."""

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.errors import Conflict
from regulars.members.models import Member, MemberStatus
from regulars.points.models import EntryKind, PointEntry
from regulars.points.service import credit_points, lock_member
from regulars.program.schema import Program
from regulars.tiers.service import current_tier

Engagement = Literal["survey_answered", "review_written"]


class EngagementCapReached(Conflict):
    code = "engagement_cap_reached"


def award_engagement(
    session: Session, *, member_id: int, kind: Engagement, now: datetime, program: Program
) -> int:
    """Points for answering a survey or writing a review, within the daily cap."""
    points = getattr(program.engagement, kind)
    if not points:
        return 0
    lock_member(session, member_id)
    zone = ZoneInfo(program.timezone)
    start = datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)
    today = session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id == member_id,
            PointEntry.kind == EntryKind.BONUS,
            PointEntry.reason.like("engagement:%"),
            PointEntry.created_at >= start,
            PointEntry.created_at < start + timedelta(days=1),
        )
    )
    cap = program.engagement.daily_cap
    room = points if not cap else max(min(points, cap - int(today or 0)), 0)
    if room == 0:
        raise EngagementCapReached(f"engagement points are capped at {cap} a day")
    credit_points(
        session,
        member_id=member_id,
        points=room,
        kind=EntryKind.BONUS,
        now=now,
        program=program,
        reason=f"engagement: {kind}",
    )
    return room


def award_birthday_bonuses(
    session: Session, *, program: Program, as_of: datetime
) -> tuple[int, int]:
    """Each active member born in this month gets their tier's birthday bonus once a year."""
    zone = ZoneInfo(program.timezone)
    today = as_of.astimezone(zone).date()
    marker = f"birthday {today.year}"
    already = select(PointEntry.member_id).where(PointEntry.reason == marker)
    born = (
        select(Member.id)
        .where(
            Member.status == MemberStatus.ACTIVE,
            Member.birth_month == today.month,
            Member.id.not_in(already),
        )
        .order_by(Member.id)
    )
    members = points = 0
    for member_id in session.scalars(born):
        bonus = current_tier(session, member_id=member_id, program=program).birthday_bonus
        if not bonus:
            continue
        lock_member(session, member_id)
        if session.scalar(already.where(PointEntry.member_id == member_id).limit(1)) is not None:
            continue  # another run paid it a moment ago
        credit_points(
            session,
            member_id=member_id,
            points=bonus,
            kind=EntryKind.BONUS,
            now=as_of,
            program=program,
            reason=marker,
        )
        members += 1
        points += bonus
    session.flush()
    return members, points
