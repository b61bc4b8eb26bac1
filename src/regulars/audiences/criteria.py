"""What an audience asks of a member, as plain data: conditions combined with all, any, not.

A definition is JSON a marketer can write and read, e.g.
`{"kind": "all", "of": [{"kind": "tier", "values": ["silver", "gold"]},
{"kind": "days_since_purchase", "min": 60}, {"kind": "consent", "values": ["sms"]}]}`.
`contradiction` finds the definitions that can hold for nobody before anything is counted.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OneOf(Strict):
    """The member's value is one of `values`."""

    kind: Literal[
        "tier", "rfm_segment", "shopper_type", "cluster", "home_store", "region",
        "birthday_month", "consent", "channel",
    ]  # fmt: skip
    values: list[str] = Field(min_length=1, max_length=500)


class Bounded(Strict):
    """A figure within [min, max]; either end may be open, not both."""

    kind: str
    min: Decimal | None = None
    max: Decimal | None = None

    @model_validator(mode="after")
    def _bounded(self) -> "Bounded":
        if self.min is None and self.max is None:
            raise ValueError(f"{self.kind} needs a min, a max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.kind}: min {self.min} is above max {self.max}")
        return self


class Between(Bounded):
    """A figure of the member's within the bounds."""

    kind: Literal[
        "points_balance", "clv", "probability_alive", "churn_risk", "days_since_purchase",
    ]  # fmt: skip


class InWindow(Bounded):
    """Visits or spend over the last `days` days within the bounds."""

    kind: Literal["visits", "spend"]
    days: int = Field(ge=1, le=3650)


class PointsExpiring(Strict):
    """At least `min` points that lapse within the next `days` days."""

    kind: Literal["points_expiring"]
    days: int = Field(ge=1, le=3650)
    min: int = Field(default=1, ge=1)


class Joined(Strict):
    """Joined on or after `after` and before `before`."""

    kind: Literal["joined"]
    after: date | None = None
    before: date | None = None

    @model_validator(mode="after")
    def _bounded(self) -> "Joined":
        if self.after is None and self.before is None:
            raise ValueError("joined needs an after, a before or both")
        if self.after is not None and self.before is not None and self.after >= self.before:
            raise ValueError(f"joined: after {self.after} is not before {self.before}")
        return self


class Bought(Strict):
    """Bought goods of any of the categories (and their subcategories) or brands lately."""

    kind: Literal["bought"]
    categories: list[str] = Field(default_factory=list, max_length=200)
    brands: list[str] = Field(default_factory=list, max_length=200)
    days: int = Field(default=365, ge=1, le=3650)

    @model_validator(mode="after")
    def _something(self) -> "Bought":
        if not self.categories and not self.brands:
            raise ValueError("bought needs categories, brands or both")
        return self


class InAudience(Strict):
    """A member of another saved audience."""

    kind: Literal["audience"]
    name: str = Field(min_length=1, max_length=100)


class AllOf(Strict):
    kind: Literal["all"]
    of: list["Condition"] = Field(min_length=1, max_length=100)


class AnyOf(Strict):
    kind: Literal["any"]
    of: list["Condition"] = Field(min_length=1, max_length=100)


class NotThis(Strict):
    kind: Literal["not"]
    of: "Condition"


Condition = Annotated[
    Union[  # noqa: UP007 - a discriminated union reads best spelt out
        OneOf, Between, InWindow, PointsExpiring, Joined, Bought, InAudience, AllOf, AnyOf, NotThis
    ],
    Field(discriminator="kind"),
]
for _model in (AllOf, AnyOf, NotThis):
    _model.model_rebuild()


def contradiction(condition: Condition) -> str | None:
    """Why no member can meet the condition, when that shows from the definition alone."""
    if isinstance(condition, NotThis):
        return contradiction(condition.of)
    if isinstance(condition, AnyOf):
        reasons = [contradiction(c) for c in condition.of]
        return reasons[0] if all(reasons) else None
    if not isinstance(condition, AllOf):
        return None
    for part in condition.of:
        if (reason := contradiction(part)) is not None:
            return reason
    return _clash(condition.of)


def _clash(parts: list[Condition]) -> str | None:
    """Two parts of an `all` that cannot both hold."""
    chosen: dict[str, set[str]] = {}
    lowest: dict[str, Decimal] = {}
    highest: dict[str, Decimal] = {}
    for part in parts:
        if isinstance(part, OneOf):
            both = chosen.get(part.kind, set(part.values)) & set(part.values)
            if not both:
                return f"{part.kind} cannot be one of two lists that share nothing"
            chosen[part.kind] = both
        if isinstance(part, Between):
            if part.min is not None:
                lowest[part.kind] = max(lowest.get(part.kind, part.min), part.min)
            if part.max is not None:
                highest[part.kind] = min(highest.get(part.kind, part.max), part.max)
            if (
                part.kind in lowest
                and part.kind in highest
                and lowest[part.kind] > highest[part.kind]
            ):
                least, most = lowest[part.kind], highest[part.kind]
                return f"{part.kind} cannot be at least {least} and at most {most}"
        if isinstance(part, NotThis) and part.of in parts:
            return "a condition and its opposite are both asked for"
    return None
