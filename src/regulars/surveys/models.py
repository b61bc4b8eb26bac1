"""Surveys, the invitations members get, and the answers they give."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, TextEnum, UTCDateTime
from regulars.members.models import ConsentChannel
from regulars.members.protection import Sealed


class SurveyTrigger(StrEnum):
    PURCHASE = "purchase"  # a sample of purchases, within each member's frequency cap
    CASE = "case"  # a closed case: how was it handled?
    AUDIENCE = "audience"  # sent by hand to an audience


class Survey(Base):
    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200), doc="in Chinese")
    title_en: Mapped[str] = mapped_column(String(200))
    questions: Mapped[str] = mapped_column(Text, doc="JSON: question keys, in order")
    trigger: Mapped[SurveyTrigger] = mapped_column(TextEnum(SurveyTrigger))
    channel: Mapped[ConsentChannel] = mapped_column(TextEnum(ConsentChannel))
    points: Mapped[int] = mapped_column(doc="engagement points for an answer")
    sample_percent: Mapped[int] = mapped_column(doc="of purchases, for a purchase survey")
    cap_days: Mapped[int] = mapped_column(doc="a member is invited at most once in so many")
    valid_days: Mapped[int] = mapped_column(doc="how long an invitation may be answered")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invited_through: Mapped[int] = mapped_column(
        default=0, doc="the last receipt or case considered for invitations"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyInvitation(Base):
    __tablename__ = "survey_invitation"
    __table_args__ = (
        UniqueConstraint("survey_id", "receipt_id"),  # a purchase is asked about once
        UniqueConstraint("survey_id", "case_id"),  # and a case
        Index("ix_invitation_member", "member_id", "invited_at"),
        Index("ix_invitation_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), doc="asked about")
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("service_case.id"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyResponse(Base):
    """One answer per invitation (the unique key refuses a second, also at once); the
    scores are null where the survey did not ask."""

    __tablename__ = "survey_response"
    __table_args__ = (Index("ix_response_survey", "survey_id", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitation.id"), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("service_case.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    nps: Mapped[int | None]
    csat: Mapped[int | None]
    effort: Mapped[int | None]
    overall: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Sealed(), default="", doc="the member's words")


class AttributeRating(Base):
    """A response's rating of one of the shop's attributes (freshness, staff, …)."""

    __tablename__ = "attribute_rating"

    response_id: Mapped[int] = mapped_column(ForeignKey("survey_response.id"), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(30), primary_key=True)
    score: Mapped[int]
