"""The one pricing function for quotes and sales alike: plain data in, a priced cart out.

Order of work: promotions (see promotions/rules.py for how they stack), then coupons on
what is left, then points as payment, then the points the receipt earns on what is paid.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from regulars.coupons.rules import PresentedCoupon, RejectedCoupon, apply_coupons
from regulars.points import rules as points
from regulars.program.schema import Program, Tier
from regulars.promotions.rules import (
    ZERO,
    Allowance,
    AppliedOffer,
    Occasion,
    PricedLine,
    Shopper,
    SkippedOffer,
    apply_promotions,
)
from regulars.tiers.rules import Standing, TierOutcome, after_sale


@dataclass(frozen=True)
class CartItem:
    sku: str
    categories: frozenset[str]
    quantity: Decimal
    unit_price: Decimal
    excluded_from_promotions: bool = False
    excluded_from_points: bool = False


@dataclass(frozen=True)
class Member:
    standing: Standing  # tier, window spend and visits before this sale
    birth_month: int | None
    spendable_points: int
    earned_today: int

    @property
    def tier(self) -> Tier:
        return self.standing.tier


@dataclass(frozen=True)
class Cart:
    items: Sequence[CartItem]
    occasion: Occasion
    day: date  # local
    member: Member | None = None
    coupons: Sequence[PresentedCoupon] = ()
    allowances: dict[str, Allowance] = field(default_factory=dict)
    points_wanted: int = 0


@dataclass
class PricedCart:
    lines: list[PricedLine]
    promotions: list[AppliedOffer]
    skipped_promotions: list[SkippedOffer]
    coupons: list[AppliedOffer]
    rejected_coupons: list[RejectedCoupon]
    points_redeemed: int
    redeemed_value: Decimal
    points_problem: str | None
    points_earned: int
    earn_reasons: list[str]
    eligible_amount: Decimal  # spend that earns points and counts toward tiers
    tier: TierOutcome | None  # where the sale leaves the member's tier

    @property
    def gross(self) -> Decimal:
        return sum((line.gross for line in self.lines), ZERO)

    @property
    def discount(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.gross - self.discount

    @property
    def to_pay(self) -> Decimal:
        return self.total - self.redeemed_value


def price_cart(program: Program, cart: Cart) -> PricedCart:
    lines = [
        PricedLine(
            line_no=n,
            sku=item.sku,
            categories=item.categories,
            quantity=item.quantity,
            unit_price=item.unit_price,
            excluded=item.excluded_from_promotions,
        )
        for n, item in enumerate(cart.items, start=1)
    ]
    member = cart.member
    shopper = Shopper(member=member is not None, tier=member.tier.code if member else None)
    promotions, skipped = apply_promotions(
        program.promotions, lines, shopper, cart.occasion, cart.allowances
    )
    coupons, rejected = apply_coupons(cart.coupons, lines, cart.occasion.store)
    total = sum((line.left for line in lines), ZERO)

    redeemed, problem = 0, None
    if cart.points_wanted and member is None:
        problem = "points can only be redeemed by a member"
    elif cart.points_wanted and member is not None:
        allowed = points.redeemable_points(
            program.redemption,
            wanted=cart.points_wanted,
            balance=member.spendable_points,
            payable=total,
        )
        if allowed < cart.points_wanted:
            problem = (
                f"{cart.points_wanted} points offered, at most {allowed} may pay this receipt "
                f"(balance {member.spendable_points}, minimum {program.redemption.min_points}, "
                f"at most {program.redemption.max_share:.0%} of the amount)"
            )
        else:
            redeemed = cart.points_wanted
    redeemed_value = points.points_value(program.redemption, redeemed)

    earned, reasons, eligible, progress = 0, [], ZERO, None
    if member is not None:
        earning = points.points_for_receipt(
            program.earning,
            [
                points.EarnLine(
                    sku=line.sku,
                    categories=line.categories,
                    amount=line.left,
                    excluded=item.excluded_from_points,
                )
                for line, item in zip(lines, cart.items, strict=True)
            ],
            points.EarnContext(
                day=cart.day,
                tier=member.tier,
                birth_month=member.birth_month,
                earned_today=member.earned_today,
                paid_with_points=redeemed_value,
            ),
        )
        earned, reasons, eligible = earning.points, earning.reasons, earning.eligible_amount
        progress = after_sale(program, member.standing, earning.eligible_amount)
    return PricedCart(
        lines,
        promotions,
        skipped,
        coupons,
        rejected,
        redeemed,
        redeemed_value,
        problem,
        earned,
        reasons,
        eligible,
        progress,
    )
