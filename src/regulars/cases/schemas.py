"""API shapes of cases, service levels and business hours."""

from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from regulars.cases.models import CaseCategory, CaseChannel, Severity
from regulars.cases.rules import CaseState


class CaseIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "hotline",
                    "store_code": "S001",
                    "category": "freshness",
                    "severity": "high",
                    "description": "今天早上买的牛奶是酸的",
                    "member_id": 42,
                    "sku": "MILK-1L",
                }  # fmt: skip
            ]
        },
    )

    channel: CaseChannel
    store_code: str = Field(min_length=1, max_length=32, description="The store responsible.")
    category: CaseCategory | None = Field(
        default=None, description="Left out: suggested from the description, to be confirmed."
    )
    severity: Severity
    description: str = Field(min_length=1, max_length=5000)
    member_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    receipt_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    sku: str | None = Field(default=None, max_length=64)
    attachments: list[str] = Field(
        default_factory=list, max_length=10, description="References to files kept elsewhere."
    )

    @field_validator("attachments")
    @classmethod
    def _short(cls, value: list[str]) -> list[str]:
        if any(not 0 < len(item) <= 500 for item in value):
            raise ValueError("an attachment is a reference of 1 to 500 characters")
        return value


class Clock(BaseModel):
    due: datetime
    done_at: datetime | None
    paused: bool = Field(description="Waiting for the customer: the due time moves on.")
    late: bool


class Standing(BaseModel):
    first_response: Clock
    resolution: Clock


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: CaseChannel
    store_id: int
    member_id: int | None
    receipt_id: int | None
    category: CaseCategory
    category_confirmed: bool
    severity: Severity
    description: str
    state: CaseState
    queue: str
    assignee: str | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    service_levels: Standing | None = Field(
        default=None, description="None where no policy covers its category and severity."
    )


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: CaseState
    note: str = Field(default="", max_length=2000)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue: str | None = Field(default=None, max_length=64)
    assignee: str | None = Field(default=None, max_length=64)


class GoodwillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(default=0, ge=0, le=100_000)
    coupon_template: str | None = Field(default=None, max_length=32)
    reason: str = Field(min_length=3, max_length=200, examples=["sour milk: sorry"])


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    kind: str
    from_state: CaseState | None
    to_state: CaseState | None
    note: str


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: CaseCategory
    severity: Severity
    first_response_minutes: int = Field(ge=1, le=60 * 24 * 90)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 365)


class PolicyOut(PolicyIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    changed_at: datetime


class DayHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opens: time
    closes: time = Field(description="00:00: midnight at the end of the day.")


class HoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_code: str | None = Field(default=None, description="None: the chain's own hours.")
    hours: dict[int, DayHours] = Field(
        description="By weekday, 0 is Monday; a day left out is closed."
    )


class ClosedDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_code: str | None = None
    day: date
    name: str = Field(min_length=1, max_length=60)


class SuggestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=5000, examples=["排队结账等了二十分钟"])


class SuggestionOut(BaseModel):
    category: CaseCategory
    confidence: float = Field(description="The model's probability of this category.")
    accuracy: float = Field(description="The model's accuracy on held-out confirmed cases.")
    baseline_accuracy: float = Field(description="Always guessing the most common category.")
    labelled_cases: int


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: CaseCategory
