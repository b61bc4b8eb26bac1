"""API shapes of member insights."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class MemberScores(BaseModel):
    """What one scoring run produced for one member; fields the run did not score are null."""

    model_config = ConfigDict(from_attributes=True)

    member_id: int
    rfm_segment: str | None = None
    shopper_type: str | None = None
    cluster: str | None = None
    clv: float | None = None
    probability_alive: float | None = None
    churn_risk: float | None = None


class MemberInsightOut(MemberScores):
    model_run_id: int
    scored_at: datetime
    data_until: datetime


class SegmentCount(BaseModel):
    rfm_segment: str | None
    members: int
    mean_clv: float | None
    mean_churn_risk: float | None


class RecommendedOut(BaseModel):
    rank: int
    sku: str
    name: str
    reason: str = Field(description="buy_again, also_like or popular")
    score: float


class OfferOut(BaseModel):
    rank: int
    code: str = Field(description="the coupon template's code")
    name: str
    take_up: float = Field(description="estimated chance the member redeems such a coupon")


class PromotionForOut(BaseModel):
    code: str = Field(description="the promotion's code in the program")
    name: str
    kind: str
    weekdays: list[str] = Field(description="the days it runs on; empty: every day")
    ends: datetime | None
    skus: list[str] = Field(description="the member's listed products it is on, best first")


class RecommendationsOut(BaseModel):
    member_id: int
    popular_instead: bool = Field(
        description="True: the scoring run knew nothing of this member, so this is the "
        "chain's popular list."
    )
    products: list[RecommendedOut]
    offers_for_everyone: bool = Field(
        description="True: the member has no coupon the run could judge, so the offers "
        "are the ones the chain's members redeem most, less those they hold to the limit."
    )
    offers: list[OfferOut] = Field(
        description="next best offers: coupon templates issuable now, likeliest first"
    )
    promotions: list[PromotionForOut] = Field(
        description="promotions the member may use running now on products of their list, "
        "the one on the better placed product first"
    )
