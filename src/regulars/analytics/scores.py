"""Survey scores with their intervals: NPS, mean ratings, and either by group.

An ``Estimate`` from a single answer has ``low`` and ``high`` set to None: one answer has no
spread to estimate, and a made-up width would look like knowledge; no answers at all is an
error. NPS intervals use the normal approximation, clipped to [-1, 1]; when every answer
falls in one group (all promoters) the observed variance, and so the width, is zero, a
known weakness on small samples that the ``n`` beside it lets readers judge.
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from math import sqrt
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy import stats

from regulars.errors import InvalidInput

Array = npt.NDArray[np.float64]
Label = TypeVar("Label", bound=Hashable)
Asked = npt.ArrayLike | Sequence[float | None]  # None: not asked


class InvalidDriverInput(InvalidInput, ValueError):
    """Data a satisfaction analysis cannot use. Also a ``ValueError``, as scikit-learn's
    estimators raise, so code that treats ``RelativeImportance`` like theirs catches it."""


@dataclass(frozen=True)
class Estimate:
    """A score with its confidence interval; ``low``/``high`` are None below two answers."""

    value: float
    low: float | None
    high: float | None
    n: int


def require(holds: bool | np.bool_, field: str, problem: str) -> None:
    if not holds:
        raise InvalidDriverInput(problem, field=field)


def check_confidence(confidence: float) -> float:
    number = isinstance(confidence, int | float) and not isinstance(confidence, bool)
    problem = f"confidence must be between 0 and 1, not {confidence!r}"
    require(number and 0 < confidence < 1, "confidence", problem)
    return float(confidence)


def numbers(data: npt.ArrayLike, field: str) -> Array:
    try:
        values = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidDriverInput(f"{field} must be numbers: {error}", field=field) from error
    require(np.isfinite(values).all(), field, f"{field} must not contain NaN or infinity")
    return values


def scores_array(scores: npt.ArrayLike, field: str = "scores") -> Array:
    values = numbers(scores, field)
    require(values.ndim == 1, field, f"{field} must be one-dimensional")
    require(values.size > 0, field, f"{field} is empty: there is nothing to estimate")
    return values


def nps(scores: npt.ArrayLike, *, confidence: float = 0.95) -> Estimate:
    """Net Promoter Score as a fraction in [-1, 1] (x100 for the usual points).

    Args:
        scores: answers to "how likely are you to recommend us", whole numbers 0-10.
        confidence: coverage of the interval.

    The variance is that of a difference of two multinomial shares, (p_promoters +
    p_detractors - NPS²) / n: both shares come from the same answers and move against each
    other, so treating them as independent would overstate the width.
    """
    level = check_confidence(confidence)
    values = scores_array(scores)
    whole = (values >= 0) & (values <= 10) & (values == np.round(values))
    require(whole.all(), "scores", "scores must be whole numbers from 0 to 10")
    n = values.size
    promoters = np.count_nonzero(values >= 9) / n
    detractors = np.count_nonzero(values <= 6) / n
    value = float(promoters - detractors)
    if n < 2:
        return Estimate(value, None, None, n)
    z = float(stats.norm.ppf((1 + level) / 2))
    half_width = z * sqrt(max(0.0, promoters + detractors - value**2) / n)
    return Estimate(value, max(-1.0, value - half_width), min(1.0, value + half_width), n)


def mean_score(scores: npt.ArrayLike, *, confidence: float = 0.95) -> Estimate:
    """The mean of rating answers (CSAT 1-5, say) with a Student t interval.

    Args:
        scores: the answers, any finite numbers (the scale is the survey's business).
        confidence: coverage of the interval.

    t rather than normal: a store's month is often a few dozen answers, where the normal
    interval is noticeably too narrow.
    """
    level = check_confidence(confidence)
    values = scores_array(scores)
    n = values.size
    value = float(values.mean())
    if n < 2:
        return Estimate(value, None, None, n)
    t = float(stats.t.ppf((1 + level) / 2, n - 1))
    half_width = t * float(values.std(ddof=1)) / sqrt(n)
    return Estimate(value, value - half_width, value + half_width, n)


def estimates_by_group(
    groups: Sequence[Label],
    scores: npt.ArrayLike,
    *,
    estimate: Callable[..., Estimate] = nps,
    confidence: float = 0.95,
) -> dict[Label, Estimate]:
    """One estimate per group (store, month, tier), in sorted label order.

    Args:
        groups: each answer's group label, parallel to ``scores``; labels must be
            comparable with each other (all strings, all numbers, tuples of those), or
            sorting them raises TypeError.
        scores: the answers.
        estimate: ``nps`` or ``mean_score``, called with ``confidence=``.
        confidence: coverage of each interval.

    Sorted, not first-seen, so months and stores read in order whatever order the answers
    came in. A group of one answer gets an estimate without an interval.
    """
    values = scores_array(scores)
    problem = f"groups has {len(groups)} labels for {values.size} scores"
    require(len(groups) == values.size, "groups", problem)
    labels = np.fromiter(groups, dtype=object, count=len(groups))  # tuples stay labels
    _, first, inverse, counts = np.unique(
        labels, return_index=True, return_inverse=True, return_counts=True
    )
    parts = np.split(values[np.argsort(inverse, kind="stable")], np.cumsum(counts)[:-1])
    return {
        groups[int(at)]: estimate(part, confidence=confidence)
        for at, part in zip(first, parts, strict=True)
    }


def estimate_of(question: str) -> Callable[..., Estimate]:
    """NPS for the recommendation question; a mean for every other scale."""
    return nps if question == "nps" else mean_score


def where_asked(values: Asked) -> Array:
    """A column of answers as floats, NaN where the question was not asked (a None, a
    masked or NaN entry): one survey asks what another does not."""
    return np.asarray(
        np.ma.filled(np.ma.masked_invalid(np.ma.asarray(values, dtype=float)), np.nan)
    )


def estimate_where_asked(values: Asked, question: str) -> Estimate | None:
    """The question's estimate over the answers that asked it; None when none did."""
    numbers = where_asked(values)
    asked = numbers[~np.isnan(numbers)]
    return estimate_of(question)(asked) if asked.size else None


def by_group_where_asked(
    groups: Sequence[Label], values: Asked, question: str
) -> dict[Label, Estimate]:
    """`estimates_by_group` over the answers that asked the question."""
    numbers = where_asked(values)
    kept = ~np.isnan(numbers)
    if not kept.any():
        return {}
    chosen = [label for label, keep in zip(groups, kept, strict=True) if keep]
    return estimates_by_group(chosen, numbers[kept], estimate=estimate_of(question))
