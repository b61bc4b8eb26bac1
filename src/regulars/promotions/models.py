"""How much of each promotion has been given, so budgets hold across tills."""

from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, Money


class PromotionUsage(Base):
    __tablename__ = "promotion_usage"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipts: Mapped[int] = mapped_column(default=0)
    money: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    units: Mapped[int] = mapped_column(default=0)
