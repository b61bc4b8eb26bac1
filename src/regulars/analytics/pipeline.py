"""Every analysis over the warehouse in one run: what `analyze score` and the report use.

Each step writes its files under one folder, so a run can be read again, compared with
the next or loaded into a notebook. The steps share one DuckDB connection and one
``as_of`` day, so the segment, value, type and risk of a member describe the same moment.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final, TypeVar

import duckdb
import numpy as np
import pyarrow.parquet as pq

from regulars.analytics.baskets.findings import BasketReport
from regulars.analytics.baskets.report import recent_baskets
from regulars.analytics.churn import ChurnSummary, churn_report
from regulars.analytics.cohorts import Retention, retention
from regulars.analytics.kpis import ProgramKpis, StoreKpis, program_kpis, store_kpis
from regulars.analytics.lifetime_value import (
    LifetimeValue,
    lifetime_value,
    write_lifetime_value,
)
from regulars.analytics.recommend.evaluation import Evaluation, evaluate_recommendations
from regulars.analytics.rfm import RfmTable, SegmentSummary, rfm_table, segment_summary
from regulars.analytics.satisfaction import Satisfaction, satisfaction
from regulars.analytics.segments import PARQUET_NAME, SegmentationSummary, segment_members
from regulars.analytics.transactions import last_purchase_day
from regulars.errors import RegularsError
from regulars.insights.schemas import MemberScores

KPI_PERIOD_DAYS: Final = 30

T = TypeVar("T")
Step = Callable[[str], None]  # told the name of each step as it starts


@dataclass(frozen=True, eq=False)
class Findings:
    """What one run found; the files are under ``folder``.

    Lifetime value, churn and types need more history than the rest (repeat buyers, two
    horizons, three visits): when the data cannot carry one of them it is None and
    ``skipped`` says why, so a young chain still gets segments, cohorts and KPIs.
    """

    as_of: date
    folder: Path
    rfm: RfmTable
    segments: list[SegmentSummary]
    value: LifetimeValue | None
    churn: ChurnSummary | None
    types: SegmentationSummary | None
    retention: Retention
    kpis: ProgramKpis
    stores: list[StoreKpis]  # each store's sales KPIs, for its manager
    satisfaction: Satisfaction | None  # None before the first survey answer
    recommendations: Evaluation | None  # the recommenders checked on the last four weeks
    baskets: BasketReport | None  # what sold together in the last 90 days
    skipped: dict[str, str]


def analyse(
    connection: duckdb.DuckDBPyConnection,
    *,
    folder: Path,
    as_of: date | None = None,
    timezone: str = "UTC",
    step: Step | None = None,
) -> Findings:
    """Run RFM, lifetime value, churn, shopper types, satisfaction, the recommenders' check,
    what sells together, cohorts and KPIs on the warehouse.

    Args:
        connection: from ``open_warehouse``.
        folder: where each analysis writes its files (one sub-folder each).
        as_of: the day to describe; default the last day with a member purchase.
        timezone: the chain's zone, for the KPI period boundaries.
        step: called with each step's name, for progress display.
    """
    tell = step or (lambda name: None)
    day = as_of or last_purchase_day(connection)
    tell("RFM segments")
    scored = rfm_table(connection, as_of=day)
    (folder / "rfm").mkdir(parents=True, exist_ok=True)
    scored.write_parquet(folder / "rfm" / "rfm.parquet")
    skipped: dict[str, str] = {}

    def attempt(name: str, work: Callable[[], T]) -> T | None:
        tell(name)
        try:
            return work()
        except RegularsError as error:
            skipped[name] = error.message
            return None

    value = attempt("lifetime value", lambda: lifetime_value(connection, calibration_end=day))
    if value is not None:
        write_lifetime_value(value, folder / "clv")
    churn = attempt(
        "churn risk",
        lambda: churn_report(connection, folder / "churn", cutoff=day),
    )
    types = attempt(
        "shopper types",
        lambda: segment_members(connection, as_of=day, folder=folder / "types"),
    )
    satisfaction_found = attempt(
        "satisfaction", lambda: satisfaction(connection, as_of=day, rfm=scored)
    )
    recommendations = attempt(
        "recommendations",
        lambda: evaluate_recommendations(connection, cutoff=day - timedelta(weeks=4)),
    )
    baskets = attempt("baskets", lambda: recent_baskets(connection, as_of=day))
    tell("cohorts and KPIs")
    cohorts = retention(connection, until=day)
    end = day + timedelta(days=1)
    start = end - timedelta(days=KPI_PERIOD_DAYS)
    kpis = program_kpis(connection, start=start, end=end, timezone=timezone)
    stores = store_kpis(connection, start=start, end=end, timezone=timezone)
    return Findings(
        as_of=day,
        folder=folder,
        rfm=scored,
        segments=segment_summary(scored),
        value=value,
        churn=churn,
        types=types,
        retention=cohorts,
        kpis=kpis,
        stores=stores,
        satisfaction=satisfaction_found,
        recommendations=recommendations,
        baskets=baskets,
        skipped=skipped,
    )


def member_scores(findings: Findings) -> list[MemberScores]:
    """One row per member the run saw: segment, value and P(alive), risk, type and cluster."""
    scores: dict[str, dict[str, object]] = {}

    def put(ids: object, name: str, values: object) -> None:
        for customer, value in zip(
            np.asarray(ids).tolist(), np.asarray(values).tolist(), strict=True
        ):
            scores.setdefault(str(customer), {})[name] = value

    put(findings.rfm.customer_id, "rfm_segment", findings.rfm.segment)
    if findings.value is not None:
        summary = findings.value.summary
        put(summary.customer_ids, "clv", findings.value.clv)
        put(summary.customer_ids, "probability_alive", findings.value.probability_alive)
    if findings.churn is not None:
        risk = pq.read_table(findings.churn.scores_path, columns=["customer_id", "churn_risk"])
        put(
            risk["customer_id"].to_numpy(zero_copy_only=False),
            "churn_risk",
            risk["churn_risk"].to_numpy(),
        )
    if findings.types is not None:
        typed = pq.read_table(
            findings.folder / "types" / PARQUET_NAME,
            columns=["member_id", "shopper_type", "cluster"],
        )
        members = typed["member_id"].to_numpy()
        put(members, "shopper_type", typed["shopper_type"].to_numpy(zero_copy_only=False))
        descriptions = {c.cluster: c.description for c in findings.types.clusters}
        put(members, "cluster", [descriptions[c] for c in typed["cluster"].to_pylist()])
    return [MemberScores(member_id=int(customer), **values) for customer, values in scores.items()]
