"""Pure rules of the sales record: line amounts, refund shares, receipt fingerprints, and
what a plausible receipt is."""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from regulars.money import round_money


@dataclass(frozen=True)
class Limits:
    """Beyond these a receipt is a typing slip or a broken till, not a sale: refused.

    A till clock a few minutes fast is normal, one days ahead is a bug; 999,999 beers on
    one line is a key held down. An installation sets its own (REGULARS_MAX_LINE_QUANTITY,
    REGULARS_MAX_LINE_AMOUNT, REGULARS_MAX_RECEIPT_AMOUNT, REGULARS_FUTURE_TOLERANCE_MINUTES).
    """

    future: timedelta = timedelta(minutes=15)
    line_quantity: Decimal = Decimal(1000)
    line_amount: Decimal = Decimal(50_000)
    receipt_amount: Decimal = Decimal(200_000)


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
