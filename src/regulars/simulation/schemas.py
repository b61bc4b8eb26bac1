"""The what-if report as the API returns it and the command line prints it."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from regulars.simulation.service import Comparison, Outcome


class SimulationIn(BaseModel):
    toml: str = Field(min_length=1, max_length=200_000, description="The proposed program.")
    start: date = Field(alias="from", description="First day of the period, inclusive.")
    end: date = Field(alias="to", description="Last day of the period, inclusive.")


class Figures(BaseModel):
    """One measure under the active program, under the proposed one, and the difference."""

    active: Decimal
    proposed: Decimal
    change: Decimal


class OfferFigures(BaseModel):
    code: str
    receipts: Figures
    discount: Figures


class TierMoveFigures(BaseModel):
    from_tier: str
    to_tier: str
    members: Figures


class TierFigures(BaseModel):
    tier: str
    members: Figures


class SimulationOut(BaseModel):
    start: datetime
    end: datetime
    receipts: int
    member_receipts: int
    discount: Figures
    points_issued: Figures
    liability: Figures = Field(description="The points issued, at what they pay at the till.")
    offers: list[OfferFigures]
    tier_moves: list[TierMoveFigures] = Field(description="Upgrades during the period.")
    tiers: list[TierFigures] = Field(description="The period's buyers by tier at its end.")


def period(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Whole local days, the last one included."""
    first = datetime.combine(start, time.min, tzinfo=zone)
    return first, datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)


def _figures(active: Decimal | int, proposed: Decimal | int) -> Figures:
    return Figures(active=active, proposed=proposed, change=proposed - active)


def report(comparison: Comparison) -> SimulationOut:
    a, p = comparison.active, comparison.proposed
    codes = sorted(a.offers.keys() | p.offers.keys())
    moves = sorted(a.moves.keys() | p.moves.keys())
    tiers = sorted(a.tiers.keys() | p.tiers.keys())
    return SimulationOut(
        start=comparison.start,
        end=comparison.end,
        receipts=a.receipts,
        member_receipts=a.member_receipts,
        discount=_figures(a.discount, p.discount),
        points_issued=_figures(a.points, p.points),
        liability=_figures(a.liability, p.liability),
        offers=[
            OfferFigures(
                code=code,
                receipts=_figures(_offer(a, code)[0], _offer(p, code)[0]),
                discount=_figures(_offer(a, code)[1], _offer(p, code)[1]),
            )
            for code in codes
        ],
        tier_moves=[
            TierMoveFigures(from_tier=f, to_tier=t, members=_figures(a.moves[f, t], p.moves[f, t]))
            for f, t in moves
        ],
        tiers=[TierFigures(tier=t, members=_figures(a.tiers[t], p.tiers[t])) for t in tiers],
    )


def _offer(outcome: Outcome, code: str) -> tuple[int, Decimal]:
    offer = outcome.offers.get(code)
    return (offer.receipts, offer.discount) if offer else (0, Decimal("0.00"))
