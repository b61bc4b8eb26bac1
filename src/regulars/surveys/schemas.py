"""API shapes of surveys, invitations and answers."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from regulars.members.models import ConsentChannel
from regulars.surveys.models import SurveyTrigger


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, examples=["after-visit"])
    title: str = Field(min_length=1, max_length=200, examples=["购物体验调查"])
    title_en: str = Field(min_length=1, max_length=200, examples=["How was your visit?"])
    questions: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Question keys in order: nps, csat, effort, overall, comment, and "
        "rating:<attribute> (product_quality, freshness, price, promotions, staff, "
        "checkout_speed, cleanliness, layout, parking, online_ordering, availability).",
        examples=[["nps", "overall", "rating:freshness", "rating:checkout_speed", "comment"]],
    )
    trigger: SurveyTrigger
    channel: ConsentChannel = ConsentChannel.SMS
    points: int = Field(default=0, ge=0, le=10_000, description="For answering, once.")
    sample_percent: int = Field(default=5, ge=0, le=100, description="Of purchases asked about.")
    cap_days: int = Field(default=90, ge=0, le=3650, description="At most one invitation in.")
    valid_days: int = Field(default=14, ge=1, le=365)


class QuestionOut(BaseModel):
    key: str
    low: int = Field(description="The scale's lowest score; 0 and 0 for a comment.")
    high: int
    text: dict[str, str] = Field(description="By language: zh-CN and en.")


class SurveyOut(BaseModel):
    code: str
    title: str
    title_en: str
    trigger: SurveyTrigger
    channel: ConsentChannel
    points: int
    sample_percent: int
    cap_days: int
    valid_days: int
    active: bool
    created_at: datetime
    questions: list[QuestionOut]


class AudienceInvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: str = Field(min_length=1, max_length=100)


class Invited(BaseModel):
    invited: int


class InvitationOut(BaseModel):
    invitation_id: int
    survey: SurveyOut
    invited_at: datetime
    expires_at: datetime


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitation_id: int = Field(ge=1, le=2**31 - 1)
    answers: dict[str, int | str] = Field(
        max_length=30,
        description="By question key: a whole number on its scale, or text for the comment.",
        examples=[{"nps": 9, "overall": 8, "rating:freshness": 7, "comment": "牛奶很新鲜"}],
    )


class ResponseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    invitation_id: int
    member_id: int
    store_id: int | None
    case_id: int | None
    answered_at: datetime
    nps: int | None
    csat: int | None
    effort: int | None
    overall: int | None
    ratings: dict[str, int] = Field(default_factory=dict)
    comment: str
