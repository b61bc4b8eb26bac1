"""Who enters a journey now: the members its trigger finds, each with the occasion they
enter for (a member enters once per occasion) and what their messages may say about it."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from regulars.cases.models import Case
from regulars.cases.rules import CaseState
from regulars.insights.models import MemberInsight
from regulars.journeys.models import Holiday, Journey
from regulars.journeys.plan import Plan, Trigger
from regulars.members.models import Member, MemberStatus
from regulars.points.models import PointLot
from regulars.program.schema import Program
from regulars.sales.models import Receipt
from regulars.tiers import rules as tier_rules
from regulars.tiers.models import MemberTier
from regulars.tiers.service import window_activity


@dataclass(frozen=True)
class Entrant:
    member_id: int
    occasion: str
    details: dict[str, str] = field(default_factory=dict)


ACTIVE = Member.status == MemberStatus.ACTIVE


def entrants(
    session: Session, journey: Journey, plan: Plan, program: Program, now: datetime
) -> list[Entrant]:
    """Everyone the trigger finds now, whether they entered before or not."""
    zone = ZoneInfo(program.timezone)
    today = now.astimezone(zone).date()
    days = plan.lead_days(program.expiry.reminder_days)
    match plan.trigger:
        case Trigger.WELCOME:
            joined = select(Member.id).where(
                ACTIVE, Member.joined_at >= journey.active_since, Member.joined_at <= now
            )
            return [Entrant(m, "welcome") for m in session.scalars(joined)]
        case Trigger.FIRST_PURCHASE:
            return _first_buyers(session, since=journey.active_since, now=now)
        case Trigger.BIRTHDAY:
            born = select(Member.id).where(ACTIVE, Member.birth_month == today.month)
            return [Entrant(m, str(today.year)) for m in session.scalars(born)]
        case Trigger.HOLIDAY:
            return _before_holidays(session, plan, today, days)
        case Trigger.POINTS_EXPIRING:
            return _points_expiring(session, now, zone, days)
        case Trigger.TIER_DROP:
            return _tier_dropping(session, program, today, days)
        case Trigger.WIN_BACK:
            return _lapsed(session, plan, now, zone)
        case Trigger.CASE_CLOSED:
            return _complained(session, since=journey.active_since, now=now)


def _complained(session: Session, *, since: datetime, now: datetime) -> list[Entrant]:
    """Members whose case closed since the journey began: one entry per case."""
    closed = (
        select(Case.id, Case.member_id, Case.category)
        .join(Member, Member.id == Case.member_id)
        .where(ACTIVE, Case.state == CaseState.CLOSED, Case.closed_at >= since,
               Case.closed_at <= now)
    )  # fmt: skip
    return [
        Entrant(member, f"case {case}", {"case": str(case), "category": str(category)})
        for case, member, category in session.execute(closed)
        if member is not None
    ]


def _first_buyers(session: Session, *, since: datetime, now: datetime) -> list[Entrant]:
    recent = select(Receipt.member_id).where(Receipt.sold_at >= since, Receipt.sold_at <= now)
    first = (
        select(Receipt.member_id)
        .join(Member, Member.id == Receipt.member_id)
        .where(ACTIVE, Receipt.member_id.in_(recent))
        .group_by(Receipt.member_id)
        .having(func.min(Receipt.sold_at) >= since)
    )
    return [Entrant(m, "first purchase") for m in session.scalars(first) if m is not None]


def _before_holidays(session: Session, plan: Plan, today: date, days: int) -> list[Entrant]:
    coming = session.scalars(
        select(Holiday).where(
            Holiday.name == plan.holiday,
            Holiday.day >= today,
            Holiday.day <= today + timedelta(days=days),
        )
    ).all()
    everyone = list(session.scalars(select(Member.id).where(ACTIVE))) if coming else []
    return [
        Entrant(m, day.day.isoformat(), {"holiday": day.name, "holiday_date": str(day.day)})
        for day in coming
        for m in everyone
    ]


def _points_expiring(session: Session, now: datetime, zone: ZoneInfo, days: int) -> list[Entrant]:
    """Members with points that lapse within `days`: how many, and by when; reminded once a
    month at most."""
    lapsing = (
        select(
            PointLot.member_id,
            func.sum(PointLot.remaining),
            func.max(func.coalesce(PointLot.expires_at, now)),  # a lot here has an expiry
        )
        .join(Member, Member.id == PointLot.member_id)
        .where(
            ACTIVE,
            PointLot.remaining > 0,
            PointLot.expires_at > now,
            PointLot.expires_at <= now + timedelta(days=days),
        )
        .group_by(PointLot.member_id)
    )
    month = f"{now.astimezone(zone):%Y-%m}"
    return [
        Entrant(
            member_id,
            month,
            {"expiring_points": str(points), "expiry_date": str(_local_day(last, zone))},
        )
        for member_id, points, last in session.execute(lapsing)
    ]


def _tier_dropping(session: Session, program: Program, today: date, days: int) -> list[Entrant]:
    """Members whose review comes within `days` and whose spend so far would not keep their
    tier: what keeping it still takes."""
    above_entry = [t.code for t in program.tiers[1:]]
    due = session.scalars(
        select(MemberTier)
        .join(Member, Member.id == MemberTier.member_id)
        .where(
            ACTIVE,
            MemberTier.tier_code.in_(above_entry),
            MemberTier.review_on >= today,
            MemberTier.review_on <= today + timedelta(days=days),
        )
    ).all()
    zone = ZoneInfo(program.timezone)
    found = []
    for held in due:
        review = datetime.combine(held.review_on, time.min, tzinfo=zone)
        spend, visits = window_activity(
            session, member_id=held.member_id, program=program, as_of=review
        )
        tier = program.tier(held.tier_code)
        kept = tier_rules.reviewed_tier(program, current=tier.code, spend=spend, visits=visits)
        if kept.code == tier.code:
            continue
        needed = max(tier.min_spend - spend, Decimal(0))
        details = {
            "keep_tier": tier.name,
            "spend_needed": f"{needed:.2f}",
            "review_date": str(held.review_on),
        }
        found.append(Entrant(held.member_id, str(held.review_on), details))
    return found


def _lapsed(session: Session, plan: Plan, now: datetime, zone: ZoneInfo) -> list[Entrant]:
    """Members away for `days`, or whose churn risk reached the threshold; once a lapse
    (their last purchase names it: a member who comes back and lapses again re-enters)."""
    last = (
        select(Receipt.member_id, func.max(Receipt.sold_at).label("last"))
        .where(Receipt.member_id.is_not(None))
        .group_by(Receipt.member_id)
        .subquery()
    )
    reasons: list[ColumnElement[bool]] = []
    if plan.days is not None:
        reasons.append(last.c.last <= now - timedelta(days=plan.days))
    if plan.churn_risk is not None:
        reasons.append(MemberInsight.churn_risk >= plan.churn_risk)
    away = (
        select(last.c.member_id, last.c.last)
        .join(Member, Member.id == last.c.member_id)
        .outerjoin(MemberInsight, MemberInsight.member_id == last.c.member_id)
        .where(ACTIVE, or_(*reasons))
    )
    return [
        Entrant(
            member_id,
            f"lapse after {_local_day(at, zone)}",
            {"days_away": str((now - at).days)},
        )
        for member_id, at in session.execute(away)
    ]


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()
