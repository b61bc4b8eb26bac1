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

    Computed on the running total (what all refunds so far should come to, less what was
    already paid back), so steps never drift: no step is negative, the steps never return
    more than was paid, and the one that empties the line returns exactly what is left.
    """
    due = round_money(line_amount * (refunded_quantity + quantity) / line_quantity)
    return due - refunded_amount


def fingerprint(content: Mapping[str, object]) -> str:
    """A stable hash of a record's content, to tell a retry from a different record."""
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
