"""Pure coupon pricing: which presented coupons a cart accepts, for how much, and why not."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from regulars.coupons.models import CouponKind
from regulars.money import round_money
from regulars.promotions.rules import ZERO, AppliedOffer, PricedLine, spread


@dataclass(frozen=True)
class PresentedCoupon:
    """A coupon shown at the till, with its template's terms and anything wrong with it."""

    code: str
    template: str
    name: str
    kind: CouponKind
    amount: Decimal | None = None
    percent: Decimal | None = None
    max_discount: Decimal | None = None
    free_sku: str | None = None
    min_spend: Decimal = ZERO
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    problem: tuple[str, str] | None = None  # (code, message) found by the service


@dataclass(frozen=True)
class RejectedCoupon:
    code: str
    reason: str  # stable: coupon_redeemed, coupon_expired, coupon_below_min_spend, …
    message: str


def _scope(coupon: PresentedCoupon, lines: Sequence[PricedLine]) -> list[PricedLine]:
    return [
        line
        for line in lines
        if not line.excluded
        and not line.locked  # an exclusive offer leaves its lines to nobody else
        and line.left > 0
        and (
            (not coupon.skus and not coupon.categories)
            or line.sku in coupon.skus
            or bool(line.categories & set(coupon.categories))
        )
    ]


def _discount(coupon: PresentedCoupon, scope: list[PricedLine]) -> dict[int, Decimal] | str:
    match coupon.kind:
        case CouponKind.AMOUNT_OFF:
            return spread(coupon.amount or ZERO, scope)
        case CouponKind.PERCENT_OFF:
            base = sum((line.left for line in scope), ZERO)
            cut = round_money(base * (coupon.percent or ZERO) / 100)
            if coupon.max_discount is not None:
                cut = min(cut, coupon.max_discount)
            return spread(cut, scope)
        case CouponKind.FREE_ITEM:
            line = next((x for x in scope if x.sku == coupon.free_sku and x.quantity >= 1), None)
            if line is None:
                return f"the free item {coupon.free_sku} is not in the cart"
            return {line.line_no: round_money(line.left / line.quantity)}
    return {}


def apply_coupons(
    coupons: Sequence[PresentedCoupon], lines: Sequence[PricedLine], store: str
) -> tuple[list[AppliedOffer], list[RejectedCoupon]]:
    """Apply coupons after promotions, each on what the lines have left; lines updated in place.

    One coupon per template per receipt; goods excluded from promotions take no coupon.
    """
    applied: list[AppliedOffer] = []
    rejected: list[RejectedCoupon] = []
    used_templates: set[str] = set()
    for coupon in coupons:
        if coupon.problem:
            rejected.append(RejectedCoupon(coupon.code, *coupon.problem))
            continue
        if coupon.template in used_templates:
            rejected.append(
                RejectedCoupon(
                    coupon.code,
                    "coupon_template_repeated",
                    f"only one {coupon.name} coupon per receipt",
                )
            )
            continue
        if coupon.stores and store not in coupon.stores:
            rejected.append(
                RejectedCoupon(coupon.code, "coupon_not_for_store", f"not valid at store {store}")
            )
            continue
        scope = _scope(coupon, lines)
        spent = sum((line.left for line in scope), ZERO)
        if not scope:
            rejected.append(
                RejectedCoupon(
                    coupon.code, "coupon_no_eligible_items", "nothing in the cart is eligible"
                )
            )
            continue
        if spent < coupon.min_spend:
            rejected.append(
                RejectedCoupon(
                    coupon.code,
                    "coupon_below_min_spend",
                    f"needs {coupon.min_spend} of eligible goods, the cart has {spent}",
                )
            )
            continue
        discount = _discount(coupon, scope)
        if isinstance(discount, str):
            rejected.append(RejectedCoupon(coupon.code, "coupon_free_item_missing", discount))
            continue
        for line in scope:
            line.discount += discount.get(line.line_no, ZERO)
            if discount.get(line.line_no):
                line.offers.append(coupon.code)
        used_templates.add(coupon.template)
        applied.append(
            AppliedOffer(coupon.code, coupon.name, sum(discount.values(), ZERO), discount)
        )
    return applied, rejected
