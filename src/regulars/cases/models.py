"""Cases and their history, the service levels they are held to, and the business hours
the service-level clock counts."""

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, Time, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from regulars.cases.rules import CaseState
from regulars.db import Base, TextEnum, UTCDateTime
from regulars.members.protection import Sealed


class CaseChannel(StrEnum):
    STORE_DESK = "store_desk"
    HOTLINE = "hotline"
    APP = "app"
    WECHAT = "wechat"
    EMAIL = "email"


class CaseCategory(StrEnum):
    PRODUCT_QUALITY = "product_quality"
    FRESHNESS = "freshness"
    PRICE_ERROR = "price_error"  # a price or promotion charged wrong
    STAFF_ATTITUDE = "staff_attitude"
    CHECKOUT_WAIT = "checkout_wait"
    STORE_ENVIRONMENT = "store_environment"
    OUT_OF_STOCK = "out_of_stock"
    DELIVERY = "delivery"
    POINTS_OR_COUPON = "points_or_coupon"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Case(Base):
    __tablename__ = "service_case"
    __table_args__ = (
        Index("ix_case_open", "state", "store_id"),
        Index("ix_case_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[CaseChannel] = mapped_column(TextEnum(CaseChannel))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), doc="responsible: its hours")
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    category: Mapped[CaseCategory] = mapped_column(TextEnum(CaseCategory))
    category_confirmed: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), doc="false: suggested from the text"
    )
    severity: Mapped[Severity] = mapped_column(TextEnum(Severity))
    description: Mapped[str] = mapped_column(Sealed(), doc="the customer's words: personal")
    attachments: Mapped[str] = mapped_column(Text, default="[]", doc="JSON: references")
    state: Mapped[CaseState] = mapped_column(TextEnum(CaseState))
    queue: Mapped[str] = mapped_column(String(64), doc="a store's code or a department")
    assignee: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseEvent(Base):
    """Every change of a case, with who and when: the case's history, never rewritten."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("service_case.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), doc="opened, state, assigned, note")
    from_state: Mapped[CaseState | None] = mapped_column(TextEnum(CaseState))
    to_state: Mapped[CaseState | None] = mapped_column(TextEnum(CaseState))
    note: Mapped[str] = mapped_column(Sealed(), default="", doc="may name the customer")


class SlaPolicy(Base):
    """How soon a case of a category and severity is answered and resolved, in business
    hours; a case is held to the policy in force, so a change counts for open cases too."""

    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("category", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[CaseCategory] = mapped_column(TextEnum(CaseCategory))
    severity: Mapped[Severity] = mapped_column(TextEnum(Severity))
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OpeningHours(Base):
    """A store's hours on a weekday (0 is Monday); the chain's, where `store_id` is none,
    hold for stores without their own."""

    __tablename__ = "opening_hours"
    __table_args__ = (UniqueConstraint("store_id", "weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    weekday: Mapped[int]
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time, doc="00:00: midnight at the end of the day")


class ClosedDay(Base):
    """A public holiday a store (or, where `store_id` is none, every store) is closed."""

    __tablename__ = "closed_day"
    __table_args__ = (UniqueConstraint("store_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(60))
