"""Use cases of referrals: reward both sides once, within the referrer's cap."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.members.models import Member
from regulars.members.service import get_member
from regulars.points.models import EntryKind
from regulars.points.service import credit_points, lock_member
from regulars.program.schema import Program
from regulars.referrals.models import ReferralReward


def reward_first_purchase(
    session: Session,
    *,
    member: Member,
    receipt_id: int,
    eligible: Decimal,
    program: Program,
    now: datetime,
) -> ReferralReward | None:
    """After a referred member's first qualifying purchase, reward both of them once.

    The referrer is locked first so two friends' purchases at once cannot pass the cap.
    """
    terms = program.referral
    if member.referred_by_id is None or eligible < terms.min_first_purchase:
        return None
    if session.get(ReferralReward, member.id) is not None:
        return None
    referrer = lock_member(session, member.referred_by_id)
    given = session.scalar(
        select(func.count())
        .select_from(ReferralReward)
        .where(ReferralReward.referrer_id == referrer.id, ReferralReward.refused.is_(None))
    )
    refused = None
    if (given or 0) >= terms.max_rewards_per_referrer:
        refused = f"the referrer reached the cap of {terms.max_rewards_per_referrer} rewards"
    reward = ReferralReward(
        referee_id=member.id,
        referrer_id=referrer.id,
        receipt_id=receipt_id,
        referrer_points=0 if refused else terms.referrer_points,
        referee_points=0 if refused else terms.referee_points,
        refused=refused,
        decided_at=now,
    )
    session.add(reward)
    if not refused:
        for who, points in (
            (referrer.id, terms.referrer_points),
            (member.id, terms.referee_points),
        ):
            credit_points(
                session,
                member_id=who,
                points=points,
                kind=EntryKind.BONUS,
                now=now,
                program=program,
                receipt_id=receipt_id,
                reason=f"referral of member {member.id}",
            )
    session.flush()
    return reward


@dataclass(frozen=True)
class ReferralStatus:
    code: str
    referred: int  # members who joined with the code
    rewarded: int
    refused: int
    points_earned: int


def referral_status(session: Session, *, member_id: int) -> ReferralStatus:
    member = get_member(session, member_id=member_id)
    referred = (
        session.scalar(
            select(func.count()).select_from(Member).where(Member.referred_by_id == member_id)
        )
        or 0
    )
    rewards = list(
        session.scalars(select(ReferralReward).where(ReferralReward.referrer_id == member_id))
    )
    return ReferralStatus(
        code=member.referral_code,
        referred=referred,
        rewarded=sum(1 for r in rewards if r.refused is None),
        refused=sum(1 for r in rewards if r.refused is not None),
        points_earned=sum(r.referrer_points for r in rewards),
    )
