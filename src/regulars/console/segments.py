"""Segments: the RFM segments and shopper types with their sizes, migration between two
days, and each segment's members, paged and exported to CSV."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from regulars.analytics.rfm import segment_migration
from regulars.analytics.warehouse import WarehouseEmpty, open_warehouse
from regulars.console.core import Db, allow, audit_action, render
from regulars.errors import InvalidInput
from regulars.insights.models import MemberInsight
from regulars.insights.schemas import SegmentCount
from regulars.insights.service import counts_by, latest_run, segment_counts, segment_members
from regulars.members import rules
from regulars.staff.models import StaffRole, StaffUser

router = APIRouter(prefix="/console/segments", include_in_schema=False)
Readers = allow(StaffRole.ANALYST, StaffRole.SUPPORT, StaffRole.MARKETING)
PAGE = 50
# Roles that see members' contact details in a segment's list and export.
SEES_CONTACTS = {StaffRole.ADMIN, StaffRole.SUPPORT}
Segment = Annotated[str, Path(max_length=32)]


@dataclass(frozen=True)
class Scored:
    """Members by segment, shopper type and cluster, as the latest scoring run left them."""

    segments: list[SegmentCount]
    types: list[tuple[str | None, int]]
    clusters: list[tuple[str | None, int]]


def scored_figures(request: Request, session: Session) -> Scored:
    """Worked out once per scoring run and kept: scores change only when a run stores them,
    and counting a million members' scores takes a second."""
    run = latest_run(session)
    key = run.id if run else 0
    kept: dict[int, Scored] = request.app.state.scored_figures
    if key not in kept:
        kept.clear()
        kept[key] = Scored(
            segment_counts(session),
            counts_by(session, MemberInsight.shopper_type),
            counts_by(session, MemberInsight.cluster),
        )
    return kept[key]


@router.get("")
def segments(
    request: Request,
    session: Db,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
    user: StaffUser = Readers,
) -> Response:
    """Segment sizes and worth; with `start` and `end`, who moved between segments."""
    migration, problem = None, None
    if start and end:
        try:
            with open_warehouse(request.app.state.settings.warehouse_dir, materialise=True) as w:
                migration = segment_migration(w, start=start, end=end)
        except (InvalidInput, WarehouseEmpty) as refused:
            problem = request.state.t.told(refused.message)
    scored = scored_figures(request, session)
    return render(
        request,
        "segments.html",
        counts=scored.segments,
        types=scored.types,
        clusters=scored.clusters,
        migration=migration,
        problem=problem,
        start=start,
        end=end,
    )


@router.get("/{segment}/members")
def members(
    segment: Segment,
    request: Request,
    session: Db,
    after: Annotated[int, Query(ge=0)] = 0,
    user: StaffUser = Readers,
) -> Response:
    """One page of the segment's members; the next page starts after the last one shown."""
    rows = segment_members(session, segment=segment, after_id=after, limit=PAGE)
    contacts = user.role in SEES_CONTACTS
    if contacts:
        audit_action(request, session, user, f"list segment {segment}")
    return render(
        request,
        "segment_members.html",
        segment=segment,
        rows=rows,
        contacts=contacts,
        masked=rules,
        after=after,
        next_after=rows[-1][0].id if len(rows) == PAGE else None,
    )


@router.get("/{segment}/export")
def export(segment: Segment, request: Request, session: Db, user: StaffUser = Readers) -> Response:
    """The whole segment as CSV, read from the database a page at a time; contact details
    only for roles that may see them, and then the export is audited."""
    contacts = user.role in SEES_CONTACTS
    if contacts:
        audit_action(request, session, user, f"export segment {segment}")
    heading = ["member_id", "card_number", "segment", "shopper_type", "clv", "churn_risk"]
    heading += ["name", "phone", "email"] if contacts else []
    sessions = request.app.state.readers

    def lines():  # type: ignore[no-untyped-def]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(heading)
        after = 0
        with sessions() as reader:
            while rows := segment_members(reader, segment=segment, after_id=after, limit=5000):
                for member, insight in rows:
                    row = [
                        member.id,
                        member.card_number,
                        insight.rfm_segment,
                        insight.shopper_type or "",
                        _round(insight.clv),
                        _round(insight.churn_risk),
                    ]
                    writer.writerow(
                        row
                        + (
                            [member.name or "", member.phone or "", member.email or ""]
                            if contacts
                            else []
                        )
                    )
                after = rows[-1][0].id
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        if not after:
            yield out.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment}.csv"'},
    )


def _round(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
