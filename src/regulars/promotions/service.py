"""Use cases of promotion budgets: what is left, and taking from it atomically."""

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from regulars.program.schema import Promotion
from regulars.promotions.models import PromotionUsage
from regulars.promotions.rules import Allowance, AppliedOffer


def ensure_usage_rows(session: Session, promotions: Sequence[Promotion]) -> None:
    """Every promotion of a program gets its counter before any till uses it."""
    codes = {p.code for p in promotions}
    present = set(
        session.scalars(select(PromotionUsage.code).where(PromotionUsage.code.in_(codes)))
    )
    for code in sorted(codes - present):
        session.add(PromotionUsage(code=code, receipts=0, money=Decimal(0), units=0))
    session.flush()


def allowances(session: Session, promotions: Sequence[Promotion]) -> dict[str, Allowance]:
    """What each budgeted promotion has left right now."""
    budgeted = [
        p
        for p in promotions
        if p.budget_count is not None or p.budget_amount is not None or p.budget_units is not None
    ]
    if not budgeted:
        return {}
    used = {
        u.code: u
        for u in session.scalars(
            select(PromotionUsage).where(PromotionUsage.code.in_([p.code for p in budgeted]))
        )
    }
    left = {}
    for p in budgeted:
        usage = used.get(p.code)
        receipts, money, units = (usage.receipts, usage.money, usage.units) if usage else (0, 0, 0)
        left[p.code] = Allowance(
            receipts=None if p.budget_count is None else p.budget_count - receipts,
            money=None if p.budget_amount is None else p.budget_amount - money,
            units=None if p.budget_units is None else p.budget_units - units,
        )
    return left


def take_budget(session: Session, promotion: Promotion, offer: AppliedOffer) -> bool:
    """Count one use of a promotion; False when its budget cannot cover it (nothing is taken).

    One conditional UPDATE: under concurrent tills the database decides who gets the last use.
    """
    row = PromotionUsage
    conditions = [row.code == promotion.code]
    if promotion.budget_count is not None:
        conditions.append(row.receipts + 1 <= promotion.budget_count)
    if promotion.budget_amount is not None:
        conditions.append(row.money + offer.discount <= promotion.budget_amount)
    if promotion.budget_units is not None:
        conditions.append(row.units + offer.units <= promotion.budget_units)
    result = session.execute(
        update(row)
        .where(*conditions)
        .values(
            receipts=row.receipts + 1,
            money=row.money + offer.discount,
            units=row.units + offer.units,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
