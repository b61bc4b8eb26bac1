"""Cases: open from any channel, move through the workflow, assign, read with their service
levels and history; the service-level policies and business hours (admins)."""

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Path, Query, Response, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import MAX_ID, Cursor, DbSession, allow, own_store
from regulars.api.unit_of_work import PERSONAL, routes
from regulars.cases import categories, hours, levels, service
from regulars.cases.figures import ComplaintFigures, complaint_figures
from regulars.cases.models import Case
from regulars.cases.rules import CaseState
from regulars.cases.schemas import (
    AssignmentIn,
    CaseIn,
    CaseOut,
    CategoryIn,
    Clock,
    ClosedDayIn,
    EventOut,
    GoodwillIn,
    HoursIn,
    MoveIn,
    PolicyIn,
    PolicyOut,
    Standing,
    SuggestionIn,
    SuggestionOut,
)
from regulars.clock import AwareMoment, utc_now
from regulars.staff.service import ADJUSTMENT_CAP

router = routes(prefix="/v1", tags=["cases", PERSONAL])
Agents = Annotated[Principal, Depends(allow(Role.SUPPORT))]
Openers = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.POS))]
Admins = Annotated[Principal, Depends(allow())]
Readers = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.ANALYST))]
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="The case's id.")]


def _out(session: DbSession, case: Case) -> CaseOut:
    now = utc_now()
    found = levels.standing_or_none(session, case_id=case.id, now=now)
    standing = None
    if found is not None:
        clocks = {"first_response": found.first_response, "resolution": found.resolution}
        standing = Standing(
            **{name: Clock(**asdict(c), late=c.late(now)) for name, c in clocks.items()}
        )
    return CaseOut.model_validate(case).model_copy(update={"service_levels": standing})


@router.post("/cases", status_code=status.HTTP_201_CREATED)
def open_case(data: CaseIn, session: DbSession, caller: Openers) -> CaseOut:
    """Open a case for the store responsible (a till's key: its own store); what it names
    must exist."""
    own_store(session, caller, code=data.store_code)
    case = service.open_case(
        session, case=service.NewCase(**data.model_dump()), now=utc_now(), actor=caller.name
    )
    return _out(session, case)


@router.get("/cases")
def list_cases(
    session: DbSession,
    caller: Agents,
    state: CaseState | None = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    member_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CaseOut]:
    """Cases in id order: by state, queue or member, with their service levels."""
    found = service.list_cases(
        session, state=state, queue=queue, member_id=member_id, after_id=after, limit=limit
    )
    return [_out(session, case) for case in found]


@router.get("/cases/figures")
def figures(
    session: DbSession,
    caller: Readers,
    since: Annotated[AwareMoment, Query(description="Cases opened from (with a time zone).")],
    until: Annotated[AwareMoment, Query(description="Up to, not including.")],
) -> ComplaintFigures:
    """Complaint analytics: volumes, top categories by store, handling times in business
    hours, service-level compliance, repeat complainants, and who bought again after."""
    return complaint_figures(session, since=since, until=until, now=utc_now())


@router.get("/cases/{case_id}")
def one(case_id: CaseId, session: DbSession, caller: Agents) -> CaseOut:
    return _out(session, service.get_case(session, case_id=case_id))


@router.get("/cases/{case_id}/history")
def history(case_id: CaseId, session: DbSession, caller: Agents) -> list[EventOut]:
    """Every change of the case: who, when, what."""
    service.get_case(session, case_id=case_id)
    return [EventOut.model_validate(e) for e in service.history(session, case_id=case_id)]


@router.post("/cases/{case_id}/moves")
def move(case_id: CaseId, data: MoveIn, session: DbSession, caller: Agents) -> CaseOut:
    """Move the case on as the workflow allows (`state_change_not_allowed` otherwise)."""
    case = service.move_case(
        session, case_id=case_id, state=data.state, now=utc_now(), actor=caller.name,
        note=data.note,
    )  # fmt: skip
    return _out(session, case)


@router.post("/cases/{case_id}/assignment")
def assign(case_id: CaseId, data: AssignmentIn, session: DbSession, caller: Agents) -> CaseOut:
    """Put the case in a store's or department's queue, and with a person."""
    case = service.assign_case(
        session, case_id=case_id, queue=data.queue, assignee=data.assignee, now=utc_now(),
        actor=caller.name,
    )  # fmt: skip
    return _out(session, case)


@router.post("/cases/{case_id}/goodwill")
def goodwill(case_id: CaseId, data: GoodwillIn, session: DbSession, caller: Agents) -> CaseOut:
    """Make good to the case's member: points (an agent at most 500 at a time, an admin
    100,000) and or a coupon, through the loyalty engine, kept on the case."""
    case = service.give_goodwill(
        session, case_id=case_id, points=data.points, coupon_template=data.coupon_template,
        reason=data.reason, cap=ADJUSTMENT_CAP.get(caller.role, 0), now=utc_now(),
        actor=caller.name,
    )  # fmt: skip
    return _out(session, case)


@router.post("/cases/category-suggestion")
def suggest(data: SuggestionIn, session: DbSession, caller: Openers) -> SuggestionOut:
    """The category the confirmed cases suggest for a complaint's words, with the model's
    accuracy on held-out cases (`no_category_model` while too few are confirmed)."""
    advice = categories.suggest_category(session, text=data.description)
    return SuggestionOut(**asdict(advice))


@router.post("/cases/{case_id}/category")
def confirm(case_id: CaseId, data: CategoryIn, session: DbSession, caller: Agents) -> CaseOut:
    """Confirm the suggested category, or file the case under another."""
    case = service.confirm_category(
        session, case_id=case_id, category=data.category, now=utc_now(), actor=caller.name
    )
    return _out(session, case)


@router.get("/sla-policies")
def policies(session: DbSession, caller: Readers) -> list[PolicyOut]:
    """The service levels by category and severity, in business hours."""
    return [PolicyOut.model_validate(p) for p in levels.list_policies(session)]


@router.put("/sla-policies")
def set_policy(data: PolicyIn, session: DbSession, caller: Admins) -> PolicyOut:
    """Set a category's and severity's levels; open cases are held to them from now on."""
    policy = levels.set_policy(
        session, category=data.category, severity=data.severity,
        first_response=timedelta(minutes=data.first_response_minutes),
        resolution=timedelta(minutes=data.resolution_minutes), now=utc_now(),
    )  # fmt: skip
    return PolicyOut.model_validate(policy)


@router.put("/opening-hours", status_code=status.HTTP_204_NO_CONTENT)
def set_hours(data: HoursIn, session: DbSession, caller: Admins) -> Response:
    """A store's business hours (or the chain's), replacing what was there."""
    opening = {day: (h.opens, h.closes) for day, h in data.hours.items()}
    hours.set_opening_hours(session, store_code=data.store_code, hours=opening)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/closed-days", status_code=status.HTTP_204_NO_CONTENT)
def closed_day(data: ClosedDayIn, session: DbSession, caller: Admins) -> Response:
    """A public holiday the store (or every store) is closed: the clock does not run."""
    hours.add_closed_day(session, store_code=data.store_code, day=data.day, name=data.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
