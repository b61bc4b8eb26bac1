"""Use cases of the rewards catalogue: order a reward with points, list a member's orders."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from regulars.coupons.service import issue_coupons
from regulars.errors import Conflict, NotFound
from regulars.points.models import EntryKind
from regulars.points.service import lock_member, take_points
from regulars.program.schema import Program, Reward
from regulars.rewards.models import RewardOrder, RewardStock


class RewardNotFound(NotFound):
    code = "reward_not_found"


class RewardOutOfStock(Conflict):
    code = "reward_out_of_stock"


def ensure_stock_rows(session: Session, rewards: Sequence[Reward]) -> None:
    codes = {r.code for r in rewards}
    present = set(session.scalars(select(RewardStock.code).where(RewardStock.code.in_(codes))))
    for code in sorted(codes - present):
        session.add(RewardStock(code=code, ordered=0))
    session.flush()


def order_reward(
    session: Session, *, member_id: int, reward_code: str, now: datetime, program: Program
) -> RewardOrder:
    """Spend points on a reward; stock and balance are checked under lock, all or nothing."""
    reward = next((r for r in program.rewards if r.code == reward_code), None)
    if reward is None:
        raise RewardNotFound(f"no reward {reward_code!r} in the catalogue", field="reward_code")
    lock_member(session, member_id)
    if reward.stock is not None:
        taken = session.execute(
            update(RewardStock)
            .where(RewardStock.code == reward.code, RewardStock.ordered < reward.stock)
            .values(ordered=RewardStock.ordered + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise RewardOutOfStock(f"{reward.name} is out of stock")
    take_points(
        session,
        member_id=member_id,
        points=reward.points,
        kind=EntryKind.BURN,
        now=now,
        reason=f"reward {reward.code}",
    )
    coupon_id = None
    if reward.kind == "coupon" and reward.coupon_template:
        [coupon] = issue_coupons(
            session,
            template_code=reward.coupon_template,
            member_ids=[member_id],
            now=now,
            source=f"reward {reward.code}",
        )
        coupon_id = coupon.id
    order = RewardOrder(
        member_id=member_id,
        reward_code=reward.code,
        points=reward.points,
        ordered_at=now,
        coupon_id=coupon_id,
    )
    session.add(order)
    session.flush()
    return order


def member_orders(session: Session, *, member_id: int) -> list[RewardOrder]:
    query = select(RewardOrder).where(RewardOrder.member_id == member_id)
    return list(session.scalars(query.order_by(RewardOrder.id)))
