"""API shapes of journeys and the calendar of holidays."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from regulars.campaigns.schemas import UpliftOut


class JourneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] = Field(
        description="The journey: name, trigger, steps and the rest, as in its TOML file.",
        examples=[
            {
                "name": "birthday",
                "trigger": "birthday",
                "control_share": 0.1,
                "steps": [
                    {"do": "coupon", "template": "BDAY10"},
                    {"do": "send", "channel": "sms", "body": "生日快乐，{name}！{coupon_code}"},
                ],
            }
        ],
    )


class JourneyOut(BaseModel):
    name: str
    trigger: str
    active: bool
    active_since: datetime
    created_at: datetime
    created_by: str
    definition: dict[str, Any]


class JourneyRunOut(BaseModel):
    journey: str
    entered: int
    held_back: int
    steps: dict[str, int] = Field(description="What the steps did, e.g. sent, no sms consent.")


class JourneyResultsOut(UpliftOut):
    entries: int
    steps: dict[int, dict[str, int]] = Field(description="By step number: result: entries.")


class HolidayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, examples=["Mid-Autumn"])
    day: date


class HolidayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    day: date
