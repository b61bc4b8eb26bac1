"""Tables of the sales record."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from regulars.catalog.models import Channel
from regulars.db import Base, Money, Quantity, TextEnum, UTCDateTime


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"
    OTHER = "other"


class Receipt(Base):
    """A sale as the till recorded it; members are optional, anonymous sales count too."""

    __tablename__ = "receipt"
    __table_args__ = (
        UniqueConstraint("store_id", "pos_receipt_no"),
        Index("ix_receipt_member_sold_at", "member_id", "sold_at"),
        Index("ix_receipt_sold_at", "sold_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    pos_receipt_no: Mapped[str] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(TextEnum(Channel))
    sold_at: Mapped[datetime] = mapped_column(UTCDateTime())
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    payment_method: Mapped[PaymentMethod] = mapped_column(TextEnum(PaymentMethod))
    total_amount: Mapped[Decimal] = mapped_column(Money())
    discount_amount: Mapped[Decimal] = mapped_column(Money())
    # Hash of everything the till sent: the same receipt sent again matches it exactly.
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    lines: Mapped[list["ReceiptLine"]] = relationship(
        order_by="ReceiptLine.line_no", back_populates="receipt"
    )


class ReceiptLine(Base):
    __tablename__ = "receipt_line"
    __table_args__ = (UniqueConstraint("receipt_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id"))
    line_no: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    line_discount: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())

    receipt: Mapped[Receipt] = relationship(back_populates="lines")


class Refund(Base):
    """Goods brought back against one receipt; idempotent on the till's refund number."""

    __tablename__ = "refund"
    __table_args__ = (UniqueConstraint("receipt_id", "pos_refund_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id"))
    pos_refund_no: Mapped[str] = mapped_column(String(64))
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))

    lines: Mapped[list["RefundLine"]] = relationship(order_by="RefundLine.id")


class RefundLine(Base):
    __tablename__ = "refund_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), index=True)
    receipt_line_id: Mapped[int] = mapped_column(ForeignKey("receipt_line.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    amount: Mapped[Decimal] = mapped_column(Money())
