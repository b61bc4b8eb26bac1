"""Every analysis on the warehouse, and each member's scores stored for the loyalty engine."""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from regulars.analytics.pipeline import Step, analyse, member_scores
from regulars.analytics.report import write_sections
from regulars.analytics.warehouse import open_warehouse
from regulars.db import run_in_transaction
from regulars.insights.service import store_scores


@dataclass(frozen=True)
class Scored:
    run_id: int
    members: int
    skipped: dict[str, str] = field(default_factory=dict)  # analysis: why it did not run


def score_members(
    sessions: sessionmaker[Session],
    *,
    warehouse: Path,
    out: Path,
    zone: ZoneInfo,
    now: datetime,
    as_of: date | None = None,
    step: Step | None = None,
) -> Scored:
    """Run the analyses as of `as_of` (the last sale by default), keep their files in `out`
    and store each member's segment, type, CLV, P(alive) and churn risk."""
    connection = open_warehouse(warehouse, materialise=True)
    findings = analyse(connection, folder=out, as_of=as_of, timezone=str(zone), step=step)
    scores = member_scores(findings)
    write_sections(findings, out)
    description: dict[str, object] = {
        "as_of": findings.as_of.isoformat(),
        "folder": str(out.resolve()),
        "models": findings.value.params if findings.value else None,
        "churn": {
            "horizon_days": findings.churn.horizon_days,
            "roc_auc": findings.churn.model.roc_auc,
        }
        if findings.churn
        else None,
        "types": {"k": findings.types.k} if findings.types else None,
        "skipped": findings.skipped,
    }
    run = run_in_transaction(
        sessions,
        partial(
            store_scores,
            scores=scores,
            data_until=datetime.combine(findings.as_of, time.max, tzinfo=zone),
            description=description,
            now=now,
        ),
    )
    return Scored(run.id, len(scores), dict(findings.skipped))
