"""Pure rules of the tier ladder: who qualifies, the review, and what a sale does to a tier."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from regulars.program.schema import Program, Tier


def _reaches(how: str, tier: Tier, spend: Decimal, visits: int) -> bool:
    by_spend, by_visits = spend >= tier.min_spend, visits >= tier.min_visits
    return {
        "spend": by_spend,
        "visits": by_visits,
        "spend_or_visits": by_spend or by_visits,
        "spend_and_visits": by_spend and by_visits,
    }[how]


def tier_for(program: Program, *, spend: Decimal, visits: int) -> Tier:
    """The highest tier whose thresholds the member's window spend and visits reach."""
    how = program.tier_review.qualify_by
    best = program.tiers[0]
    for tier in program.tiers[1:]:
        if _reaches(how, tier, spend, visits):
            best = tier
    return best


def reviewed_tier(program: Program, *, current: str, spend: Decimal, visits: int) -> Tier:
    """At the review a member keeps a tier they requalify for, else drops one level only."""
    qualified = tier_for(program, spend=spend, visits=visits)
    at = program.tier_index(current)
    if program.tier_index(qualified.code) >= at:
        return qualified
    return program.tiers[at - 1]


def next_review(program: Program, after: date) -> date:
    review = program.tier_review
    this_year = date(after.year, review.month, review.day)
    return this_year if this_year > after else date(after.year + 1, review.month, review.day)


@dataclass(frozen=True)
class Standing:
    """A member's tier before a sale, with their spend and visits in the rolling window."""

    tier: Tier
    spend: Decimal
    visits: int
    review_on: date | None = None


@dataclass(frozen=True)
class TierOutcome:
    """Where a sale leaves the member: their tier, what the next one asks, what keeps this one."""

    tier: Tier
    upgraded: bool
    next_tier: Tier | None
    spend_to_next: Decimal | None
    visits_to_next: int | None
    review_on: date | None
    message: str


def _shortfall(
    how: str, tier: Tier, spend: Decimal, visits: int
) -> tuple[Decimal | None, int | None]:
    """What is missing to reach `tier`, in the measures the program qualifies by."""
    spend_gap = max(tier.min_spend - spend, Decimal(0)) if how != "visits" else None
    visit_gap = max(tier.min_visits - visits, 0) if how != "spend" else None
    return spend_gap, visit_gap


def _words(how: str, spend: Decimal | None, visits: int | None) -> str:
    asks = []
    if spend:
        asks.append(f"spend {spend:.2f} more")
    if visits:
        asks.append(f"visit {visits} more time{'s' if visits > 1 else ''}")
    return (" or " if how == "spend_or_visits" else " and ").join(asks)


def after_sale(program: Program, standing: Standing, eligible: Decimal) -> TierOutcome:
    """The tier outcome of a sale with `eligible` spend: an upgrade as soon as a threshold is
    crossed (never a drop: that waits for the review), and what the member is told.

    A sale counts as a visit when it has eligible spend. The message counts on today's window;
    spend that leaves the window before the review is not yet taken off.
    """
    how = program.tier_review.qualify_by
    spend = standing.spend + eligible
    visits = standing.visits + (1 if eligible > 0 else 0)
    qualified = tier_for(program, spend=spend, visits=visits)
    upgraded = program.tier_index(qualified.code) > program.tier_index(standing.tier.code)
    tier = qualified if upgraded else standing.tier
    index = program.tier_index(tier.code)
    following = program.tiers[index + 1] if index + 1 < len(program.tiers) else None
    spend_gap, visit_gap = _shortfall(how, following, spend, visits) if following else (None, None)
    told = []
    if index > 0 and standing.review_on is not None:
        keep = _words(how, *_shortfall(how, tier, spend, visits))
        if _reaches(how, tier, spend, visits) or not keep:
            told.append(f"{tier.name} is kept at the review on {standing.review_on.isoformat()}")
        else:
            told.append(f"{keep} by {standing.review_on.isoformat()} to keep {tier.name}")
    if following is not None:
        told.append(f"{_words(how, spend_gap, visit_gap)} to reach {following.name}")
    message = "; ".join(told)
    return TierOutcome(
        tier,
        upgraded,
        following,
        spend_gap,
        visit_gap,
        standing.review_on,
        message[:1].upper() + message[1:],
    )
