"""API shapes of campaigns."""

import json
import math
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from regulars.campaigns.notices import Notice
from regulars.campaigns.rules import Difference
from regulars.clock import AwareMoment
from regulars.members.models import ConsentChannel
from regulars.members.schemas import MessageLanguage

if TYPE_CHECKING:
    from regulars.campaigns.service import Uplift


class Translation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=2000)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["win back, June"])
    audience: str = Field(min_length=1, max_length=100, description="A saved audience's name.")
    channel: ConsentChannel
    subject: str = Field(default="", max_length=200)
    body: str = Field(
        min_length=1, max_length=2000, examples=["{name}, a 10 yuan coupon {coupon_code} awaits"]
    )
    translations: dict[MessageLanguage, Translation] = Field(
        default_factory=dict,
        description="The message for members who read another language, e.g. "
        '`{"en": {"body": "…"}}`; others get `subject` and `body`.',
    )
    coupon_template: str | None = Field(default=None, max_length=32)
    control_share: Decimal = Field(default=Decimal("0.2"), ge=0, le=Decimal("0.5"))
    window_days: int = Field(default=14, ge=1, le=365)
    scheduled_for: AwareMoment | None = Field(
        default=None, description="Sent by the scheduler from then on; none: send it yourself."
    )


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    audience: str
    channel: ConsentChannel
    subject: str
    body: str
    translations: dict[str, Translation]
    coupon_template: str | None
    control_share: Decimal
    window_days: int
    status: str
    created_at: datetime
    scheduled_for: datetime | None
    sent_at: datetime | None

    @field_validator("translations", mode="before")
    @classmethod
    def _stored(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class SentOut(BaseModel):
    audience: int
    control: int
    messages: int
    skipped: dict[str, int] = Field(
        description="Members of the treatment group who got nothing, by reason."
    )


class Interval(BaseModel):
    value: float | None
    low: float | None
    high: float | None
    significant: bool

    @classmethod
    def of(cls, found: Difference) -> "Interval":
        return cls(
            value=_number(found.value), low=_number(found.low), high=_number(found.high),
            significant=found.significant,
        )  # fmt: skip


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value  # JSON has no NaN


class GroupOut(BaseModel):
    members: int
    buyers: int
    spend: Decimal
    coupons_redeemed: int


class UpliftOut(BaseModel):
    treatment: GroupOut
    control: GroupOut
    messages: dict[str, int] = Field(
        description="By status, and how many the channel reported delivered, opened, clicked."
    )
    conversion: Interval = Field(description="Treatment minus control: the share who bought.")
    spend_per_member: Interval
    incremental_revenue: float | None
    detectable_lift: float = Field(description="The smallest rise in conversion these sizes show.")
    cost: Decimal = Field(description="Coupon discounts taken and bonus points at their value.")
    incremental_margin: float | None = Field(description="The extra revenue at the gross margin.")
    net_return: float | None = Field(description="The incremental margin less the cost.")
    return_on_cost: float | None

    @staticmethod
    def figures(found: "Uplift") -> dict[str, Any]:
        return {
            "treatment": GroupOut(**asdict(found.treatment)),
            "control": GroupOut(**asdict(found.control)),
            "conversion": Interval.of(found.conversion),
            "spend_per_member": Interval.of(found.spend_per_member),
            "incremental_revenue": _number(found.incremental_revenue),
            "detectable_lift": found.detectable_lift,
            "cost": found.cost,
            "incremental_margin": _number(found.incremental_margin),
            "net_return": _number(found.net_return),
            "return_on_cost": _number(found.return_on_cost),
        }


class ResultsOut(UpliftOut):
    window_end: datetime


class MessageOut(BaseModel):
    """A message in the outbox, without its text (that is the member's)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    member_id: int
    channel: ConsentChannel
    marketing: bool
    campaign_id: int | None
    journey_id: int | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(ge=1, le=2**31 - 1)
    notice: Notice
    channel: ConsentChannel
    receipt_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="For a receipt.")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(ge=1, le=2**31 - 1, description="Whose values fill the message.")
    subject: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=2000)
    translations: dict[MessageLanguage, Translation] = Field(default_factory=dict)
    trigger: str | None = Field(
        default=None, description="A journey's trigger, whose values the message may use."
    )


class PreviewOut(BaseModel):
    language: str
    subject: str
    body: str
