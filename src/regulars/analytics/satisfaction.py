"""How satisfied members are, what drives it, and whether it shows in what they do next,
from the survey answers in the warehouse.

Scores come with 95% intervals, so a store that looks worse on a handful of answers is not
taken for a worse store. The drivers are the relative importance (LMG) of each rated
attribute for the overall rating and for the recommendation score, with bootstrap
intervals, and the importance-performance grid that says where to act first. Behaviour
compares promoters and detractors over the months after they answered, from the purchases.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from math import sqrt
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt

from regulars.analytics.drivers import (
    AttributePriority,
    DriverImportance,
    RelativeImportance,
    importance_performance,
)
from regulars.analytics.rfm import RfmTable
from regulars.analytics.scores import (
    Estimate,
    by_group_where_asked,
    estimate_where_asked,
    mean_score,
    where_asked,
)
from regulars.errors import NotFound

HORIZON_DAYS: Final = 90  # how long after an answer its member's shopping is followed
GROUPINGS: Final = ("store", "region", "month", "tier", "segment")
COMMON: Final = 0.8  # an attribute rated in this share of answers takes part in the drivers
Z95: Final = 1.959963984540054


class NoSurveyAnswers(NotFound):
    code = "no_survey_answers"


@dataclass(frozen=True)
class GroupScores:
    label: str
    nps: Estimate | None
    csat: Estimate | None


@dataclass(frozen=True)
class Trend:
    """How NPS moves from month to month (a fraction of 1 per month), with its interval."""

    per_month: float
    low: float
    high: float
    months: int


@dataclass(frozen=True)
class Drivers:
    target: str  # overall or nps
    answers: int
    r2: float
    importance: tuple[DriverImportance, ...]  # most important first
    grid: tuple[AttributePriority, ...]  # where to act first at the top


@dataclass(frozen=True)
class Outcome:
    group: str  # promoter, passive, detractor
    members: int
    spend: Estimate  # in the horizon after answering
    lapsed: Estimate  # share who bought nothing in it


@dataclass(frozen=True)
class Behaviour:
    horizon_days: int
    outcomes: tuple[Outcome, ...]
    spend_difference: Estimate | None  # promoters minus detractors
    lapsed_difference: Estimate | None


@dataclass(frozen=True)
class Satisfaction:
    as_of: date
    answers: int
    nps: Estimate | None
    csat: Estimate | None
    effort: Estimate | None
    by: dict[str, list[GroupScores]]  # grouping (GROUPINGS) -> one row per group
    trend: Trend | None
    drivers: list[Drivers]
    behaviour: Behaviour | None


def _has(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()
    return bool(found and found[0])


def _answers(connection: duckdb.DuckDBPyConnection, until: datetime) -> dict[str, npt.NDArray]:
    rows = connection.execute(
        """SELECT a.response_id, CAST(c.customer_id AS VARCHAR) AS customer_id, a.answered_at,
                  coalesce(s.store_code, '') AS store, coalesce(s.region, '') AS region,
                  strftime(a.answered_at, '%Y-%m') AS month, coalesce(c.tier_code, '') AS tier,
                  a.nps, a.csat, a.effort, a.overall
           FROM survey_answers a
           LEFT JOIN stores s USING (store_id)
           LEFT JOIN customers c ON c.member_id = a.member_id
           WHERE a.answered_at < ? ORDER BY a.response_id""",
        [until],
    ).fetchnumpy()
    return dict(rows)


def _by(answers: dict[str, npt.NDArray], segments: dict[str, str]) -> dict[str, list[GroupScores]]:
    customers = [str(c) for c in answers["customer_id"]]
    labels = {
        "store": [str(s) for s in answers["store"]],
        "region": [str(r) for r in answers["region"]],
        "month": [str(m) for m in answers["month"]],
        "tier": [str(t) for t in answers["tier"]],
        "segment": [segments.get(c, "") for c in customers],
    }
    found: dict[str, list[GroupScores]] = {}
    for grouping, named in labels.items():
        scored = {s: by_group_where_asked(named, answers[s], s) for s in ("nps", "csat")}
        found[grouping] = [
            GroupScores(label, scored["nps"].get(label), scored["csat"].get(label))
            for label in sorted({*scored["nps"], *scored["csat"]})
            if label
        ]
    return found


def _trend(months: Sequence[str], scores: npt.NDArray) -> Trend | None:
    """The slope of each answer's promoter (+1) / detractor (−1) mark on its month: the
    change of NPS per month, with the regression's interval."""
    numbers = where_asked(scores)
    kept = ~np.isnan(numbers)
    named = [m for m, keep in zip(months, kept, strict=True) if keep]
    order = sorted(set(named))
    if len(order) < 3:
        return None
    x = np.array([order.index(m) for m in named], dtype=float)
    y = np.where(numbers[kept] >= 9, 1.0, np.where(numbers[kept] <= 6, -1.0, 0.0))
    spread = ((x - x.mean()) ** 2).sum()
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / spread)
    residual = y - y.mean() - slope * (x - x.mean())
    error = sqrt(float((residual**2).sum()) / (len(y) - 2) / spread)
    return Trend(slope, slope - Z95 * error, slope + Z95 * error, len(order))


def drivers_of(target: str, rated: Sequence[tuple[dict[str, float], float]]) -> Drivers | None:
    """What drives `target` in answers given as (ratings by attribute, target score): the
    attributes rated in most answers, over the answers that rated them all; None when
    there are too few."""
    counted = Counter(a for given, _ in rated for a in given)
    common = sorted(a for a, n in counted.items() if n >= COMMON * len(rated))
    rows = [(given, y) for given, y in rated if all(a in given for a in common)]
    if len(common) < 2 or len(rows) < len(common) + 10:
        return None
    x = np.array([[given[a] for a in common] for given, _ in rows])
    y = np.array([y for _, y in rows])
    model = RelativeImportance(n_bootstrap=500, random_state=0).fit(x, y, common)
    grid = importance_performance(common, model.importance_, x.mean(axis=0))
    return Drivers(target, len(rows), model.r2_, model.importance_table(), grid)


def _drivers(
    connection: duckdb.DuckDBPyConnection, answers: dict[str, npt.NDArray]
) -> list[Drivers]:
    ratings: dict[int, dict[str, float]] = {}
    for response, attribute, score in connection.execute(
        "SELECT response_id, attribute, score FROM attribute_ratings"
    ).fetchall():
        ratings.setdefault(int(response), {})[str(attribute)] = float(score)
    found = []
    for target in ("overall", "nps"):
        outcome = where_asked(answers[target])
        rated = [
            (ratings[int(r)], float(y))
            for r, y in zip(answers["response_id"], outcome, strict=True)
            if not np.isnan(y) and int(r) in ratings
        ]
        drivers = drivers_of(target, rated)
        if drivers is not None:
            found.append(drivers)
    return found


def _difference(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> Estimate | None:
    """Mean of `a` minus mean of `b`, with a Welch interval."""
    if a.size < 2 or b.size < 2:
        return None
    value = float(a.mean() - b.mean())
    error = sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return Estimate(value, value - Z95 * error, value + Z95 * error, int(a.size + b.size))


def _behaviour(connection: duckdb.DuckDBPyConnection, until: datetime) -> Behaviour | None:
    """Each member's last answer whose horizon has passed: what they spent in it, and
    whether they bought at all."""
    rows = connection.execute(
        f"""WITH last AS (
                SELECT c.customer_id, arg_max(a.nps, a.answered_at) AS nps,
                       max(a.answered_at) AS answered_at
                FROM survey_answers a JOIN customers c ON c.member_id = a.member_id
                WHERE a.nps IS NOT NULL
                  AND a.answered_at < ? - INTERVAL {HORIZON_DAYS} DAY
                GROUP BY c.customer_id)
            SELECT last.nps, coalesce(sum(r.total), 0) AS spend, count(r.receipt_id) AS visits
            FROM last
            LEFT JOIN customers c ON c.customer_id = last.customer_id
            LEFT JOIN receipts r ON r.member_id = c.member_id
                 AND r.sold_at > last.answered_at
                 AND r.sold_at <= last.answered_at + INTERVAL {HORIZON_DAYS} DAY
            GROUP BY last.customer_id, last.nps""",
        [until],
    ).fetchnumpy()
    if len(rows["nps"]) == 0:
        return None
    score = np.asarray(rows["nps"], dtype=float)
    spend = np.asarray(rows["spend"], dtype=float)
    lapsed = (np.asarray(rows["visits"]) == 0).astype(float)
    groups = {
        "promoter": score >= 9,
        "passive": (score >= 7) & (score <= 8),
        "detractor": score <= 6,
    }
    outcomes = tuple(
        Outcome(name, int(chosen.sum()), mean_score(spend[chosen]), mean_score(lapsed[chosen]))
        for name, chosen in groups.items()
        if chosen.any()
    )
    promoters, detractors = groups["promoter"], groups["detractor"]
    return Behaviour(
        HORIZON_DAYS,
        outcomes,
        _difference(spend[promoters], spend[detractors]),
        _difference(lapsed[promoters], lapsed[detractors]),
    )


def satisfaction(
    connection: duckdb.DuckDBPyConnection, *, as_of: date, rfm: RfmTable | None = None
) -> Satisfaction:
    """Scores, their groups and trend, the drivers and the behaviour that followed, from the
    answers given up to the end of `as_of`.

    Args:
        connection: from ``open_warehouse``.
        as_of: the last day counted.
        rfm: the run's segments, to group by; without it the segment grouping is empty.

    Raises:
        NoSurveyAnswers: the warehouse holds no survey answers up to `as_of`.
    """
    until = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    if not _has(connection, "survey_answers"):
        raise NoSurveyAnswers("no survey answers in the warehouse yet", field="warehouse")
    answers = _answers(connection, until)
    if len(answers["response_id"]) == 0:
        raise NoSurveyAnswers(f"no survey answers up to {as_of}", field="as_of")
    segments = {}
    if rfm is not None:
        segments = dict(zip(map(str, rfm.customer_id), map(str, rfm.segment), strict=True))
    return Satisfaction(
        as_of=as_of,
        answers=len(answers["response_id"]),
        nps=estimate_where_asked(answers["nps"], "nps"),
        csat=estimate_where_asked(answers["csat"], "csat"),
        effort=estimate_where_asked(answers["effort"], "effort"),
        by=_by(answers, segments),
        trend=_trend([str(m) for m in answers["month"]], answers["nps"]),
        drivers=_drivers(connection, answers) if _has(connection, "attribute_ratings") else [],
        behaviour=_behaviour(connection, until),
    )
