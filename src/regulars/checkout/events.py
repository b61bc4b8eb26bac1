"""What follows a committed sale, in the same unit of work: the sale announces itself and
each follow-up reacts, so the till's flow does not need to know them.

- a referred member's first qualifying purchase rewards them and their referrer;
- a sale that reaches a higher tier moves the member up, which hands out that tier's
  welcome coupon when it has one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from regulars.coupons.service import issue_coupons
from regulars.errors import RegularsError
from regulars.members.models import Member
from regulars.program.schema import Program, Tier
from regulars.referrals.service import reward_first_purchase
from regulars.tiers.rules import TierOutcome
from regulars.tiers.service import upgrade


@dataclass(frozen=True)
class SaleCommitted:
    receipt_id: int
    member_id: int
    eligible: Decimal  # spend that earns points and counts toward tiers
    tier: TierOutcome | None  # where the sale leaves the member's tier
    program: Program
    program_version: int
    now: datetime  # when the follow-ups are written
    at: datetime  # when a tier reached by the sale is held from


@dataclass(frozen=True)
class TierReached:
    member_id: int
    tier: Tier
    now: datetime


Event = SaleCommitted | TierReached


def _reward_referral(session: Session, event: SaleCommitted) -> list[Event]:
    member = session.get_one(Member, event.member_id)
    reward_first_purchase(
        session,
        member=member,
        receipt_id=event.receipt_id,
        eligible=event.eligible,
        program=event.program,
        now=event.now,
    )
    return []


def _move_up(session: Session, event: SaleCommitted) -> list[Event]:
    if event.tier is None or not event.tier.upgraded:
        return []
    upgrade(
        session,
        member_id=event.member_id,
        tier=event.tier.tier,
        program=event.program,
        program_version=event.program_version,
        now=event.at,
    )
    return [TierReached(event.member_id, event.tier.tier, event.now)]


def _welcome_to_tier(session: Session, event: TierReached) -> list[Event]:
    if event.tier.upgrade_coupon is None:
        return []
    try:
        with session.begin_nested():
            issue_coupons(
                session,
                template_code=event.tier.upgrade_coupon,
                member_ids=[event.member_id],
                now=event.now,
                source=f"upgrade to {event.tier.code}",
            )
    except RegularsError:
        pass  # the welcome coupons ran out: the sale and the upgrade stand without one
    return []


HANDLERS: dict[type, list[Callable[[Session, Any], list[Event]]]] = {
    SaleCommitted: [_reward_referral, _move_up],
    TierReached: [_welcome_to_tier],
}


def publish(session: Session, event: Event) -> None:
    """Run every follow-up of `event`, and of the events they raise, in this transaction."""
    queue: list[Event] = [event]
    while queue:
        happened = queue.pop(0)
        for handler in HANDLERS[type(happened)]:
            queue += handler(session, happened)
