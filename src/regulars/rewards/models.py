"""Tables of reward orders and of how many of each reward are gone."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class RewardOrder(Base):
    __tablename__ = "reward_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    reward_code: Mapped[str] = mapped_column(String(32))
    points: Mapped[int]
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon.id"))


class RewardStock(Base):
    __tablename__ = "reward_stock"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    ordered: Mapped[int] = mapped_column(default=0)
