"""Table of referral rewards, one per referred member, given or refused."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class ReferralReward(Base):
    __tablename__ = "referral_reward"

    referee_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id"))
    referrer_points: Mapped[int]
    referee_points: Mapped[int]
    refused: Mapped[str | None] = mapped_column(String(100), doc="why nothing was given")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
