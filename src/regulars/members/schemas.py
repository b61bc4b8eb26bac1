"""API and import shapes of members."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from regulars.clock import Moment, utc_now
from regulars.members.models import ConsentChannel, Gender, MemberStatus

MessageLanguage = Literal["zh-CN", "en"]
OLDEST = 120  # years: an older birth date is a typing slip


def _plausible_birth_date(born: date) -> date:
    today = utc_now().date()
    if born > today:
        raise ValueError("is in the future")
    if born < today.replace(year=today.year - OLDEST, day=min(today.day, 28)):
        raise ValueError(f"would make the member older than {OLDEST}")
    return born


BirthDate = Annotated[date, AfterValidator(_plausible_birth_date)]


class MemberCreate(BaseModel):
    """What an enrolment needs; phone and e-mail are normalised by the service."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "phone": "138 0013 8000",
                    "name": "李娜",
                    "gender": "female",
                    "birth_date": "1988-03-09",
                    "join_store_code": "S001",
                    "consents": {"sms": True, "wechat": True},
                }
            ]
        },
    )

    phone: str | None = Field(default=None, examples=["138 0013 8000"])
    email: str | None = Field(default=None, examples=["li.na@example.com"])
    name: str | None = Field(default=None, max_length=100)
    gender: Gender = Gender.UNSPECIFIED
    birth_date: BirthDate | None = None
    language: MessageLanguage | None = Field(
        default=None, description="The language of the member's messages; none: the chain's."
    )
    join_store_code: str | None = None
    card_number: str | None = Field(
        default=None, description="Keep an existing card number when migrating members."
    )
    joined_at: Moment | None = Field(
        default=None, description="Defaults to now; without a zone, the join store's zone."
    )
    referred_by_code: str | None = None
    consents: dict[ConsentChannel, bool] = Field(
        default_factory=dict,
        description="Whether the member agrees to be contacted on each channel, e.g. "
        '`{"sms": true, "email": false}`; channels: '
        + ", ".join(f"`{channel}`" for channel in ConsentChannel)
        + ". A channel left out is not agreed to.",
    )

    @model_validator(mode="after")
    def _reachable(self) -> "MemberCreate":
        if not (self.phone or self.email or self.card_number):
            raise ValueError("a member needs a phone, an e-mail or a card number")
        return self


class MemberUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "li.na@example.com"}]}
    )

    phone: str | None = None
    email: str | None = None
    name: str | None = Field(default=None, max_length=100)
    gender: Gender | None = None
    birth_date: BirthDate | None = None
    language: MessageLanguage | None = None


class ConsentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ConsentChannel
    granted: bool
    source: str | None = Field(
        default=None,
        max_length=40,
        examples=["store desk"],
        description="Where the member said so; the caller's name when left out.",
    )


class Consent(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: ConsentChannel
    granted: bool
    recorded_at: datetime
    source: str


class Member(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    card_number: str
    phone: str | None
    email: str | None
    name: str | None
    gender: Gender
    birth_date: date | None
    language: str | None
    joined_at: datetime
    status: MemberStatus
    referral_code: str
