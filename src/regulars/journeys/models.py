"""Journeys, the members in them, and the chain's calendar of holidays."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from regulars.campaigns.models import Group
from regulars.db import Base, Money, TextEnum, UTCDateTime


class Journey(Base):
    __tablename__ = "journey"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    trigger: Mapped[str] = mapped_column(String(20))
    plan: Mapped[str] = mapped_column(Text, doc="the whole definition as JSON (plan.py)")
    control_share: Mapped[Decimal] = mapped_column(Money())
    active: Mapped[bool]
    active_since: Mapped[datetime] = mapped_column(
        UTCDateTime(), doc="a welcome greets members who join from then on, not everyone"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))


class JourneyEntry(Base):
    """One member's way through a journey, entered once per occasion (a birthday's year,
    a holiday's date, a lapse's last purchase)."""

    __tablename__ = "journey_entry"
    __table_args__ = (
        UniqueConstraint("journey_id", "member_id", "occasion"),
        Index("ix_journey_entry_due", "journey_id", "finished_at", "due_at"),
        Index("ix_journey_entry_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    occasion: Mapped[str] = mapped_column(String(40))
    group: Mapped[Group] = mapped_column(TextEnum(Group))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    details: Mapped[str] = mapped_column(Text, doc="JSON: what the trigger found, for messages")
    step: Mapped[int] = mapped_column(doc="the next step to take, from 0")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(60))


class JourneyStep(Base):
    """What one step did for one member: its result per step is read from these."""

    __tablename__ = "journey_step"

    entry_id: Mapped[int] = mapped_column(ForeignKey("journey_entry.id"), primary_key=True)
    step: Mapped[int] = mapped_column(primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[str] = mapped_column(String(60), doc="sent, skipped: no sms consent, yes, …")


class Holiday(Base):
    """A day of the chain's calendar that a holiday journey prepares for."""

    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("name", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    day: Mapped[date] = mapped_column(Date)
