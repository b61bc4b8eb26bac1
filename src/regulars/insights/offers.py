"""Next best offer: the coupon templates each member is most likely to redeem, from how
they answered the coupons they were given (``analytics.recommend.offers``).

A coupon is judged once its chance is over: it can no longer be redeemed, or, for a coupon
valid without end, ``OPEN_ENDED_DAYS`` after it was issued; then it was redeemed or not.
A coupon still valid is not judged, even if redeemed already: counting the early
redeemers alone would make a template whose coupons are still live look irresistible.
Voided coupons say nothing either way. Only templates that can be issued now are offered,
and not to a member who holds as many as the template allows. The scoring run stores each
member's best three; a member with no coupon the run could judge is shown the chain-wide
order, less what they hold to the limit, and told so.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from regulars.analytics.recommend.offers import NextBestOffer
from regulars.coupons.models import Coupon, CouponStatus, CouponTemplate
from regulars.db import bulk_insert
from regulars.insights.models import OfferRecommendation
from regulars.members.service import erased_members, get_member

PER_MEMBER: Final = 3
OPEN_ENDED_DAYS: Final = 30  # a coupon without an end is judged this long after issue
BATCH: Final = 5_000  # members scored at once


@dataclass(frozen=True)
class Offered:
    rank: int
    code: str
    name: str
    take_up: float


def _fitted(session: Session, now: datetime) -> NextBestOffer | None:
    """The take-up model over every coupon whose chance is over; none without any."""
    over = (Coupon.valid_until <= now) | (
        Coupon.valid_until.is_(None) & (Coupon.issued_at < now - timedelta(days=OPEN_ENDED_DAYS))
    )
    redeemed = Coupon.status == CouponStatus.REDEEMED
    rows = session.execute(
        select(Coupon.member_id, Coupon.template_id, func.count(), func.count().filter(redeemed))
        .where(Coupon.member_id.is_not(None), Coupon.status != CouponStatus.VOIDED, over)
        .group_by(Coupon.member_id, Coupon.template_id)
    ).all()
    if not rows:
        return None
    member, template, issued, taken = (list(column) for column in zip(*rows, strict=True))
    return NextBestOffer().fit(member, template, issued, taken)


def _offerable(session: Session, now: datetime) -> dict[int, int | None]:
    """Templates that can be issued now, with how many each member may hold."""
    found = session.execute(
        select(CouponTemplate.id, CouponTemplate.per_member_limit).where(
            or_(CouponTemplate.valid_from.is_(None), CouponTemplate.valid_from <= now),
            or_(CouponTemplate.valid_until.is_(None), CouponTemplate.valid_until > now),
            or_(
                CouponTemplate.total_quantity.is_(None),
                CouponTemplate.issued_count < CouponTemplate.total_quantity,
            ),
        )
    )
    return {template: limit for template, limit in found}  # noqa: C416  (a Result has keys(): not a dict)


def _held_to_the_limit(
    session: Session, members: list[int], limits: dict[int, int | None]
) -> set[tuple[int, int]]:
    """(member, template) pairs where the member holds all the template allows."""
    limited = {t: n for t, n in limits.items() if n is not None}
    if not limited:
        return set()
    held = session.execute(
        select(Coupon.member_id, Coupon.template_id, func.count())
        .where(Coupon.member_id.in_(members), Coupon.template_id.in_(limited))
        .group_by(Coupon.member_id, Coupon.template_id)
    )
    return {(m, t) for m, t, n in held if m is not None and n >= limited[t]}


def store_offers(session: Session, *, model_run_id: int, now: datetime) -> int:
    """Replace every stored offer list with each member's best templates now, and the
    whole chain-wide order under member none. Returns the rows stored."""
    session.execute(delete(OfferRecommendation))
    model = _fitted(session, now)
    limits = _offerable(session, now)
    if model is None or not limits:
        return 0
    columns = np.flatnonzero(np.isin(model.templates_, list(limits)))
    templates = model.templates_[columns]
    overall = np.nan_to_num(model.template_rate_[columns], nan=-1.0)
    rows = [
        {"member_id": None, "rank": rank + 1, "template_id": int(templates[c]),
         "take_up": float(overall[c]), "model_run_id": model_run_id}
        for rank, c in enumerate(np.argsort(-overall, kind="stable"))
        if overall[c] >= 0
    ]  # fmt: skip
    erased = erased_members(session)  # their answers still teach, but no list is kept of them
    members = [int(m) for m in model.members_ if int(m) not in erased]
    for start in range(0, len(members), BATCH):
        chunk = members[start : start + BATCH]
        rates = np.nan_to_num(model.take_up(chunk)[:, columns], nan=-1.0)
        row = {member: i for i, member in enumerate(chunk)}
        column = {int(t): c for c, t in enumerate(templates)}
        for member, template in _held_to_the_limit(session, chunk, limits):
            if template in column:
                rates[row[member], column[template]] = -1.0
        best = np.argsort(-rates, axis=1, kind="stable")[:, :PER_MEMBER]
        rows += [
            {"member_id": member, "rank": rank + 1, "template_id": int(templates[c]),
             "take_up": float(rates[i, c]), "model_run_id": model_run_id}
            for i, member in enumerate(chunk)
            for rank, c in enumerate(c for c in best[i] if rates[i, c] >= 0)
        ]  # fmt: skip
    for start in range(0, len(rows), BATCH):
        session.execute(bulk_insert(OfferRecommendation), rows[start : start + BATCH])
    return len(rows)


def _list(session: Session, owner: ColumnElement[bool], limit: int) -> list[Offered]:
    found = session.execute(
        select(OfferRecommendation.rank, CouponTemplate.code, CouponTemplate.name,
               OfferRecommendation.take_up)
        .join(CouponTemplate, CouponTemplate.id == OfferRecommendation.template_id)
        .where(owner)
        .order_by(OfferRecommendation.rank)
        .limit(limit)
    )  # fmt: skip
    return [Offered(*row) for row in found]


def offers_of(
    session: Session, *, member_id: int, limit: int = PER_MEMBER
) -> tuple[list[Offered], bool]:
    """The member's best offers, and whether they are the chain-wide order instead."""
    get_member(session, member_id=member_id)
    own = _list(session, OfferRecommendation.member_id == member_id, limit)
    if own:
        return own, False
    held = (
        select(func.count())
        .where(Coupon.member_id == member_id, Coupon.template_id == CouponTemplate.id)
        .scalar_subquery()
    )
    may_have_more = CouponTemplate.per_member_limit.is_(None) | (
        held < CouponTemplate.per_member_limit
    )
    return _list(session, OfferRecommendation.member_id.is_(None) & may_have_more, limit), True
