"""The shape of a program file; every rule engine reads its settings from these models."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regulars.errors import a

Points = Annotated[int, Field(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rounding(StrEnum):
    DOWN = "down"
    HALF_UP = "half_up"


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class Multiplier(Strict):
    """Extra earning: the factors of every multiplier that applies to a line are multiplied."""

    name: str = Field(min_length=1)
    factor: Decimal = Field(gt=0, le=20)
    kind: Literal["category", "sku", "date_window", "member_day", "birthday_month"]
    categories: list[str] = Field(default_factory=list, description="for kind = category")
    skus: list[str] = Field(default_factory=list, description="for kind = sku")
    starts: date | None = Field(default=None, description="for kind = date_window, inclusive")
    ends: date | None = Field(default=None, description="for kind = date_window, inclusive")
    weekdays: list[Weekday] = Field(
        default_factory=list, description="date_window: only these days; member_day: the days"
    )

    @model_validator(mode="after")
    def _complete(self) -> "Multiplier":
        needs = {
            "category": bool(self.categories),
            "sku": bool(self.skus),
            "date_window": self.starts is not None and self.ends is not None,
            "member_day": bool(self.weekdays),
            "birthday_month": True,
        }
        if not needs[self.kind]:
            wanted = {
                "category": "categories",
                "sku": "skus",
                "date_window": "starts and ends",
                "member_day": "weekdays",
            }[self.kind]
            raise ValueError(f"{a(self.kind)} multiplier needs {wanted}")
        if self.starts and self.ends and self.ends < self.starts:
            raise ValueError("ends is before starts")
        return self


class Earning(Strict):
    points_per_yuan: Decimal = Field(default=Decimal(1), ge=0)
    rounding: Rounding = Rounding.DOWN
    excluded_categories: list[str] = Field(default_factory=list)
    excluded_skus: list[str] = Field(default_factory=list)
    multipliers: list[Multiplier] = Field(default_factory=list)
    cap_per_receipt: Points | None = None
    cap_per_day: Points | None = None
    pending_days: int = Field(default=0, ge=0, le=90)


class Expiry(Strict):
    policy: Literal["rolling", "calendar", "never"] = "rolling"
    months: int = Field(default=24, ge=1, le=120, description="rolling: lifetime of a lot")
    reminder_days: int = Field(default=30, ge=0, le=365)


class Tier(Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    min_spend: Decimal = Field(
        default=Decimal(0), ge=0, description="rolling-window eligible spend"
    )
    min_visits: int = Field(default=0, ge=0)
    earn_multiplier: Decimal = Field(default=Decimal(1), gt=0, le=10)
    birthday_bonus: Points = 0
    upgrade_coupon: str | None = None


class TierReview(Strict):
    month: int = Field(default=1, ge=1, le=12)
    day: int = Field(default=1, ge=1, le=28)
    window_months: int = Field(default=12, ge=1, le=36)
    qualify_by: Literal["spend", "visits", "spend_or_visits", "spend_and_visits"] = "spend"


class Redemption(Strict):
    points_per_yuan: int = Field(default=100, ge=1)
    min_points: Points = 100
    max_share: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)


class Reward(Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    points: int = Field(gt=0)
    kind: Literal["gift", "coupon"]
    coupon_template: str | None = None
    stock: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _coupon_named(self) -> "Reward":
        if self.kind == "coupon" and not self.coupon_template:
            raise ValueError("a coupon reward needs coupon_template")
        return self


class Engagement(Strict):
    survey_answered: Points = 0
    review_written: Points = 0
    daily_cap: Points = 0


class Referral(Strict):
    referrer_points: Points = 0
    referee_points: Points = 0
    min_first_purchase: Decimal = Field(default=Decimal(0), ge=0)
    max_rewards_per_referrer: int = Field(default=20, ge=0)


class Promotion(Strict):
    """An offer priced at the till. See the README's promotion section for how offers stack."""

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    kind: Literal[
        "spend_save",
        "percent_off",
        "amount_off",
        "buy_get_free",
        "nth_item",
        "bundle",
        "member_price",
        "flash_sale",
    ]
    priority: int = Field(default=100, description="lower goes first")
    group: str | None = Field(default=None, description="one offer of a group per line")
    exclusive: bool = Field(default=False, description="a line it discounts gets nothing else")
    # Which goods: empty means every item that may be promoted.
    skus: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    # Who and when.
    member_only: bool = False
    tiers: list[str] = Field(default_factory=list)
    stores: list[str] = Field(default_factory=list)
    channels: list[Literal["store", "online", "mini_program"]] = Field(default_factory=list)
    starts: datetime | None = Field(default=None, description="without a zone: program time")
    ends: datetime | None = None
    weekdays: list[Weekday] = Field(default_factory=list)
    # What it gives.
    threshold: Decimal | None = Field(default=None, gt=0, description="spend_save: spend X")
    save: Decimal | None = Field(default=None, gt=0, description="spend_save: save Y; amount_off")
    repeat: bool = Field(default=False, description="spend_save: save Y for every X")
    percent: Decimal | None = Field(default=None, gt=0, le=100)
    buy: int | None = Field(default=None, ge=1)
    free: int | None = Field(default=None, ge=1)
    nth: int | None = Field(default=None, ge=2)
    price: Decimal | None = Field(default=None, ge=0, description="bundle or flash sale price")
    member_prices: dict[str, Decimal] = Field(default_factory=dict)
    # Limits.
    per_receipt_units: int | None = Field(default=None, ge=1)
    budget_count: int | None = Field(default=None, ge=0, description="receipts it may discount")
    budget_amount: Decimal | None = Field(default=None, ge=0, description="money it may give")
    budget_units: int | None = Field(default=None, ge=0, description="flash sale: units in all")

    @model_validator(mode="after")
    def _complete(self) -> "Promotion":
        needs: dict[str, tuple[str, ...]] = {
            "spend_save": ("threshold", "save"),
            "percent_off": ("percent",),
            "amount_off": ("save",),
            "buy_get_free": ("buy", "free"),
            "nth_item": ("nth", "percent"),
            "bundle": ("price",),
            "member_price": ("member_prices",),
            "flash_sale": ("starts", "ends"),
        }
        missing = [name for name in needs[self.kind] if not getattr(self, name)]
        if missing:
            raise ValueError(f"{a(self.kind)} promotion needs {' and '.join(missing)}")
        if self.kind == "bundle" and len(self.skus) < 2:
            raise ValueError("a bundle needs at least two skus")
        if self.kind == "flash_sale" and self.price is None and self.percent is None:
            raise ValueError("a flash_sale needs a price or a percent")
        if self.starts and self.ends:
            if (self.starts.tzinfo is None) != (self.ends.tzinfo is None):
                raise ValueError("give starts and ends both with a zone or both without")
            if self.ends <= self.starts:
                raise ValueError("ends is not after starts")
        return self


class Program(Strict):
    """A chain's whole loyalty program."""

    name: str = Field(min_length=1)
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    timezone: str = "Asia/Shanghai"
    earning: Earning = Field(default_factory=Earning)
    expiry: Expiry = Field(default_factory=Expiry)
    tiers: list[Tier] = Field(min_length=1)
    tier_review: TierReview = Field(default_factory=TierReview)
    redemption: Redemption = Field(default_factory=Redemption)
    rewards: list[Reward] = Field(default_factory=list)
    engagement: Engagement = Field(default_factory=Engagement)
    referral: Referral = Field(default_factory=Referral)
    promotions: list[Promotion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ladder(self) -> "Program":
        codes = [tier.code for tier in self.tiers]
        if len(set(codes)) != len(codes):
            raise ValueError("tier codes must be unique")
        if self.tiers[0].min_spend or self.tiers[0].min_visits:
            raise ValueError("the first tier is where everyone starts: it needs no threshold")
        by = self.tier_review.qualify_by
        for lower, higher in zip(self.tiers, self.tiers[1:], strict=False):
            more_spend = higher.min_spend > lower.min_spend
            more_visits = higher.min_visits > lower.min_visits
            climbs = {"spend": more_spend, "visits": more_visits}.get(by, more_spend or more_visits)
            if (
                not climbs
                or higher.min_spend < lower.min_spend
                or higher.min_visits < lower.min_visits
            ):
                raise ValueError(f"tier {higher.code} must ask more than {lower.code} ({by})")
        promotion_codes = [p.code for p in self.promotions]
        if len(set(promotion_codes)) != len(promotion_codes):
            raise ValueError("promotion codes must be unique")
        unknown = {t for p in self.promotions for t in p.tiers} - set(codes)
        if unknown:
            raise ValueError(f"promotions name unknown tiers: {', '.join(sorted(unknown))}")
        return self

    def tier(self, code: str) -> Tier:
        return next(t for t in self.tiers if t.code == code)

    def tier_index(self, code: str) -> int:
        return [t.code for t in self.tiers].index(code)
