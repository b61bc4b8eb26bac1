"""Use cases of member insights: store a scoring run, read a member's scores, count segments."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from regulars.db import bulk_insert
from regulars.errors import InvalidInput, NotFound
from regulars.insights.models import MemberInsight, ModelRun
from regulars.insights.schemas import MemberInsightOut, MemberScores, SegmentCount
from regulars.members.models import Member
from regulars.members.service import erased_members

BATCH = 5_000


class NoInsights(NotFound):
    code = "no_insights"


def store_scores(
    session: Session,
    *,
    scores: Sequence[MemberScores],
    data_until: datetime,
    description: dict[str, object],
    now: datetime,
) -> ModelRun:
    """Replace the members' scores with this run's, stamped with the run.

    Members the run did not score keep their earlier scores (and their earlier run id);
    ids that are not members are refused before anything is written, and erased members
    are not scored.
    """
    ids = [s.member_id for s in scores]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a member is scored twice in one run", field="scores")
    known: set[int] = set()
    for start in range(0, len(ids), BATCH):
        some = ids[start : start + BATCH]
        known.update(session.scalars(select(Member.id).where(Member.id.in_(some))))
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InvalidInput(
            f"{len(unknown)} scores name no member, e.g. {unknown[0]}", field="scores"
        )
    erased = erased_members(session)
    scores = [s for s in scores if s.member_id not in erased]  # their receipts stay, not them
    run = ModelRun(scored_at=now, data_until=data_until, description=json.dumps(description))
    session.add(run)
    session.flush()
    for start in range(0, len(scores), BATCH):
        chunk = scores[start : start + BATCH]
        session.execute(
            delete(MemberInsight).where(MemberInsight.member_id.in_([s.member_id for s in chunk]))
        )
        session.execute(
            bulk_insert(MemberInsight),
            [{**s.model_dump(), "model_run_id": run.id} for s in chunk],
        )
    return run


def member_insight(session: Session, *, member_id: int) -> MemberInsightOut:
    row = session.execute(
        select(MemberInsight, ModelRun)
        .join(ModelRun, ModelRun.id == MemberInsight.model_run_id)
        .where(MemberInsight.member_id == member_id)
    ).first()
    if row is None:
        raise NoInsights(f"member {member_id} has not been scored yet")
    insight, run = row
    return MemberInsightOut(
        **MemberScores.model_validate(insight).model_dump(),
        model_run_id=run.id,
        scored_at=run.scored_at,
        data_until=run.data_until,
    )


def segment_counts(session: Session) -> list[SegmentCount]:
    """Members per RFM segment with their mean CLV and churn risk: aggregates only."""
    rows = session.execute(
        select(
            MemberInsight.rfm_segment,
            func.count(),
            func.avg(MemberInsight.clv),
            func.avg(MemberInsight.churn_risk),
        )
        .group_by(MemberInsight.rfm_segment)
        .order_by(func.count().desc())
    )
    return [
        SegmentCount(rfm_segment=s, members=n, mean_clv=clv, mean_churn_risk=risk)
        for s, n, clv, risk in rows
    ]


def latest_run(session: Session) -> ModelRun | None:
    """The latest scoring run, whose files the console's reports show."""
    return session.scalars(select(ModelRun).order_by(ModelRun.id.desc()).limit(1)).first()


def run_folder(run: ModelRun) -> Path | None:
    """Where a run kept its files, if it said."""
    folder = json.loads(run.description).get("folder")
    return Path(folder) if folder else None


def counts_by(
    session: Session, score: InstrumentedAttribute[str | None]
) -> list[tuple[str | None, int]]:
    """Members per value of a score (shopper type, cluster), largest first."""
    query = select(score, func.count()).group_by(score).order_by(func.count().desc())
    return [(value, count) for value, count in session.execute(query)]


def segment_members(
    session: Session, *, segment: str, after_id: int = 0, limit: int = 50
) -> list[tuple[Member, MemberInsight]]:
    """A segment's members in id order, a page at a time (after the member `after_id`)."""
    query = (
        select(Member, MemberInsight)
        .join(MemberInsight, MemberInsight.member_id == Member.id)
        .where(MemberInsight.rfm_segment == segment, Member.id > after_id)
        .order_by(Member.id)
        .limit(limit)
    )
    return [(member, insight) for member, insight in session.execute(query)]


def segment_member_ids(session: Session, *, segment: str) -> list[int]:
    """Every member of a segment, by id."""
    query = select(MemberInsight.member_id).where(MemberInsight.rfm_segment == segment)
    return list(session.scalars(query.order_by(MemberInsight.member_id)))


@dataclass(frozen=True)
class Driver:
    """What moves a member's churn risk most: a feature, theirs against the typical value."""

    feature: str
    value: float
    typical_value: float
    contribution: float  # to the risk: positive raises it


def churn_drivers(run: ModelRun, *, member_id: int) -> list[Driver]:
    """The member's strongest churn drivers from the run's files, strongest first."""
    folder = run_folder(run)
    path = folder / "churn" / "churn_drivers.parquet" if folder else None  # see analytics.churn
    if path is None or not path.exists():
        return []
    rows = duckdb.execute(
        "SELECT feature, value, typical_value, contribution FROM read_parquet(?)"
        " WHERE customer_id = ? ORDER BY rank",
        [str(path), str(member_id)],
    ).fetchall()
    return [Driver(str(f), float(v), float(t), float(c)) for f, v, t, c in rows]
