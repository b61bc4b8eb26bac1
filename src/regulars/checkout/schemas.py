"""API shapes of the till."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from regulars.catalog.models import Channel
from regulars.clock import Moment
from regulars.money import Price, Quantity
from regulars.sales.models import PaymentMethod


class CartLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    quantity: Quantity = Field(examples=["2", "0.452"])
    unit_price: Price | None = Field(default=None, description="Defaults to the regular price.")


CART_EXAMPLE: JsonDict = {
    "store_code": "S001",
    "member_card": "812345678901234563",
    "lines": [{"sku": "EGGS-00035", "quantity": "2"}, {"sku": "VEG-00001", "quantity": "0.452"}],
    "coupons": ["VABN8JFTK5478Y"],
    "redeem_points": 500,
}


class CartIn(BaseModel):
    """A cart to price: who buys what, where, with which coupons and points."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CART_EXAMPLE]})

    store_code: str = Field(min_length=1, max_length=32)
    channel: Channel | None = None
    member_card: str | None = None
    sold_at: Moment | None = Field(default=None, description="Defaults to now.")
    lines: list[CartLine] = Field(min_length=1, max_length=500)
    coupons: list[str] = Field(default_factory=list, max_length=20)
    redeem_points: int = Field(default=0, ge=0)


class SaleIn(CartIn):
    """A sale as the till commits it; the same sale sent again is answered, not recorded."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **CART_EXAMPLE,
                    "pos_receipt_no": "S001-20261116-0000123",
                    "sold_at": "2026-11-16 18:30",
                    "payment_method": "wechat_pay",
                }
            ]
        },
    )

    pos_receipt_no: str = Field(min_length=1, max_length=64)
    sold_at: Moment
    payment_method: PaymentMethod = PaymentMethod.OTHER


class PricedLineOut(BaseModel):
    line_no: int
    sku: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    amount: Decimal
    offers: list[str]


class OfferOut(BaseModel):
    code: str
    name: str
    discount: Decimal


class ConsideredOfferOut(BaseModel):
    """A promotion of the program and what it did for this cart."""

    code: str
    name: str
    applied: bool
    discount: Decimal
    reason: str | None = Field(
        default=None,
        examples=["below_threshold"],
        description="Why it gave nothing: not_member, other_tier, other_store, other_channel, "
        "outside_window, budget_exhausted, no_qualifying_goods, excluded_goods, "
        "lost_to_exclusive, lost_to_group, below_threshold, too_few_items, no_saving, "
        "nothing_left.",
    )
    message: str = Field(default="", examples=["spend 12.50 more"])


class RejectedCouponOut(BaseModel):
    code: str
    reason: str
    message: str


class TierProgressOut(BaseModel):
    """The member's tier once this sale is counted, and what the next one asks."""

    tier: str
    next_tier: str | None
    spend_to_next: Decimal | None
    visits_to_next: int | None = None
    review_on: date | None = None
    message: str = Field(default="", examples=["Spend 120.00 more by 2027-01-01 to keep Silver"])


class Quote(BaseModel):
    lines: list[PricedLineOut]
    promotions: list[OfferOut]
    considered: list[ConsideredOfferOut] = Field(
        default_factory=list, description="Every promotion of the program: applied ones first."
    )
    coupons: list[OfferOut]
    rejected_coupons: list[RejectedCouponOut]
    gross: Decimal
    discount: Decimal
    total: Decimal
    points_redeemed: int
    redeemed_value: Decimal
    to_pay: Decimal
    points_problem: str | None
    points_earned: int
    earn_reasons: list[str]
    tier: TierProgressOut | None


class SaleResult(Quote):
    receipt_id: int
    created: bool  # False when the till sent a sale that was already committed
    program_version: int
    sold_at: datetime
    upgraded_to: str | None = None


class RefundResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    refund_id: int
    created: bool
    amount: Decimal  # the value of the goods brought back
    points_reversed: int  # points their purchase had earned, taken back
    points_returned: int  # points they were paid with, given back
    money_back: Decimal  # what the till pays out: the amount less the points given back
