"""API and import shapes of receipts and refunds."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regulars.catalog.models import Channel
from regulars.clock import Moment
from regulars.money import Price, Quantity, round_money
from regulars.sales.models import PaymentMethod


class ReceiptLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    quantity: Quantity = Field(examples=["2", "0.452"])
    unit_price: Price = Field(examples=["12.80"])
    line_discount: Price = Decimal("0")

    @model_validator(mode="after")
    def _discount_within_price(self) -> "ReceiptLineIn":
        if self.line_discount > round_money(self.quantity * self.unit_price):
            raise ValueError("line_discount is larger than quantity × unit_price")
        return self


class ReceiptIn(BaseModel):
    """A sale as the till sends it; `sold_at` without a zone is read in the store's zone."""

    model_config = ConfigDict(extra="forbid")

    store_code: str = Field(min_length=1, max_length=32)
    pos_receipt_no: str = Field(min_length=1, max_length=64)
    sold_at: Moment
    channel: Channel | None = Field(default=None, description="Defaults to the store's channel.")
    member_card: str | None = None
    payment_method: PaymentMethod = PaymentMethod.OTHER
    lines: list[ReceiptLineIn] = Field(min_length=1)


class RefundLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1)
    quantity: Quantity


class RefundIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "pos_refund_no": "R-000045",
                    "refunded_at": "2026-11-17 10:05",
                    "reason": "damaged box",
                    "lines": [{"line_no": 1, "quantity": "1"}],
                }
            ]
        },
    )

    pos_refund_no: str = Field(min_length=1, max_length=64)
    refunded_at: Moment
    reason: str | None = Field(default=None, max_length=200)
    lines: list[RefundLineIn] = Field(min_length=1)


class ReceiptLine(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    line_discount: Decimal
    amount: Decimal


class Receipt(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int
    pos_receipt_no: str
    channel: Channel
    sold_at: Moment
    member_id: int | None
    payment_method: PaymentMethod
    total_amount: Decimal
    discount_amount: Decimal
    lines: list[ReceiptLine]


class Refund(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    receipt_id: int
    pos_refund_no: str
    refunded_at: Moment
    amount: Decimal
    reason: str | None
