"""The pure rules of a campaign: who is held back, what a message says, and what the
difference between the groups means."""

import hashlib
import json
import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from scipy.stats import norm

from regulars.errors import InvalidInput

# The values any message may use, e.g. "{name}, {points} points are waiting for you";
# a journey's trigger adds its own (the points about to lapse, the holiday, …).
VARIABLES = (
    "name", "card_number", "points", "tier", "coupon_code", "store", "unsubscribe", "recommended"
)  # fmt: skip
LANGUAGES = ("zh-CN", "en")


def in_control(unit: str, member_id: int, share: Decimal) -> bool:
    """Whether the member is held back from a campaign or journey (`unit`): the same answer
    for the same unit and member, independent of who else is in it or in which order."""
    digest = hashlib.sha256(f"control:{unit}:{member_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    return draw < share


def check_template(text: str, *, field: str, variables: Sequence[str] = VARIABLES) -> None:
    """Refuse a message that names a value there is none of, before anything is sent."""
    try:
        named = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as broken:
        raise InvalidInput(f"the message is not a template: {broken}", field=field) from None
    unknown = sorted({n for n in named if n not in variables})
    if unknown:
        raise InvalidInput(
            f"the message uses {', '.join('{' + n + '}' for n in unknown)}; it may use "
            + ", ".join("{" + v + "}" for v in variables),
            field=field,
        )


def render(text: str, values: Mapping[str, object]) -> str:
    """The message for one member."""
    return string.Formatter().vformat(text, (), _Blank(values))


class _Blank(dict[str, object]):
    """Values by name; a checked name with no value for this member reads as nothing."""

    def __missing__(self, key: str) -> object:
        return ""


@dataclass(frozen=True)
class Wording:
    """A message in the chain's language, and in others for the members who read them."""

    subject: str
    body: str
    translations: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def check(self, variables: Sequence[str] = VARIABLES) -> None:
        check_template(self.subject, field="subject", variables=variables)
        check_template(self.body, field="body", variables=variables)
        for language, (subject, body) in self.translations.items():
            if language not in LANGUAGES:
                raise InvalidInput(
                    f"no language {language!r}; messages are in {', '.join(LANGUAGES)}",
                    field="translations",
                )
            if not body.strip():
                raise InvalidInput(f"the {language} message is empty", field="translations")
            check_template(subject, field=f"{language} subject", variables=variables)
            check_template(body, field=f"{language} body", variables=variables)

    def rendered(self, language: str | None, values: Mapping[str, object]) -> tuple[str, str]:
        """(subject, body) for a member reading `language`, or in the chain's own."""
        subject, body = self.translations.get(language or "", (self.subject, self.body))
        return render(subject, values), render(body, values)

    def translations_json(self) -> str:
        return json.dumps(
            {k: {"subject": s, "body": b} for k, (s, b) in self.translations.items()},
            ensure_ascii=False,
        )

    @classmethod
    def stored(cls, subject: str, body: str, translations: str) -> "Wording":
        found = json.loads(translations or "{}")
        return cls(subject, body, {k: (v.get("subject", ""), v["body"]) for k, v in found.items()})


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
