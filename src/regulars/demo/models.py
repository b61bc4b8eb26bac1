"""The generator's hidden truth about each demo member, kept so tests can check analytics."""

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base


class DemoMemberTruth(Base):
    __tablename__ = "demo_member_truth"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    household: Mapped[str] = mapped_column(String(32))
    shopper_type: Mapped[str] = mapped_column(String(32))
    purchase_rate: Mapped[float] = mapped_column(Float, doc="visits a week while active")
    dropout_probability: Mapped[float] = mapped_column(Float, doc="chance to leave after a visit")
    spend_level: Mapped[float] = mapped_column(Float, doc="mean basket value in yuan")
    premium_share: Mapped[float] = mapped_column(Float)
    brand_concentration: Mapped[float] = mapped_column(Float)
    promotion_response: Mapped[float] = mapped_column(Float)


class DemoCampaignTruth(Base):
    """How members of a demo campaign were made to respond: what its results must find."""

    __tablename__ = "demo_campaign_truth"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    base_rate: Mapped[float] = mapped_column(Float, doc="chance to buy in the window, untreated")
    uplift: Mapped[float] = mapped_column(
        Float, doc="what the campaign added to the share of its audience who bought in the window"
    )


class DemoDriverTruth(Base):
    """How much each attribute's rating moved a demo member's overall satisfaction: the
    ranking the drivers analysis must recover."""

    __tablename__ = "demo_driver_truth"

    attribute: Mapped[str] = mapped_column(String(30), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
