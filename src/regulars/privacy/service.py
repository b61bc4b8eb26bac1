"""Use cases of privacy: export all data about a member; erase their personal data.

Erasing keeps every receipt, ledger entry and total exactly as it was (analytics and the
books need them) but leaves nothing that says who the member was.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from regulars.campaigns.models import OutboxMessage
from regulars.cases.models import Case, CaseEvent
from regulars.catalog.models import Product, Store
from regulars.coupons.models import Coupon, CouponTemplate
from regulars.insights.models import MemberInsight, OfferRecommendation, Recommendation
from regulars.members.models import ConsentChannel, ConsentRecord, Gender, MemberStatus
from regulars.members.rules import new_card_number, new_referral_code
from regulars.members.service import get_member
from regulars.points.models import EntryKind, PointEntry
from regulars.points.service import forfeit_points
from regulars.referrals.models import ReferralReward
from regulars.rewards.models import RewardOrder
from regulars.sales.models import Receipt, Refund
from regulars.surveys.models import SurveyResponse
from regulars.tiers.models import TierChange

ERASED = "erased"


def _rows(session: Session, model: Any, member_column: Any, member_id: int) -> list[Any]:
    return list(
        session.scalars(
            select(model)
            .where(member_column == member_id)
            .order_by(*model.__table__.primary_key.columns)
        )
    )


def _plain(row: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def export_member(session: Session, *, member_id: int) -> dict[str, Any]:
    """Everything held about a member, as plain data a person can read: stores by their
    code, goods by SKU and name, coupons by their template's code and name."""
    member = get_member(session, member_id=member_id)
    receipts = list(
        session.scalars(
            select(Receipt)
            .where(Receipt.member_id == member_id)
            .options(selectinload(Receipt.lines))
            .order_by(Receipt.id)
        )
    )
    stores = dict(session.execute(select(Store.id, Store.code)).all())
    product_ids = {line.product_id for r in receipts for line in r.lines}
    products = {
        row.id: row
        for row in session.execute(
            select(Product.id, Product.sku, Product.name).where(Product.id.in_(product_ids))
        )
    }
    coupons = _rows(session, Coupon, Coupon.member_id, member_id)
    templates = {
        row.id: row
        for row in session.execute(
            select(CouponTemplate.id, CouponTemplate.code, CouponTemplate.name).where(
                CouponTemplate.id.in_({c.template_id for c in coupons})
            )
        )
    }
    return {
        "member": _plain(
            member,
            "id",
            "card_number",
            "phone",
            "email",
            "name",
            "gender",
            "birth_date",
            "joined_at",
            "status",
            "referral_code",
            "referred_by_id",
            "merged_into_id",
        )
        | {"join_store": stores.get(member.join_store_id) if member.join_store_id else None},
        "consents": [
            _plain(r, "channel", "granted", "recorded_at", "source")
            for r in _rows(session, ConsentRecord, ConsentRecord.member_id, member_id)
        ],
        "receipts": [
            {
                **_plain(
                    r,
                    "id",
                    "pos_receipt_no",
                    "channel",
                    "sold_at",
                    "payment_method",
                    "total_amount",
                    "discount_amount",
                ),
                "store": stores[r.store_id],
                "lines": [
                    _plain(line, "line_no", "quantity", "unit_price", "line_discount", "amount")
                    | {
                        "sku": products[line.product_id].sku,
                        "product": products[line.product_id].name,
                    }
                    for line in r.lines
                ],
            }
            for r in receipts
        ],
        "points": [
            _plain(e, "id", "kind", "points", "created_at", "lot_id", "receipt_id", "reason")
            for e in _rows(session, PointEntry, PointEntry.member_id, member_id)
        ],
        "coupons": [
            _plain(c, "code", "status", "issued_at", "valid_until", "redeemed_at")
            | {"template": templates[c.template_id].code, "name": templates[c.template_id].name}
            for c in coupons
        ],
        "tier_changes": [
            _plain(t, "from_code", "to_code", "reason", "changed_at")
            for t in _rows(session, TierChange, TierChange.member_id, member_id)
        ],
        "reward_orders": [
            _plain(o, "reward_code", "points", "ordered_at")
            for o in _rows(session, RewardOrder, RewardOrder.member_id, member_id)
        ],
        "referral_rewards": [
            _plain(r, "referee_id", "referrer_points", "referee_points", "refused", "decided_at")
            for r in _rows(session, ReferralReward, ReferralReward.referrer_id, member_id)
        ],
        "cases": [
            _plain(
                c,
                "id",
                "channel",
                "category",
                "severity",
                "description",
                "state",
                "opened_at",
                "resolved_at",
                "closed_at",
            )
            for c in _rows(session, Case, Case.member_id, member_id)
        ],
        "survey_answers": [
            _plain(r, "survey_id", "answered_at", "nps", "csat", "effort", "overall", "comment")
            for r in _rows(session, SurveyResponse, SurveyResponse.member_id, member_id)
        ],
        "messages": [
            _plain(m, "channel", "marketing", "subject", "body", "status", "created_at", "sent_at")
            for m in _rows(session, OutboxMessage, OutboxMessage.member_id, member_id)
        ],
        **_profile(session, member_id),
    }


def _profile(session: Session, member_id: int) -> dict[str, Any]:
    """What the scoring run keeps of the member: their scores, products and offers."""
    scores = session.get(MemberInsight, member_id)
    listed = session.execute(
        select(Recommendation.rank, Product.sku, Recommendation.reason)
        .join(Product, Product.id == Recommendation.product_id)
        .where(Recommendation.member_id == member_id)
        .order_by(Recommendation.rank)
    )
    offered = session.execute(
        select(OfferRecommendation.rank, CouponTemplate.code, OfferRecommendation.take_up)
        .join(CouponTemplate, CouponTemplate.id == OfferRecommendation.template_id)
        .where(OfferRecommendation.member_id == member_id)
        .order_by(OfferRecommendation.rank)
    )
    return {
        "scores": _plain(scores, "rfm_segment", "shopper_type", "cluster", "clv",
                         "probability_alive", "churn_risk") if scores else None,
        "recommended": [{"rank": r, "sku": sku, "reason": why} for r, sku, why in listed],
        "offers": [{"rank": r, "template": code, "take_up": p} for r, code, p in offered],
    }  # fmt: skip


def erase_member(session: Session, *, member_id: int, now: datetime) -> None:
    """Remove personal data and unlink identifiers; receipts and the ledger stay as they are,
    and the balance is settled: the points left are forfeited (see `forfeit_points`)."""
    member = get_member(session, member_id=member_id)
    forfeit_points(session, member_id=member_id, now=now, reason="forfeited on erasure")
    member.phone = None
    member.email = None
    member.name = None
    member.birth_date = None
    member.gender = Gender.UNSPECIFIED
    member.card_number = new_card_number()  # the old card no longer leads here
    member.referral_code = new_referral_code()
    member.status = MemberStatus.ERASED
    # Free text written about the member may name them: it goes too.
    session.execute(
        update(ConsentRecord).where(ConsentRecord.member_id == member_id).values(source=ERASED)
    )
    session.execute(
        update(PointEntry)
        .where(PointEntry.member_id == member_id, PointEntry.kind == EntryKind.ADJUST)
        .values(reason=ERASED)
    )
    cases = select(Case.id).where(Case.member_id == member_id)
    session.execute(update(Case).where(Case.member_id == member_id).values(description=ERASED))
    session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(cases)).values(note=""))
    session.execute(
        update(SurveyResponse).where(SurveyResponse.member_id == member_id).values(comment="")
    )
    session.execute(delete(MemberInsight).where(MemberInsight.member_id == member_id))
    session.execute(delete(Recommendation).where(Recommendation.member_id == member_id))
    session.execute(delete(OfferRecommendation).where(OfferRecommendation.member_id == member_id))
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.member_id == member_id)
        .values(subject="", body=ERASED)
    )
    session.execute(
        update(Refund)
        .where(Refund.receipt_id.in_(select(Receipt.id).where(Receipt.member_id == member_id)))
        .values(reason=None)
    )
    for channel in ConsentChannel:
        session.add(
            ConsentRecord(
                member_id=member_id, channel=channel, granted=False, recorded_at=now, source=ERASED
            )
        )
    session.flush()
