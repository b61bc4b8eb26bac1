"""Points: balance and lots, history, adjustments, the rewards catalogue and orders."""

from typing import Annotated

from fastapi import Depends, Query, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import Cursor, DbSession, MemberId, allow
from regulars.api.unit_of_work import routes
from regulars.clock import utc_now
from regulars.members.service import get_member
from regulars.points import service
from regulars.points.schemas import Adjustment, Balance, Entry, Lot, RewardOrder, RewardOrderIn
from regulars.program.schema import Reward
from regulars.program.service import active_program
from regulars.rewards.service import member_orders, order_reward

router = routes(prefix="/v1", tags=["points"])
Self = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.MEMBER))]
Staff = Annotated[Principal, Depends(allow(Role.SUPPORT))]
Anyone = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.MEMBER, Role.POS, Role.ANALYST))]


@router.get("/members/{member_id}/points")
def balance(member_id: MemberId, session: DbSession, caller: Self) -> Balance:
    """Balance, spendable and pending points, and the lots with their expiry dates."""
    get_member(session, member_id=member_id)
    held = service.balance(session, member_id=member_id, now=utc_now())
    return Balance(
        total=held.total,
        spendable=held.spendable,
        pending=held.pending,
        lots=[Lot.model_validate(lot) for lot in held.lots],
    )


@router.get("/members/{member_id}/points/history")
def history(
    member_id: MemberId,
    session: DbSession,
    caller: Self,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[Entry]:
    """Every movement of points, oldest first, a page at a time."""
    get_member(session, member_id=member_id)
    entries = service.history(session, member_id=member_id, after_id=after, limit=limit)
    return [Entry.model_validate(e) for e in entries]


@router.post("/members/{member_id}/points/adjustments", status_code=status.HTTP_201_CREATED)
def adjust(member_id: MemberId, data: Adjustment, session: DbSession, caller: Staff) -> Balance:
    """A correction or goodwill gesture by a named agent, for a stated reason."""
    _, program = active_program(session)
    service.adjust_points(
        session,
        member_id=member_id,
        points=data.points,
        reason=data.reason,
        actor=caller.name,
        now=utc_now(),
        program=program,
    )
    return balance(member_id, session, caller)


@router.get("/rewards")
def rewards(session: DbSession, caller: Anyone) -> list[Reward]:
    """The rewards catalogue of the active program."""
    return active_program(session)[1].rewards


@router.post("/members/{member_id}/reward-orders", status_code=status.HTTP_201_CREATED)
def order(
    member_id: MemberId, data: RewardOrderIn, session: DbSession, caller: Self
) -> RewardOrder:
    """Buy a reward with points."""
    _, program = active_program(session)
    placed = order_reward(
        session, member_id=member_id, reward_code=data.reward_code, now=utc_now(), program=program
    )
    return RewardOrder.model_validate(placed)


@router.get("/members/{member_id}/reward-orders")
def orders(member_id: MemberId, session: DbSession, caller: Self) -> list[RewardOrder]:
    """A member's reward orders."""
    return [RewardOrder.model_validate(o) for o in member_orders(session, member_id=member_id)]
