"""API shapes of coupons."""

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regulars.clock import AwareMoment
from regulars.coupons.models import CouponKind, CouponStatus
from regulars.errors import a
from regulars.money import Price


class CouponTemplateCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "WELCOME10",
                    "name": "10 yuan off your first shop of 50 yuan",
                    "kind": "amount_off",
                    "amount": "10.00",
                    "min_spend": "50.00",
                    "valid_days": 30,
                    "per_member_limit": 1,
                }
            ]
        },
    )

    code: str = Field(min_length=1, max_length=32, examples=["WELCOME10"])
    name: str = Field(min_length=1, max_length=200, examples=["10 yuan off your first shop"])
    kind: CouponKind
    amount: Price | None = Field(default=None, description="amount_off: money off")
    percent: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=2)
    max_discount: Price | None = Field(default=None, description="percent_off: at most this")
    free_sku: str | None = Field(default=None, description="free_item: this product, one unit")
    min_spend: Price = Decimal(0)
    skus: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    stores: list[str] = Field(default_factory=list)
    valid_from: AwareMoment | None = None
    valid_until: AwareMoment | None = None
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    per_member_limit: int | None = Field(default=None, ge=1)
    total_quantity: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _complete(self) -> "CouponTemplateCreate":
        needs = {
            CouponKind.AMOUNT_OFF: "amount",
            CouponKind.PERCENT_OFF: "percent",
            CouponKind.FREE_ITEM: "free_sku",
        }[self.kind]
        if getattr(self, needs) is None:
            raise ValueError(f"{a(self.kind)} coupon needs {needs}")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until is not after valid_from")
        return self


class CouponTemplate(CouponTemplateCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    issued_count: int


class Coupon(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    template_id: int
    member_id: int | None
    status: CouponStatus
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    redeemed_at: datetime | None
    receipt_id: int | None
