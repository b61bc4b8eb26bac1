"""Pure RFM rules: quantile scores and the named segment grid, NumPy arrays in and out.

Nothing here touches a database or a clock, so the rules are tested with plain arrays and
hand-worked answers; ``rfm.py`` feeds them the per-customer aggregates from DuckDB.
"""

from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from regulars.errors import InvalidInput

MIN_QUANTILES: Final = 2
MAX_QUANTILES: Final = 10
GRID_POINTS: Final = 5


class Segment(StrEnum):
    """The named RFM segments, declared in the order reports list them (best first)."""

    CHAMPIONS = "Champions"
    LOYAL = "Loyal"
    POTENTIAL_LOYALIST = "Potential Loyalist"
    NEW = "New"
    PROMISING = "Promising"
    NEED_ATTENTION = "Need Attention"
    ABOUT_TO_SLEEP = "About to Sleep"
    AT_RISK = "At Risk"
    CANT_LOSE_THEM = "Can't Lose Them"
    HIBERNATING = "Hibernating"
    LOST = "Lost"


_S = Segment
# Rows: R score on the 5-point grid, most recent first. Columns: FM score 1..5.
SEGMENT_GRID: Final[dict[int, tuple[Segment, ...]]] = {
    #    FM=1               FM=2                    FM=3                    FM=4           FM=5
    5: (_S.NEW, _S.POTENTIAL_LOYALIST, _S.POTENTIAL_LOYALIST, _S.CHAMPIONS, _S.CHAMPIONS),
    4: (_S.PROMISING, _S.POTENTIAL_LOYALIST, _S.POTENTIAL_LOYALIST, _S.LOYAL, _S.CHAMPIONS),
    3: (_S.ABOUT_TO_SLEEP, _S.ABOUT_TO_SLEEP, _S.NEED_ATTENTION, _S.LOYAL, _S.LOYAL),
    2: (_S.HIBERNATING, _S.HIBERNATING, _S.AT_RISK, _S.AT_RISK, _S.CANT_LOSE_THEM),
    1: (_S.LOST, _S.LOST, _S.AT_RISK, _S.AT_RISK, _S.CANT_LOSE_THEM),
}
"""Segment by (R, FM) on 5-point scores.

Reading the grid: recency splits customers into active (R 4-5), fading (R 3) and gone
(R 1-2); within each band, FM says how much the relationship was worth.

- Champions: R 5 with FM 4-5, or R 4 with FM 5 — bought lately, often and a lot.
- Loyal: R 4 with FM 4, or R 3 with FM 4-5 — valuable, not quite the most recent.
- Potential Loyalist: R 4-5 with FM 2-3 — recent and beginning to build value.
- New: R 5 with FM 1 — just arrived, nothing to go on yet.
- Promising: R 4 with FM 1 — recent first steps.
- Need Attention: R 3 with FM 3 — middle of the road and starting to drift.
- About to Sleep: R 3 with FM 1-2 — low value and drifting.
- At Risk: R 1-2 with FM 3-4 — used to be worth something, not seen for a while.
- Can't Lose Them: R 1-2 with FM 5 — the best customers of the past, now gone quiet.
- Hibernating: R 2 with FM 1-2 — low value, long ago.
- Lost: R 1 with FM 1-2 — low value, longest ago.
"""

_ORDER: Final = tuple(Segment)
_GRID_INDEX: Final = np.array(
    [[_ORDER.index(SEGMENT_GRID[r][fm - 1]) for fm in range(1, 6)] for r in range(1, 6)],
    dtype=np.int64,
)


def check_quantiles(quantiles: int) -> None:
    """Refuse a number of score levels the grid cannot be read with or that would be noise."""
    if not MIN_QUANTILES <= quantiles <= MAX_QUANTILES:
        raise InvalidInput(
            f"quantiles must be between {MIN_QUANTILES} and {MAX_QUANTILES}, got {quantiles}",
            field="quantiles",
        )


def quantile_scores(
    values: npt.ArrayLike, *, quantiles: int = 5, higher_is_better: bool = True
) -> npt.NDArray[np.int64]:
    """Score each value 1..``quantiles`` by the share of customers it strictly beats.

    With ``n`` values, a value that is strictly better than ``b`` of them scores
    ``1 + floor(quantiles * b / n)``: the boundaries sit at the shares ``k / quantiles``, so
    distinct values fall into equal-sized groups when ``n`` is a multiple of ``quantiles``.
    Identical values beat the same customers and therefore always share a score; a large
    tie (many one-time buyers) keeps its members together and the next score up may then
    be skipped, rather than splitting look-alike customers arbitrarily.

    Args:
        values: one number per customer (recency in days, frequency, or monetary value).
        quantiles: number of score levels, 2..10.
        higher_is_better: ``False`` for recency, where fewer days since the last purchase
            earns the higher score.

    Returns:
        Integer scores in 1..``quantiles``, aligned with ``values``.
    """
    check_quantiles(quantiles)
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise InvalidInput("RFM values must be finite numbers", field="values")
    ordered = np.sort(array)
    if higher_is_better:
        beaten = np.searchsorted(ordered, array, side="left")
    else:
        beaten = array.size - np.searchsorted(ordered, array, side="right")
    scores: npt.NDArray[np.int64] = 1 + (quantiles * beaten.astype(np.int64)) // max(array.size, 1)
    return scores


def to_grid_scale(scores: npt.ArrayLike, *, quantiles: int) -> npt.NDArray[np.int64]:
    """Map 1..``quantiles`` scores onto the 5-point grid so one segment table serves every q.

    The map is linear with the ends fixed (1 stays 1, ``quantiles`` becomes 5), rounding half
    up: with q = 10 the pairs (1, 2), (3, 4), ... (9, 10) become 1..5; with q = 3 the scores
    become 1, 3, 5. With q = 5 nothing changes.
    """
    check_quantiles(quantiles)
    array = np.asarray(scores, dtype=np.int64)
    if np.any((array < 1) | (array > quantiles)):
        raise InvalidInput(f"scores must be between 1 and {quantiles}", field="scores")
    span = GRID_POINTS - 1
    steps = quantiles - 1
    rescaled: npt.NDArray[np.int64] = 1 + (2 * span * (array - 1) + steps) // (2 * steps)
    return rescaled


def fm_scores(f: npt.ArrayLike, m: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Average F and M on the 5-point grid, rounding half up (F 4 and M 5 give FM 5).

    F and M move together for most shoppers; averaging them keeps the grid two-dimensional
    and readable, as is usual in marketing practice.
    """
    total = np.asarray(f, dtype=np.int64) + np.asarray(m, dtype=np.int64)
    averaged: npt.NDArray[np.int64] = (total + 1) // 2
    return averaged


def segment_for(r: int, fm: int) -> Segment:
    """The segment of one customer from their 5-point R and FM scores."""
    if r not in SEGMENT_GRID or not 1 <= fm <= GRID_POINTS:
        raise InvalidInput(f"R and FM must be between 1 and 5, got ({r}, {fm})", field="scores")
    return SEGMENT_GRID[r][fm - 1]


def segments(
    r: npt.ArrayLike, f: npt.ArrayLike, m: npt.ArrayLike, *, quantiles: int = 5
) -> npt.NDArray[np.str_]:
    """Name the segment of every customer from their R, F and M scores on 1..``quantiles``.

    Scores are first moved onto the 5-point grid (see ``to_grid_scale``), then F and M are
    averaged (see ``fm_scores``) and the pair (R, FM) is looked up in ``SEGMENT_GRID``.
    Returns the segment values (``Segment(name)`` turns one back into the enum).
    """
    r5 = to_grid_scale(r, quantiles=quantiles)
    fm5 = fm_scores(to_grid_scale(f, quantiles=quantiles), to_grid_scale(m, quantiles=quantiles))
    names = np.array([segment.value for segment in _ORDER])
    picked: npt.NDArray[np.str_] = names[_GRID_INDEX[r5 - 1, fm5 - 1]]
    return picked
