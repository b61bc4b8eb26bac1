"""Money is Decimal in the currency's minor unit; every rounding in the system goes through here."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field

CENT = Decimal("0.01")

# Bounds keep every amount, and quantity × price, well inside a 64-bit count of cents.
Price = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=9, decimal_places=3)]


def round_money(amount: Decimal) -> Decimal:
    """Round half up to the cent, as Chinese tills and receipts do."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
