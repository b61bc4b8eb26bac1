"""Journeys in the console: the list, a new one written in TOML, and each one's steps and
results; pause and resume."""

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from regulars.campaigns.messages import preview
from regulars.clock import utc_now
from regulars.console.campaigns import Marketing, Readers, uplift_chart
from regulars.console.core import Db, audit_action, form_errors, once, render
from regulars.errors import RegularsError
from regulars.journeys.models import JourneyEntry
from regulars.journeys.plan import EXAMPLE, Send, parse_plan
from regulars.journeys.service import (
    create_journey,
    journey_results,
    list_journeys,
    plan_of,
    set_active,
)
from regulars.members.service import find_member
from regulars.staff.models import StaffUser

router = APIRouter(prefix="/console", include_in_schema=False)
JourneyName = Annotated[str, Path(min_length=1, max_length=100)]


def _journeys_page(request: Request, session: Db, status: int = 200, **values: object) -> Response:
    entered = dict(
        session.execute(
            select(JourneyEntry.journey_id, func.count()).group_by(JourneyEntry.journey_id)
        ).all()
    )
    found = [(j, plan_of(j), entered.get(j.id, 0)) for j in list_journeys(session)]
    defaults: dict[str, object] = {"journeys": found, "errors": {}, "typed": EXAMPLE}
    return render(request, "journeys.html", status=status, **(defaults | values))


@router.get("/journeys")
def journeys(request: Request, session: Db, user: StaffUser = Readers) -> Response:
    return _journeys_page(request, session)


@router.post("/journeys")
def new_journey(
    request: Request,
    session: Db,
    definition: Annotated[str, Form(max_length=20_000)] = "",
    user: StaffUser = Marketing,
) -> Response:
    def act() -> str:
        made = create_journey(session, definition=definition, now=utc_now(), actor=user.username)
        audit_action(request, session, user, f"create journey {made.name}")
        return f"/console/journeys/{made.name}"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        errors = form_errors(request.state.t, refused)
        return _journeys_page(
            request, session, errors={"definition": " ".join(errors.values())},
            typed=definition, status=422,
        )  # fmt: skip


@router.post("/journeys/preview")
def preview_journey(
    request: Request,
    session: Db,
    definition: Annotated[str, Form(max_length=20_000)] = "",
    preview_card: Annotated[str, Form(max_length=24)] = "",
    user: StaffUser = Marketing,
) -> Response:
    """Each message of the journey being written, as the member with the card typed would
    read it."""
    try:
        plan = parse_plan(definition)
        region = request.app.state.settings.phone_region
        member = find_member(session, region=region, card_number=preview_card.strip())
        shown = [
            (number, step.channel, *preview(session, wording=step.wording, member_id=member.id,
                                            variables=plan.variables))
            for number, step in enumerate(plan.steps, start=1)
            if isinstance(step, Send)
        ]  # fmt: skip
    except RegularsError as refused:
        return render(request, "journey_preview.html", error=request.state.t.told(refused.message))
    return render(request, "journey_preview.html", error=None, shown=shown)


@router.get("/journeys/{name}")
def journey(
    name: JourneyName, request: Request, session: Db, user: StaffUser = Readers
) -> Response:
    margin = request.app.state.settings.gross_margin
    found = journey_results(session, name=name, now=utc_now(), gross_margin=margin)
    chart = uplift_chart(request.state.t, found) if found.entries else None
    return render(request, "journey.html", journey=found.journey, plan=plan_of(found.journey),
                  results=found, chart=chart)  # fmt: skip


@router.post("/journeys/{name}/pause")
def pause(
    name: JourneyName, request: Request, session: Db, user: StaffUser = Marketing
) -> Response:
    return _set_active(request, session, user, name, active=False)


@router.post("/journeys/{name}/resume")
def resume(
    name: JourneyName, request: Request, session: Db, user: StaffUser = Marketing
) -> Response:
    return _set_active(request, session, user, name, active=True)


def _set_active(
    request: Request, session: Db, user: StaffUser, name: str, *, active: bool
) -> Response:
    def act() -> str:
        set_active(session, name=name, active=active, now=utc_now())
        audit_action(request, session, user, f"{'resume' if active else 'pause'} journey {name}")
        return f"/console/journeys/{name}"

    return once(request, session, user, act)
