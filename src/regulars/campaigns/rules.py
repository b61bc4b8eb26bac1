"""The pure rules of a campaign: who is held back, what a message says, and what the
difference between the groups means."""

import hashlib
import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from scipy.stats import norm

from regulars.errors import InvalidInput

# The values a message may use, e.g. "{name}, {points} points are waiting for you".
VARIABLES = ("name", "card_number", "points", "tier", "coupon_code", "store", "unsubscribe")


def in_control(campaign_id: int, member_id: int, share: Decimal) -> bool:
    """Whether the member is held back: the same answer for the same campaign and member,
    independent of who else is in the audience or in which order they come."""
    digest = hashlib.sha256(f"control:{campaign_id}:{member_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    return draw < share


def check_template(text: str, *, field: str) -> None:
    """Refuse a message that names a value there is none of, before anything is sent."""
    try:
        named = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as broken:
        raise InvalidInput(f"the message is not a template: {broken}", field=field) from None
    unknown = sorted({n for n in named if n not in VARIABLES})
    if unknown:
        raise InvalidInput(
            f"the message uses {', '.join('{' + n + '}' for n in unknown)}; it may use "
            + ", ".join("{" + v + "}" for v in VARIABLES),
            field=field,
        )


def render(text: str, values: Mapping[str, object]) -> str:
    """The message for one member."""
    return text.format(**{name: values.get(name, "") for name in VARIABLES})


@dataclass(frozen=True)
class Difference:
    """Treatment minus control, with its 95% confidence interval."""

    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


Z95 = float(norm.ppf(0.975))


def difference_in_rates(treated: int, treated_n: int, control: int, control_n: int) -> Difference:
    """The difference between two proportions (e.g. of members who bought), with the
    normal-approximation interval."""
    if treated_n == 0 or control_n == 0:
        return Difference(math.nan, math.nan, math.nan)
    p1, p0 = treated / treated_n, control / control_n
    error = math.sqrt(p1 * (1 - p1) / treated_n + p0 * (1 - p0) / control_n)
    gap = p1 - p0
    return Difference(gap, gap - Z95 * error, gap + Z95 * error)


def difference_in_means(treated: Sequence[float], control: Sequence[float]) -> Difference:
    """The difference between two means (e.g. spend per member, zeros included), with
    Welch's interval, which does not assume the groups vary alike."""
    n1, n0 = len(treated), len(control)
    if n1 < 2 or n0 < 2:
        return Difference(math.nan, math.nan, math.nan)
    m1, m0 = sum(treated) / n1, sum(control) / n0
    v1 = sum((x - m1) ** 2 for x in treated) / (n1 - 1)
    v0 = sum((x - m0) ** 2 for x in control) / (n0 - 1)
    error = math.sqrt(v1 / n1 + v0 / n0)
    gap = m1 - m0
    return Difference(gap, gap - Z95 * error, gap + Z95 * error)


def smallest_detectable_lift(
    treated_n: int, control_n: int, base_rate: float, *, power: float = 0.8
) -> float:
    """The smallest rise in the conversion rate the groups can tell from chance (two-sided
    5% test) with the given power: what a campaign of these sizes can hope to show."""
    if treated_n == 0 or control_n == 0:
        return math.inf
    z = Z95 + float(norm.ppf(power))
    lift = (1 - base_rate) / 2  # from above: with no buyers yet, 0 is a root but no answer
    for _ in range(50):  # the treated group's spread grows with the lift: settle on both
        raised = min(base_rate + lift, 1.0)
        spread = math.sqrt(
            raised * (1 - raised) / treated_n + base_rate * (1 - base_rate) / control_n
        )
        lift, before = z * spread, lift
        if abs(lift - before) < 1e-9:
            break
    return lift
