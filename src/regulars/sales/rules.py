"""Pure rules of the sales record: line amounts, refund shares, receipt fingerprints."""

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal

from regulars.money import round_money


def line_amount(quantity: Decimal, unit_price: Decimal, line_discount: Decimal) -> Decimal:
    return round_money(quantity * unit_price) - line_discount


def refund_amount(
    *,
    line_quantity: Decimal,
    line_amount: Decimal,
    refunded_quantity: Decimal,
    refunded_amount: Decimal,
    quantity: Decimal,
) -> Decimal:
    """The money back for `quantity` more of a line, in proportion to what was paid.

    The refund that brings the line back to zero takes exactly what is left, so a line
    refunded in several steps never returns a cent more or less than was paid.
    """
    if refunded_quantity + quantity == line_quantity:
        return line_amount - refunded_amount
    return round_money(line_amount * quantity / line_quantity)


def fingerprint(content: Mapping[str, object]) -> str:
    """A stable hash of a record's content, to tell a retry from a different record."""
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
