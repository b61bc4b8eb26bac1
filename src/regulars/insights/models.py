"""Tables of the scores the analyses write back to member profiles."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class ModelRun(Base):
    """One scoring run: when, on data up to when, with which models and settings."""

    __tablename__ = "model_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data_until: Mapped[datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(Text, doc="models, parameters and metrics as JSON")


class MemberInsight(Base):
    """A member's latest scores; each row names the run that produced it."""

    __tablename__ = "member_insight"
    __table_args__ = (
        Index("ix_member_insight_segment", "rfm_segment"),
        Index("ix_member_insight_churn_risk", "churn_risk"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_run.id"), index=True)
    rfm_segment: Mapped[str | None] = mapped_column(String(32))
    shopper_type: Mapped[str | None] = mapped_column(String(32))
    cluster: Mapped[str | None] = mapped_column(String(200))
    clv: Mapped[float | None] = mapped_column(Float, doc="discounted value of the next year")
    probability_alive: Mapped[float | None] = mapped_column(Float)
    churn_risk: Mapped[float | None] = mapped_column(Float)


class Recommendation(Base):
    """A product put before a member, from the latest scoring run; a member id of none is
    the chain's popular list, for members the run knows nothing about."""

    __tablename__ = "recommendation"
    __table_args__ = (Index("ix_recommendation_member", "member_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    rank: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    reason: Mapped[str] = mapped_column(String(20), doc="buy_again, also_like or popular")
    score: Mapped[float] = mapped_column(Float)
    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_run.id"))


class OfferRecommendation(Base):
    """A coupon template put before a member, most likely taken up first, from the latest
    scoring run; a member id of none is the chain-wide order, for members without a record."""

    __tablename__ = "offer_recommendation"
    __table_args__ = (Index("ix_offer_recommendation_member", "member_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    rank: Mapped[int]
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    take_up: Mapped[float] = mapped_column(Float, doc="estimated chance a coupon is redeemed")
    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_run.id"))
