"""Pure rules of earning, expiry and redemption: plain data in, plain data out."""

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from regulars.program.schema import Earning, Expiry, Multiplier, Program, Redemption, Rounding, Tier

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class EarnLine:
    sku: str
    categories: frozenset[str]  # the product's category codes, its own and its ancestors'
    amount: Decimal  # what the member paid for the line, after discounts
    excluded: bool = False  # the product itself is excluded from points


@dataclass(frozen=True)
class EarnContext:
    day: date  # the sale's date in the store's time zone
    tier: Tier
    birth_month: int | None = None
    earned_today: int = 0  # points this member already earned on `day`
    paid_with_points: Decimal = Decimal(0)  # money value of points used as payment


@dataclass(frozen=True)
class Earned:
    points: int
    eligible_amount: Decimal  # spend on eligible lines, also the part paid with points
    reasons: list[str] = field(default_factory=list)


def _applies(multiplier: Multiplier, line: EarnLine, context: EarnContext) -> bool:
    weekday = WEEKDAYS[context.day.weekday()]
    match multiplier.kind:
        case "category":
            return bool(line.categories & set(multiplier.categories))
        case "sku":
            return line.sku in multiplier.skus
        case "date_window":
            starts, ends = multiplier.starts or date.min, multiplier.ends or date.max
            in_window = starts <= context.day <= ends
            return in_window and (not multiplier.weekdays or weekday in multiplier.weekdays)
        case "member_day":
            return weekday in multiplier.weekdays
        case "birthday_month":
            return context.birth_month == context.day.month
    return False


def is_eligible(earning: Earning, line: EarnLine) -> bool:
    return not (
        line.excluded
        or line.sku in earning.excluded_skus
        or line.categories & set(earning.excluded_categories)
    )


def round_points(value: Decimal, rounding: Rounding) -> int:
    mode = ROUND_DOWN if rounding is Rounding.DOWN else ROUND_HALF_UP
    return int(value.to_integral_value(rounding=mode))


def points_for_receipt(earning: Earning, lines: Sequence[EarnLine], context: EarnContext) -> Earned:
    """Points a receipt earns.

    Each eligible line earns amount × base rate × tier multiplier × every multiplier that
    applies to it. Money paid with points earns nothing: it is taken off the eligible lines
    in proportion. The receipt's total is rounded once (so no line loses a fraction), then
    the per-receipt and per-day caps apply.
    """
    eligible = [line for line in lines if is_eligible(earning, line)]
    eligible_amount = sum((line.amount for line in eligible), Decimal(0))
    if eligible_amount <= 0:
        return Earned(0, Decimal(0), ["nothing eligible for points"])
    paid_share = min(context.paid_with_points, eligible_amount) / eligible_amount
    reasons = [f"tier {context.tier.code} × {context.tier.earn_multiplier}"]
    raw = Decimal(0)
    for line in eligible:
        factor = earning.points_per_yuan * context.tier.earn_multiplier
        for multiplier in earning.multipliers:
            if _applies(multiplier, line, context):
                factor *= multiplier.factor
                if multiplier.name not in reasons:
                    reasons.append(multiplier.name)
        raw += line.amount * (1 - paid_share) * factor
    points = round_points(raw, earning.rounding)
    if earning.cap_per_receipt is not None and points > earning.cap_per_receipt:
        points = earning.cap_per_receipt
        reasons.append(f"capped at {earning.cap_per_receipt} a receipt")
    if earning.cap_per_day is not None:
        room = max(earning.cap_per_day - context.earned_today, 0)
        if points > room:
            points = room
            reasons.append(f"capped at {earning.cap_per_day} a day")
    return Earned(points, eligible_amount, reasons)


def share_of(total: int, part: Decimal, whole: Decimal, *, done: int, last: bool) -> int:
    """Points for `part` of `whole` when `total` were earned; the last share takes what is left."""
    if last:
        return total - done
    if whole <= 0:
        return 0
    return min(int((total * part / whole).to_integral_value(rounding=ROUND_HALF_UP)), total - done)


def expires_at(expiry: Expiry, earned_on: date, zone: ZoneInfo) -> datetime | None:
    """When points earned on a (local) day stop being spendable: the start of that local day.

    Rolling: N months after the day they were earned. Calendar: points earned in year Y
    expire at the end of year Y + 1.
    """
    match expiry.policy:
        case "never":
            return None
        case "calendar":
            last_day = date(earned_on.year + 2, 1, 1)
        case _:
            months = earned_on.month - 1 + expiry.months
            year, month = earned_on.year + months // 12, months % 12 + 1
            last_day = date(year, month, min(earned_on.day, calendar.monthrange(year, month)[1]))
    return datetime.combine(last_day, time.min, tzinfo=zone)


def expiry_of(
    program: Program, credited_at: datetime, zone: ZoneInfo | None = None
) -> datetime | None:
    """When points credited at a moment expire; the day counts in `zone`, else the program's."""
    zone = zone or ZoneInfo(program.timezone)
    return expires_at(program.expiry, credited_at.astimezone(zone).date(), zone)


def available_from(earned_at: datetime, pending_days: int) -> datetime:
    return earned_at + timedelta(days=pending_days)


def points_step(redemption: Redemption) -> int:
    """The fewest points worth a whole cent: points are spent in multiples of it."""
    return redemption.points_per_yuan // math.gcd(redemption.points_per_yuan, 100)


def redeemable_points(
    redemption: Redemption, *, wanted: int, balance: int, payable: Decimal
) -> int:
    """How many of the points a member offers may pay this receipt, in whole cents."""
    if wanted < redemption.min_points:
        return 0
    ceiling = int(payable * redemption.max_share * redemption.points_per_yuan)
    allowed = min(wanted, balance, ceiling)
    return allowed - allowed % points_step(redemption)


def points_value(redemption: Redemption, points: int) -> Decimal:
    return (Decimal(points) / redemption.points_per_yuan).quantize(Decimal("0.01"), ROUND_DOWN)
