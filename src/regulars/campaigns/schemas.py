"""API shapes of campaigns."""

import json
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from regulars.members.models import ConsentChannel
from regulars.members.schemas import MessageLanguage


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


class GroupOut(BaseModel):
    members: int
    buyers: int
    spend: Decimal
    coupons_redeemed: int


class ResultsOut(BaseModel):
    window_end: datetime
    treatment: GroupOut
    control: GroupOut
    messages: dict[str, int]
    conversion: Interval = Field(description="Treatment minus control: the share who bought.")
    spend_per_member: Interval
    incremental_revenue: float | None
    detectable_lift: float = Field(description="The smallest rise in conversion these sizes show.")
