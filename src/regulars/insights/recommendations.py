"""Each member's recommended products, precomputed by the scoring run and read at once:
a member the run knows nothing about gets the chain's popular list, and is told so."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from regulars.catalog.models import Product
from regulars.db import bulk_insert
from regulars.errors import InvalidInput
from regulars.insights.models import Recommendation
from regulars.members.service import erased_members, get_member

BATCH = 5_000
REASONS = ("buy_again", "also_like", "popular")


@dataclass(frozen=True)
class Recommended:
    """One line of a stored list; `member_id` none for the popular list."""

    member_id: int | None
    rank: int
    product_id: int
    reason: str
    score: float


@dataclass(frozen=True)
class Shown:
    rank: int
    sku: str
    name: str
    reason: str
    score: float


def store_recommendations(
    session: Session, *, lists: Sequence[Recommended], model_run_id: int
) -> int:
    """Replace every stored list with the run's: a member left out (or erased) has none any
    more and gets the popular list."""
    bad = next((r for r in lists if r.reason not in REASONS or r.rank < 1), None)
    if bad is not None:
        raise InvalidInput(f"a recommendation has rank {bad.rank}, reason {bad.reason!r}",
                           field="lists")  # fmt: skip
    session.execute(delete(Recommendation))
    erased = erased_members(session)
    rows = [{**vars(r), "model_run_id": model_run_id} for r in lists if r.member_id not in erased]
    for start in range(0, len(rows), BATCH):
        session.execute(bulk_insert(Recommendation), rows[start : start + BATCH])
    return len(rows)


def _list(session: Session, owner: ColumnElement[bool], limit: int) -> list[Shown]:
    found = session.execute(
        select(Recommendation.rank, Product.sku, Product.name, Recommendation.reason,
               Recommendation.score)
        .join(Product, Product.id == Recommendation.product_id)
        .where(owner)
        .order_by(Recommendation.rank)
        .limit(limit)
    )  # fmt: skip
    return [Shown(*row) for row in found]


def recommendations_of(
    session: Session, *, member_id: int, limit: int = 10
) -> tuple[list[Shown], bool]:
    """The member's list, best first, and whether it is the popular one instead."""
    get_member(session, member_id=member_id)
    own = _list(session, Recommendation.member_id == member_id, limit)
    if own:
        return own, False
    return _list(session, Recommendation.member_id.is_(None), limit), True
