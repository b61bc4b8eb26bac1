"""Tables of the points ledger.

Every entry belongs to one lot, so a lot's remaining points always equal the sum of its
entries, and a member's balance is both the sum of their entries and of their lots.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, Money, TextEnum, UTCDateTime


class EntryKind(StrEnum):
    EARN = "earn"
    MATURE = "mature"  # pending points became spendable; moves no points
    BURN = "burn"
    REVERSE = "reverse"
    EXPIRE = "expire"
    ADJUST = "adjust"
    BONUS = "bonus"
    TRANSFER = "transfer"
    OPENING = "opening"  # a balance carried over from the chain's previous loyalty system
    FORFEIT = "forfeit"  # a closing account's balance settled: points left, a debt written off


class PointLot(Base):
    """Points earned together, spendable from `available_at`, gone at `expires_at`.

    A lot with negative `remaining` is a debt: points clawed back after they were spent;
    the member's next earnings pay it off first.
    """

    __tablename__ = "point_lot"
    __table_args__ = (Index("ix_point_lot_member_expires", "member_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[EntryKind] = mapped_column(TextEnum(EntryKind))
    points: Mapped[int]
    remaining: Mapped[int]
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    matured: Mapped[bool] = mapped_column(default=False)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"))


class PointEntry(Base):
    """One append-only movement of points on one lot."""

    __tablename__ = "point_entry"
    __table_args__ = (Index("ix_point_entry_member_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lot.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(TextEnum(EntryKind))
    points: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(100))


class ReceiptPoints(Base):
    """What a committed sale did to points, under which program version."""

    __tablename__ = "receipt_points"

    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    program_version: Mapped[int] = mapped_column(ForeignKey("program_version.id"))
    eligible_amount: Mapped[Decimal] = mapped_column(Money())
    refunded_eligible_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    earned: Mapped[int]
    reversed: Mapped[int] = mapped_column(default=0)
    redeemed: Mapped[int]
    redeemed_value: Mapped[Decimal] = mapped_column(Money())
    returned: Mapped[int] = mapped_column(default=0, doc="redeemed points given back on refunds")
    sold_at: Mapped[datetime] = mapped_column(UTCDateTime())
