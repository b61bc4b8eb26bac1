"""Insights: what the analyses learned about members, for service desks and targeting."""

from typing import Annotated

from fastapi import Depends, Query

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, MemberId, allow
from regulars.api.unit_of_work import routes
from regulars.clock import utc_now
from regulars.insights.offers import offers_of
from regulars.insights.promotions import promotions_for
from regulars.insights.recommendations import recommendations_of
from regulars.insights.schemas import (
    MemberInsightOut,
    OfferOut,
    PromotionForOut,
    RecommendationsOut,
    RecommendedOut,
    SegmentCount,
)
from regulars.insights.service import member_insight, segment_counts
from regulars.members.service import get_member

router = routes(tags=["insights"])


@router.get("/v1/members/{member_id}/insights")
def insights_of_member(
    member_id: MemberId,
    session: DbSession,
    caller: Annotated[Principal, Depends(allow(Role.SUPPORT))],
) -> MemberInsightOut:
    """The member's latest segment, shopper type, CLV, P(alive) and churn risk."""
    get_member(session, member_id=member_id)
    return member_insight(session, member_id=member_id)


@router.get("/v1/insights/segments")
def segments(
    session: DbSession,
    caller: Annotated[Principal, Depends(allow(Role.ANALYST, Role.SUPPORT))],
) -> list[SegmentCount]:
    """Members per RFM segment with their mean CLV and churn risk (aggregates only)."""
    return segment_counts(session)


@router.get("/v1/members/{member_id}/recommendations")
def recommendations(
    member_id: MemberId,
    session: DbSession,
    caller: Annotated[Principal, Depends(allow(Role.MEMBER, Role.APP, Role.SUPPORT))],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RecommendationsOut:
    """Products for the member, best first, as the latest scoring run left them: what they
    are due to buy again and what they may also like; the popular list, and said so, for a
    member the run did not know. With them, the coupon templates the member is likeliest
    to redeem (next best offer), and the promotions running on the listed products that
    the member may use."""
    shown, popular = recommendations_of(session, member_id=member_id, limit=limit)
    offers, for_everyone = offers_of(session, member_id=member_id)
    running = promotions_for(session, member_id=member_id, products=shown, now=utc_now())
    return RecommendationsOut(
        member_id=member_id,
        popular_instead=popular,
        products=[RecommendedOut(**vars(s)) for s in shown],
        offers_for_everyone=for_everyone,
        offers=[OfferOut(**vars(o)) for o in offers],
        promotions=[PromotionForOut(**vars(p)) for p in running],
    )
