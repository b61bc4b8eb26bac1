"""Tables of coupons."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, Money, TextEnum, UTCDateTime


class CouponKind(StrEnum):
    AMOUNT_OFF = "amount_off"
    PERCENT_OFF = "percent_off"
    FREE_ITEM = "free_item"


class CouponStatus(StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    VOIDED = "voided"
    EXPIRED = "expired"


class CouponTemplate(Base):
    __tablename__ = "coupon_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. WELCOME10, for people
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CouponKind] = mapped_column(TextEnum(CouponKind))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    percent: Mapped[Decimal | None] = mapped_column(Money(), doc="25.00 means 25% off")
    max_discount: Mapped[Decimal | None] = mapped_column(Money())
    free_sku: Mapped[str | None] = mapped_column(String(64))
    min_spend: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    stores: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_days: Mapped[int | None] = mapped_column(doc="valid this many days from issue")
    per_member_limit: Mapped[int | None]
    total_quantity: Mapped[int | None]
    issued_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Coupon(Base):
    """One issued coupon; its code is what the member shows at the till."""

    __tablename__ = "coupon"
    __table_args__ = (
        Index("ix_coupon_member_status", "member_id", "status"),
        Index("ix_coupon_template_status", "template_id", "status"),  # each template's fate
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    status: Mapped[CouponStatus] = mapped_column(TextEnum(CouponStatus))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"))
    source: Mapped[str] = mapped_column(String(40))
