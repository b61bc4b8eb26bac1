"""API shapes of points."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from regulars.clock import Moment
from regulars.points.models import EntryKind


class Lot(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: EntryKind
    remaining: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None


class Balance(BaseModel):
    total: int = Field(description="Every unexpired point, pending ones included, less any debt.")
    spendable: int
    pending: int
    lots: list[Lot]


class Entry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: EntryKind
    points: int
    created_at: datetime
    lot_id: int
    receipt_id: int | None
    reason: str | None
    actor: str | None


class Adjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=-1_000_000, le=1_000_000, examples=[200])
    reason: str = Field(min_length=3, max_length=200, examples=["goodwill: broken eggs"])


class RewardOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_code: str = Field(min_length=1, max_length=32)


class RewardOrder(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reward_code: str
    points: int
    ordered_at: datetime
    coupon_id: int | None


class OpeningBalanceIn(BaseModel):
    """Points a member held in the previous loyalty system, carried over with their expiry."""

    model_config = ConfigDict(extra="forbid")

    member_card: str = Field(min_length=1, max_length=32)
    points: int = Field(gt=0)
    expires_at: Moment | None = Field(
        default=None, description="Empty: the program's expiry policy from the day of import."
    )
