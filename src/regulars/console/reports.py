"""The analytics report's sections, one page each, as the latest scoring run left them."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from regulars.analytics.report import Section, read_sections
from regulars.console.core import Db, allow, render
from regulars.errors import NotFound
from regulars.insights.models import ModelRun
from regulars.insights.service import latest_run, run_folder
from regulars.staff.models import StaffRole, StaffUser

router = APIRouter(prefix="/console/reports", include_in_schema=False)
Readers = allow(StaffRole.ANALYST, StaffRole.STORE_MANAGER, StaffRole.MARKETING)


def _sections(request: Request, session: Db) -> tuple[ModelRun | None, list[Section]]:
    run = latest_run(session)
    folder = run_folder(run) if run else None
    found = read_sections(folder, request.state.t.tag) if folder else []
    return run, found


@router.get("")
def reports(request: Request, session: Db, user: StaffUser = Readers) -> Response:
    run, sections = _sections(request, session)
    return render(request, "reports.html", run=run, sections=sections, section=None, number=0)


@router.get("/{number}")
def report_section(
    number: Annotated[int, Path(ge=1, le=100)],
    request: Request,
    session: Db,
    user: StaffUser = Readers,
) -> Response:
    run, sections = _sections(request, session)
    if number > len(sections):
        raise NotFound(f"no report section {number}")
    return render(
        request,
        "reports.html",
        run=run,
        sections=sections,
        section=sections[number - 1],
        number=number,
    )
