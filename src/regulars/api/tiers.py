"""Tiers: where a member stands, what the next tier asks, how they got here."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, ConfigDict

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, MemberId, allow
from regulars.api.unit_of_work import routes
from regulars.clock import utc_now
from regulars.members.service import get_member
from regulars.program.service import active_program
from regulars.referrals.service import referral_status
from regulars.tiers.service import standing, tier_history

router = routes(prefix="/v1/members/{member_id}", tags=["tiers"])
Self = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.MEMBER))]


class TierStanding(BaseModel):
    tier: str
    name: str
    window_spend: Decimal
    window_visits: int
    next_tier: str | None
    spend_to_next: Decimal | None
    review_on: str | None


class TierChange(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_code: str | None
    to_code: str
    reason: str
    changed_at: datetime


class Referrals(BaseModel):
    code: str
    referred: int
    rewarded: int
    refused: int
    points_earned: int


@router.get("/tier")
def tier(member_id: MemberId, session: DbSession, caller: Self) -> TierStanding:
    """The member's tier and their progress towards the next."""
    get_member(session, member_id=member_id)
    _, program = active_program(session)
    now = standing(session, member_id=member_id, program=program, as_of=utc_now())
    return TierStanding(
        tier=now.tier.code,
        name=now.tier.name,
        window_spend=now.spend,
        window_visits=now.visits,
        next_tier=now.next_tier.code if now.next_tier else None,
        spend_to_next=max(now.next_tier.min_spend - now.spend, Decimal(0))
        if now.next_tier
        else None,
        review_on=now.review_on.isoformat() if now.review_on else None,
    )


@router.get("/tier/history")
def history(member_id: MemberId, session: DbSession, caller: Self) -> list[TierChange]:
    """Every change of tier, with its reason."""
    get_member(session, member_id=member_id)
    return [TierChange.model_validate(c) for c in tier_history(session, member_id=member_id)]


@router.get("/referrals", tags=["referrals"])
def referrals(member_id: MemberId, session: DbSession, caller: Self) -> Referrals:
    """The member's referral code and what it brought."""
    status = referral_status(session, member_id=member_id)
    return Referrals(
        code=status.code,
        referred=status.referred,
        rewarded=status.rewarded,
        refused=status.refused,
        points_earned=status.points_earned,
    )
