"""Every analysis on the warehouse, and each member's scores stored for the loyalty engine."""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from regulars.analytics.pipeline import Step, analyse, member_scores
from regulars.analytics.recommend.run import member_recommendations, popular_list
from regulars.analytics.report import write_sections
from regulars.analytics.warehouse import open_warehouse
from regulars.catalog.models import Product
from regulars.db import run_in_transaction
from regulars.insights.offers import store_offers
from regulars.insights.recommendations import Recommended, store_recommendations
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
    and store each member's segment, type, CLV, P(alive), churn risk, recommended
    products and next best offers."""
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
    if step:
        step("recommendations")
    lists = member_recommendations(connection, as_of=findings.as_of)
    popular = popular_list(connection, as_of=findings.as_of)
    run_in_transaction(
        sessions, partial(_store_lists, lists=lists, popular=popular, model_run_id=run.id)
    )
    run_in_transaction(sessions, partial(store_offers, model_run_id=run.id, now=now))
    return Scored(run.id, len(scores), dict(findings.skipped))


def _store_lists(session: Session, *, lists: pa.Table, popular: pa.Table, model_run_id: int) -> int:
    """The run's lists with the catalogue's product ids; members it only had best sellers
    for are left to the popular list, so the API says so."""
    ids = {sku: pid for sku, pid in session.execute(select(Product.sku, Product.id))}  # noqa: C416  (a Result has keys(): not a dict)
    own = lists.filter(pc.invert(lists["fallback"])).to_pydict()
    found = [
        Recommended(int(m), int(r), ids[sku], reason, float(score))
        for m, r, sku, reason, score in zip(
            own["member_id"], own["rank"], own["sku"], own["reason"], own["score"], strict=True
        )
        if sku in ids
    ]
    best = popular.to_pydict()
    found += [
        Recommended(None, int(r), ids[sku], "popular", float(score))
        for r, sku, score in zip(best["rank"], best["sku"], best["score"], strict=True)
        if sku in ids
    ]
    return store_recommendations(session, lists=found, model_run_id=model_run_id)
