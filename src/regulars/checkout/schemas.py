"""API shapes of the till."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from regulars.sales.schemas import ReceiptIn


class SaleIn(ReceiptIn):
    """A sale as the till commits it: the receipt, and the points the member pays with."""

    redeem_points: int = Field(default=0, ge=0)


class SaleResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    receipt_id: int
    created: bool  # False when the till sent a sale that was already committed
    program_version: int | None
    total_amount: Decimal
    points_redeemed: int
    redeemed_value: Decimal
    to_pay: Decimal
    points_earned: int
    tier: str | None
    upgraded_to: str | None = None


class RefundResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    refund_id: int
    created: bool
    amount: Decimal
    points_reversed: int
    points_returned: int
