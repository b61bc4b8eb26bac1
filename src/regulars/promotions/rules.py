"""Pure promotion pricing over a cart: no database, no clock.

How offers stack, in one place:

1. Offers are tried in `priority` order (lower first; ties by code).
2. Each offer works on the price a line has left after the offers before it.
3. Within a `group`, a line takes at most one offer: the first that applies to it.
4. An `exclusive` offer, once it discounts a line, leaves that line to nobody else.
5. Goods excluded from promotions (tobacco, infant formula) are never discounted.
6. A budget (receipts, money or units) caps an offer; what is left is passed in.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from regulars.money import round_money
from regulars.program.schema import Promotion

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ZERO = Decimal("0.00")  # money: zero shown as 0.00
CENT = Decimal("0.01")
T = TypeVar("T")


@dataclass
class PricedLine:
    line_no: int
    sku: str
    categories: frozenset[str]
    quantity: Decimal
    unit_price: Decimal
    excluded: bool  # from promotions and coupons
    discount: Decimal = ZERO
    offers: list[str] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)
    locked: bool = False  # an exclusive offer took it

    @property
    def gross(self) -> Decimal:
        return round_money(self.quantity * self.unit_price)

    @property
    def left(self) -> Decimal:
        return self.gross - self.discount

    @property
    def whole_units(self) -> int | None:
        """Unit offers (buy N get M, Nth item) need countable goods, not weighed ones."""
        return int(self.quantity) if self.quantity == self.quantity.to_integral_value() else None


@dataclass(frozen=True)
class Shopper:
    member: bool
    tier: str | None = None


@dataclass(frozen=True)
class Occasion:
    store: str
    channel: str
    at: datetime  # aware, in the store's zone: naive offer times are read in it


@dataclass(frozen=True)
class Allowance:
    """What is left of an offer's budget; None means unlimited."""

    receipts: int | None = None
    money: Decimal | None = None
    units: int | None = None


@dataclass(frozen=True)
class AppliedOffer:
    code: str
    name: str
    discount: Decimal
    lines: dict[int, Decimal]  # line_no -> discount
    units: int = 0  # units sold at the offer (flash sales count them against their budget)


@dataclass(frozen=True)
class SkippedOffer:
    """An offer of the program that gave this cart nothing, and why."""

    code: str
    name: str
    reason: str  # a stable code a till can act on, e.g. "below_threshold"
    message: str  # the same for the shopper, e.g. "spend 12.50 more"


def eligible(promotion: Promotion, shopper: Shopper, occasion: Occasion) -> tuple[str, str] | None:
    """Why an offer does not apply to this shopper here and now (reason, message), or None."""
    if (promotion.member_only or promotion.kind == "member_price" or promotion.tiers) and not (
        shopper.member
    ):
        return "not_member", "members only"
    if promotion.tiers and shopper.tier not in promotion.tiers:
        return "other_tier", f"only for {', '.join(promotion.tiers)}"
    if promotion.stores and occasion.store not in promotion.stores:
        return "other_store", "not at this store"
    if promotion.channels and occasion.channel not in promotion.channels:
        return "other_channel", "not on this channel"
    at = occasion.at
    if promotion.starts and at < _local(promotion.starts, at):
        return "outside_window", "not started"
    if promotion.ends and at >= _local(promotion.ends, at):
        return "outside_window", "ended"
    if promotion.weekdays and WEEKDAYS[at.weekday()] not in promotion.weekdays:
        return "outside_window", "not today"
    return None


def _local(moment: datetime, at: datetime) -> datetime:
    """An offer time without a zone is a time in the store's zone."""
    return moment.replace(tzinfo=at.tzinfo) if moment.tzinfo is None else moment


def on_every_item(promotion: Promotion) -> bool:
    """The offer names no goods: it is for everything that may be promoted."""
    return promotion.kind != "member_price" and not promotion.skus and not promotion.categories


def meant_for(promotion: Promotion, sku: str, categories: frozenset[str]) -> bool:
    """The offer is meant for these goods (``categories``: their category and its
    ancestors)."""
    if promotion.kind == "member_price":
        return sku in promotion.member_prices
    if on_every_item(promotion):
        return True
    return sku in promotion.skus or bool(categories & set(promotion.categories))


def _in_scope(promotion: Promotion, line: PricedLine) -> bool:
    if line.excluded or line.locked or line.left <= 0:
        return False
    if promotion.group and promotion.group in line.groups:
        return False
    return meant_for(promotion, line.sku, line.categories)


def _why_nothing(promotion: Promotion, lines: Sequence[PricedLine]) -> tuple[str, str]:
    """Why an eligible offer gave the cart no discount."""
    meant = [line for line in lines if meant_for(promotion, line.sku, line.categories)]
    scope = [line for line in meant if _in_scope(promotion, line)]
    if not meant:
        return "no_qualifying_goods", "none of its goods are in the cart"
    if not scope:
        if all(line.excluded for line in meant):
            return "excluded_goods", "its goods are excluded from promotions"
        if any(line.locked for line in meant):
            return "lost_to_exclusive", "an exclusive offer already took its goods"
        if promotion.group and any(promotion.group in line.groups for line in meant):
            return "lost_to_group", f"another {promotion.group!r} offer already applied"
        return "nothing_left", "its goods are already free"
    if promotion.kind == "spend_save":
        short = _given(promotion.threshold) - sum((line.left for line in scope), ZERO)
        return "below_threshold", f"spend {short:.2f} more"
    if promotion.kind == "member_price":
        return "no_saving", "the member price is not below this price"
    return "too_few_items", "not enough of its goods in the cart"


def spread(amount: Decimal, lines: Sequence[PricedLine]) -> dict[int, Decimal]:
    """Share a receipt-level discount over lines in proportion to what they have left."""
    total = sum((line.left for line in lines), ZERO)
    amount = min(amount, total)
    if total <= 0:
        return {}
    shares = {
        line.line_no: (amount * line.left / total).quantize(CENT, ROUND_DOWN) for line in lines
    }
    # The cents rounding left over go one by one to the lines with most room, never past
    # what a line has left, so no line is ever priced below zero.
    cents = int((amount - sum(shares.values(), ZERO)) / CENT)
    roomiest = sorted(lines, key=lambda line: (shares[line.line_no] - line.left, line.line_no))
    for line in roomiest * cents:
        if cents == 0:
            break
        if shares[line.line_no] < line.left:
            shares[line.line_no] += CENT
            cents -= 1
    return shares


def _unit_prices(lines: Sequence[PricedLine]) -> list[tuple[Decimal, int]]:
    """(price left per unit, line_no) for every countable unit, dearest first."""
    units = []
    for line in lines:
        count = line.whole_units
        if count:
            units += [(line.left / count, line.line_no)] * count
    return sorted(units, key=lambda unit: (-unit[0], unit[1]))


def _per_unit(discounts: list[tuple[Decimal, int]]) -> dict[int, Decimal]:
    by_line: dict[int, Decimal] = {}
    for amount, line_no in discounts:
        by_line[line_no] = by_line.get(line_no, ZERO) + amount
    return {line_no: round_money(amount) for line_no, amount in by_line.items()}


def _given(value: T | None) -> T:
    """A field the program schema guarantees for this kind of offer."""
    if value is None:
        raise ValueError("the program schema lets no offer of this kind lack this field")
    return value


def _discounts(
    promotion: Promotion, lines: list[PricedLine], units_left: int | None
) -> tuple[dict[int, Decimal], int]:
    """Discount per line_no the offer gives on these (in-scope) lines, and units it used."""
    match promotion.kind:
        case "spend_save":
            threshold, save = _given(promotion.threshold), _given(promotion.save)
            spent = sum((line.left for line in lines), ZERO)
            times = int(spent // threshold) if promotion.repeat else int(spent >= threshold)
            return (spread(save * times, lines) if times else {}), 0
        case "percent_off":
            percent = _given(promotion.percent)
            return {line.line_no: round_money(line.left * percent / 100) for line in lines}, 0
        case "amount_off":
            save = _given(promotion.save)
            return {
                line.line_no: min(round_money(save * line.quantity), line.left) for line in lines
            }, 0
        case "buy_get_free":
            buy, size = _given(promotion.buy), _given(promotion.buy) + _given(promotion.free)
            units = _unit_prices(lines)
            free = [
                u
                for start in range(0, len(units) - size + 1, size)
                for u in units[start + buy : start + size]
            ]
            return _per_unit(free), 0
        case "nth_item":
            nth, percent = _given(promotion.nth), _given(promotion.percent)
            cheaper: list[tuple[Decimal, int]] = []
            for sku in sorted({line.sku for line in lines}):
                units = _unit_prices([line for line in lines if line.sku == sku])
                cheaper += [(price * percent / 100, n) for price, n in units[nth - 1 :: nth]]
            return _per_unit(cheaper), 0
        case "bundle":
            return _bundle(promotion, lines), 0
        case "member_price":
            prices = promotion.member_prices
            return {
                line.line_no: min(
                    round_money(
                        max(line.left / line.quantity - prices[line.sku], ZERO) * line.quantity
                    ),
                    line.left,
                )
                for line in lines
            }, 0
        case "flash_sale":
            limits = [n for n in (promotion.per_receipt_units, units_left) if n is not None]
            units = _unit_prices(lines)[: min(limits)] if limits else _unit_prices(lines)
            if promotion.price is not None:
                cuts = [(max(price - promotion.price, ZERO), n) for price, n in units]
            else:
                percent = _given(promotion.percent)
                cuts = [(price * percent / 100, n) for price, n in units]
            return _per_unit(cuts), len(units)
    return {}, 0


def _bundle(promotion: Promotion, lines: list[PricedLine]) -> dict[int, Decimal]:
    """As many complete sets as the cart holds, each for the bundle price."""
    parts = [line for line in lines if line.sku in promotion.skus and line.whole_units]
    units = {
        sku: sum(line.whole_units or 0 for line in parts if line.sku == sku)
        for sku in promotion.skus
    }
    sets = min(units.values())
    if sets == 0:
        return {}
    price_of = {
        sku: sum((line.left for line in parts if line.sku == sku), ZERO) / units[sku]
        for sku in promotion.skus
    }
    saving = round_money(max(sum(price_of.values(), ZERO) - _given(promotion.price), ZERO) * sets)
    return spread(saving, parts) if saving > 0 else {}


def _used_up(allowance: Allowance) -> bool:
    return any(
        left is not None and left <= 0
        for left in (allowance.receipts, allowance.money, allowance.units)
    )


def _within_money(discounts: dict[int, Decimal], money: Decimal | None) -> dict[int, Decimal]:
    """Scale the discounts down so they give no more than the money budget has left."""
    total = sum(discounts.values(), ZERO)
    if money is None or total <= money:
        return discounts
    return {
        n: (d * money / total).quantize(Decimal("0.01"), ROUND_DOWN) for n, d in discounts.items()
    }


def _try(
    promotion: Promotion,
    lines: list[PricedLine],
    shopper: Shopper,
    occasion: Occasion,
    allowance: Allowance,
) -> AppliedOffer | SkippedOffer:
    """What one offer gives the lines as they stand, or why it gives nothing."""
    refused = eligible(promotion, shopper, occasion)
    if refused is None and _used_up(allowance):
        refused = "budget_exhausted", "its budget is used up"
    if refused is not None:
        return SkippedOffer(promotion.code, promotion.name, *refused)
    scope = [line for line in lines if _in_scope(promotion, line)]
    discounts, units = _discounts(promotion, scope, allowance.units) if scope else ({}, 0)
    discounts = {n: d for n, d in _within_money(discounts, allowance.money).items() if d > 0}
    if not discounts:
        return SkippedOffer(promotion.code, promotion.name, *_why_nothing(promotion, lines))
    return AppliedOffer(
        promotion.code, promotion.name, sum(discounts.values(), ZERO), discounts, units
    )


def apply_promotions(
    promotions: Sequence[Promotion],
    lines: list[PricedLine],
    shopper: Shopper,
    occasion: Occasion,
    allowances: dict[str, Allowance],
) -> tuple[list[AppliedOffer], list[SkippedOffer]]:
    """Apply every eligible offer to the lines, in stacking order; lines are updated in place.

    Every offer ends up either applied or skipped with its reason.
    """
    applied: list[AppliedOffer] = []
    skipped: list[SkippedOffer] = []
    for promotion in sorted(promotions, key=lambda p: (p.priority, p.code)):
        outcome = _try(
            promotion, lines, shopper, occasion, allowances.get(promotion.code, Allowance())
        )
        if isinstance(outcome, SkippedOffer):
            skipped.append(outcome)
            continue
        for line in lines:
            cut = outcome.lines.get(line.line_no, ZERO)
            if cut <= 0:
                continue
            line.discount += cut
            line.offers.append(promotion.code)
            if promotion.group:
                line.groups.add(promotion.group)
            if promotion.exclusive:
                line.locked = True
        applied.append(outcome)
    return applied, skipped
