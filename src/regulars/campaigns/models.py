"""Campaigns, who each one reached or held back, and the outbox of messages to send."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, Money, TextEnum, UTCDateTime
from regulars.members.models import ConsentChannel
from regulars.members.protection import Sealed


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    audience: Mapped[str] = mapped_column(String(100), doc="a saved audience's name")
    channel: Mapped[ConsentChannel] = mapped_column(TextEnum(ConsentChannel))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, doc="the message, with {name}-style values")
    translations: Mapped[str] = mapped_column(
        Text, default="{}", doc='JSON: {"en": {"subject": …, "body": …}} for members reading en'
    )
    coupon_template: Mapped[str | None] = mapped_column(String(32))
    control_share: Mapped[Decimal] = mapped_column(Money(), doc="0.20: a fifth held back")
    window_days: Mapped[int] = mapped_column(doc="how long after the send purchases count")
    status: Mapped[CampaignStatus] = mapped_column(TextEnum(CampaignStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_for: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), doc="sent by the scheduler from then on; none: sent by hand"
    )


class Group(StrEnum):
    TREATMENT = "treatment"
    CONTROL = "control"


class CampaignMember(Base):
    """The audience as it was at the send: each member's group, and why a member of the
    treatment group got nothing (no consent, the weekly cap, no address)."""

    __tablename__ = "campaign_member"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    group: Mapped[Group] = mapped_column(TextEnum(Group))
    skipped: Mapped[str | None] = mapped_column(String(40))
    coupon_code: Mapped[str | None] = mapped_column(String(16))


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its time (or its next try)
    SENDING = "sending"  # handed to a sender; if it stays so, the send is tried again
    SENT = "sent"
    DEAD = "dead"  # failed too often: kept for a person to look at


class OutboxMessage(Base):
    """One message to one member, sent by the outbox workers exactly once: the key travels
    to the provider, which drops a repeat of a send that was done but not marked."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_member_created", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), doc="the idempotency key of the send")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journey.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    channel: Mapped[ConsentChannel] = mapped_column(TextEnum(ConsentChannel))
    marketing: Mapped[bool] = mapped_column(doc="marketing (consent, cap, quiet hours) or not")
    subject: Mapped[str] = mapped_column(Sealed())
    body: Mapped[str] = mapped_column(Sealed(), doc="rendered for the member: personal")
    status: Mapped[MessageStatus] = mapped_column(TextEnum(MessageStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the channel reports back, where it does (the gateway's events).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
