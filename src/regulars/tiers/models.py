"""Tables of members' tiers."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class MemberTier(Base):
    """The tier a member holds now; a member without a row holds the program's first tier."""

    __tablename__ = "member_tier"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    tier_code: Mapped[str] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    review_on: Mapped[date] = mapped_column(index=True)


class TierChange(Base):
    __tablename__ = "tier_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    from_code: Mapped[str | None] = mapped_column(String(32))
    to_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    program_version: Mapped[int] = mapped_column(ForeignKey("program_version.id"))
