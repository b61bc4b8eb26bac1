"""The shape of a journey: what starts it, who may enter, and its steps, written in TOML
(like EXAMPLE) or the same as JSON through the API. Steps are numbered from 1; a branch goes
on to the next step, ends, or jumps ahead.
"""

import tomllib
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from regulars.campaigns.rules import VARIABLES, Wording
from regulars.campaigns.schemas import Translation
from regulars.errors import InvalidInput, problems_in_words
from regulars.members.models import ConsentChannel
from regulars.members.schemas import MessageLanguage
from regulars.program.schema import Strict

EXAMPLE = """\
name = "points about to lapse"
trigger = "points_expiring"      # days ahead: the program's expiry.reminder_days
control_share = 0.1

[[steps]]
do = "send"
channel = "sms"
body = "{name}，您有{expiring_points}积分将于{expiry_date}前到期，到店消费即可抵现。"
translations.en.body = "{name}, {expiring_points} points lapse by {expiry_date}: spend them."

[[steps]]
do = "wait"
days = 7

[[steps]]
do = "branch"
when = "bought"                  # since entering the journey
then = "end"

[[steps]]
do = "points"
points = 50
"""


class Trigger(StrEnum):
    WELCOME = "welcome"  # after enrolment
    FIRST_PURCHASE = "first_purchase"
    BIRTHDAY = "birthday"  # in the birthday month, once a year
    HOLIDAY = "holiday"  # `days` before a holiday of the chain's calendar
    POINTS_EXPIRING = "points_expiring"  # within `days` (the program's reminder_days)
    TIER_DROP = "tier_drop"  # `days` before the review that would lower the tier
    WIN_BACK = "win_back"  # `days` without a purchase, or churn risk at `churn_risk`
    CASE_CLOSED = "case_closed"  # a member's complaint closed: the follow-up after it


# What a trigger adds to the values a message may use.
TRIGGER_VARIABLES: dict[Trigger, tuple[str, ...]] = {
    Trigger.HOLIDAY: ("holiday", "holiday_date"),
    Trigger.POINTS_EXPIRING: ("expiring_points", "expiry_date"),
    Trigger.TIER_DROP: ("keep_tier", "spend_needed", "review_date"),
    Trigger.WIN_BACK: ("days_away",),
    Trigger.CASE_CLOSED: ("case", "category"),
}


class Send(Strict):
    do: Literal["send"]
    channel: ConsentChannel
    subject: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=2000)
    translations: dict[MessageLanguage, Translation] = Field(default_factory=dict)

    @property
    def wording(self) -> Wording:
        texts = {str(k): (v.subject, v.body) for k, v in self.translations.items()}
        return Wording(self.subject, self.body, texts)


class GiveCoupon(Strict):
    do: Literal["coupon"]
    template: str = Field(min_length=1, max_length=32)


class GivePoints(Strict):
    do: Literal["points"]
    points: int = Field(gt=0, le=10_000)


class Wait(Strict):
    do: Literal["wait"]
    days: int = Field(ge=1, le=365)


Goto = Literal["next", "end"] | Annotated[int, Field(ge=1)]


class Branch(Strict):
    do: Literal["branch"]
    when: Literal["bought", "redeemed"] = Field(
        description="bought anything, or redeemed a coupon of this journey, since entering"
    )
    then: Goto = "next"
    otherwise: Goto = "next"


Step = Annotated[Send | GiveCoupon | GivePoints | Wait | Branch, Field(discriminator="do")]

DEFAULT_DAYS = {Trigger.HOLIDAY: 7, Trigger.TIER_DROP: 30}


class Plan(Strict):
    name: str = Field(min_length=1, max_length=100)
    trigger: Trigger
    days: int | None = Field(default=None, ge=0, le=730)
    churn_risk: float | None = Field(default=None, gt=0, lt=1)
    holiday: str | None = Field(default=None, min_length=1, max_length=60)
    audience: str | None = Field(default=None, description="only members of this audience")
    control_share: Decimal = Field(default=Decimal("0.1"), ge=0, le=Decimal("0.5"))
    window_days: int = Field(default=14, ge=1, le=365, description="purchases counted after")
    steps: list[Step] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _coherent(self) -> "Plan":
        if self.trigger is Trigger.HOLIDAY and self.holiday is None:
            raise ValueError("a holiday journey names its holiday")
        if self.trigger is Trigger.WIN_BACK and self.days is None and self.churn_risk is None:
            raise ValueError("a win-back journey needs days without a purchase or a churn_risk")
        for number, step in enumerate(self.steps, start=1):
            if isinstance(step, Branch):
                for target in (step.then, step.otherwise):
                    if isinstance(target, int) and not number < target <= len(self.steps):
                        raise ValueError(
                            f"step {number} jumps to step {target}: a branch jumps ahead, "
                            f"to one of steps {number + 1} to {len(self.steps)}"
                        )
        return self

    def lead_days(self, reminder_days: int) -> int:
        """How far ahead the trigger looks: its days, or the program's or a default."""
        if self.days is not None:
            return self.days
        if self.trigger is Trigger.POINTS_EXPIRING:
            return reminder_days
        return DEFAULT_DAYS.get(self.trigger, 0)

    @property
    def variables(self) -> tuple[str, ...]:
        return VARIABLES + TRIGGER_VARIABLES.get(self.trigger, ())

    def check_messages(self) -> None:
        for number, step in enumerate(self.steps, start=1):
            if isinstance(step, Send):
                try:
                    step.wording.check(self.variables)
                except InvalidInput as problem:
                    raise InvalidInput(
                        f"step {number}: {problem.message}", field=f"steps.{number}"
                    ) from None


class InvalidJourney(InvalidInput):
    code = "invalid_journey"


def parse_plan(definition: str | dict[str, object]) -> Plan:
    """A journey from its TOML text (or its JSON object); errors name the key."""
    if isinstance(definition, str):
        try:
            definition = tomllib.loads(definition)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidJourney(f"not valid TOML: {exc}") from exc
    try:
        plan = Plan.model_validate(definition)
    except ValidationError as exc:
        problems, first = problems_in_words(exc.errors(), "journey")
        raise InvalidJourney(problems, field=first or None) from exc
    plan.check_messages()
    return plan
