"""The case queue with its service-level timers, and a case's page where an agent confirms
its category, moves it on, assigns it and makes good to the member, and reads how the
member rated the handling."""

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import plotly.graph_objects as go
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from regulars.analytics.charts import LAYOUT
from regulars.cases.categories import NoCategoryModel, suggest_category
from regulars.cases.figures import complaint_figures
from regulars.cases.levels import standing_or_none
from regulars.cases.models import CaseCategory
from regulars.cases.rules import MOVES, CaseState
from regulars.cases.service import (
    assign_case,
    confirm_category,
    get_case,
    give_goodwill,
    history,
    list_cases,
    move_case,
)
from regulars.catalog.models import Store
from regulars.clock import utc_now
from regulars.console.core import Db, NotAllowed, allow, audit_action, once_or_again, render
from regulars.coupons.service import list_templates
from regulars.errors import InvalidInput
from regulars.staff.models import StaffRole, StaffUser
from regulars.staff.service import ADJUSTMENT_CAP
from regulars.surveys.service import list_responses

router = APIRouter(prefix="/console/cases", include_in_schema=False)
Agent = allow(StaffRole.SUPPORT)
Desk = allow(StaffRole.SUPPORT, StaffRole.STORE_MANAGER)
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _own_queue(session: Session, user: StaffUser) -> str | None:
    """A store manager works their own store's queue."""
    if user.role is StaffRole.STORE_MANAGER and user.store_id is not None:
        return session.get_one(Store, user.store_id).code
    return None


@router.get("")
def queue(
    request: Request,
    session: Db,
    state: Annotated[CaseState | None, Query()] = None,
    user: StaffUser = Desk,
) -> Response:
    """Open cases first in the order they came, each with its service-level timers."""
    now = utc_now()
    own = _own_queue(session, user)
    found = list_cases(session, state=state, queue=own, limit=200)
    if state is None:
        found = [c for c in found if c.state not in (CaseState.RESOLVED, CaseState.CLOSED)]
    rows = [(c, standing_or_none(session, case_id=c.id, now=now)) for c in found]
    return render(request, "cases.html", rows=rows, now=now, state=state, states=list(CaseState))


def _view(request: Request, session: Session, case_id: int, status: int = 200,
          **values: object) -> Response:  # fmt: skip
    case = get_case(session, case_id=case_id)
    now = utc_now()
    advice = None
    if not case.category_confirmed:
        try:
            advice = suggest_category(session, text=case.description)
        except NoCategoryModel:
            advice = None  # filed before too many cases were confirmed again: left as it was
    defaults: dict[str, object] = {
        "advice": advice,
        "categories": list(CaseCategory),
        "answers": list_responses(session, case_id=case_id),
        "case": case,
        "standing": standing_or_none(session, case_id=case_id, now=now),
        "now": now,
        "events": history(session, case_id=case_id),
        "moves": sorted(MOVES[case.state]),
        "templates": list_templates(session, limit=200),
        "errors": {},
        "typed": {},
    }
    return render(request, "case.html", status=status, **(defaults | values))


@router.get("/figures")
def figures(
    request: Request,
    session: Db,
    days: Annotated[int, Query(ge=7, le=730)] = 90,
    user: StaffUser = Desk,
) -> Response:
    """Complaints over the last `days`: volumes, top categories by store, handling times,
    service-level compliance, repeat complainants, and who came back after the handling."""
    now = utc_now()
    own = user.store_id if _own_queue(session, user) is not None else None
    found = complaint_figures(
        session, since=now - timedelta(days=days), until=now, now=now,
        store_ids=None if own is None else [own],
    )  # fmt: skip
    t = request.state.t
    chart = go.Figure(
        go.Bar(x=[m.key for m in found.by_month], y=[m.cases for m in found.by_month])
    )
    chart.update_layout(title=t("Cases by month"), yaxis_title=t("cases"), **LAYOUT)
    return render(
        request, "cases_figures.html", found=found, days=days,
        chart=chart.to_html(full_html=False, include_plotlyjs=False),
    )  # fmt: skip


@router.get("/{case_id}")
def case_page(case_id: CaseId, request: Request, session: Db, user: StaffUser = Desk) -> Response:
    own = _own_queue(session, user)
    if own is not None and get_case(session, case_id=case_id).queue != own:
        raise NotAllowed  # another store's case
    return _view(request, session, case_id)


def _act(request: Request, session: Session, user: StaffUser, case_id: int, action: str,
         work: Callable[[], object]) -> Response:  # fmt: skip
    def done() -> str:
        work()
        audit_action(request, session, user, f"{action} case {case_id}")
        return f"/console/cases/{case_id}"

    def again(errors: dict[str, str], typed: dict[str, str]) -> Response:
        return _view(request, session, case_id, errors=errors, typed=typed, status=422)

    return once_or_again(request, session, user, done, again)


@router.post("/{case_id}/move")
def move(
    case_id: CaseId,
    request: Request,
    session: Db,
    state: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    user: StaffUser = Agent,
) -> Response:
    def work() -> None:
        if state not in set(CaseState):
            raise InvalidInput("choose the state", field="state")
        move_case(session, case_id=case_id, state=CaseState(state), now=utc_now(),
                  actor=user.username, note=note.strip())  # fmt: skip

    return _act(request, session, user, case_id, f"move to {state}", work)


@router.post("/{case_id}/category")
def category(
    case_id: CaseId,
    request: Request,
    session: Db,
    chosen: Annotated[str, Form(alias="category", max_length=32)] = "",
    user: StaffUser = Agent,
) -> Response:
    def work() -> None:
        if chosen not in set(CaseCategory):
            raise InvalidInput("choose the category", field="category")
        confirm_category(session, case_id=case_id, category=CaseCategory(chosen), now=utc_now(),
                         actor=user.username)  # fmt: skip

    return _act(request, session, user, case_id, f"file under {chosen}", work)


@router.post("/{case_id}/assign")
def assign(
    case_id: CaseId,
    request: Request,
    session: Db,
    queue: Annotated[str, Form(max_length=64)] = "",
    assignee: Annotated[str, Form(max_length=64)] = "",
    user: StaffUser = Agent,
) -> Response:
    def work() -> None:
        assign_case(session, case_id=case_id, queue=queue, assignee=assignee, now=utc_now(),
                    actor=user.username)  # fmt: skip

    return _act(request, session, user, case_id, "assign", work)


@router.post("/{case_id}/goodwill")
def goodwill(
    case_id: CaseId,
    request: Request,
    session: Db,
    points: Annotated[str, Form(max_length=12)] = "0",
    template: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
    user: StaffUser = Agent,
) -> Response:
    def work() -> None:
        try:
            amount = int(points.strip() or 0)
        except ValueError:
            raise InvalidInput("give a whole number of points, e.g. 200", field="points") from None
        give_goodwill(
            session, case_id=case_id, points=amount, coupon_template=template or None,
            reason=reason, cap=ADJUSTMENT_CAP.get(user.role, 0), now=utc_now(),
            actor=user.username,
        )  # fmt: skip

    return _act(request, session, user, case_id, "goodwill", work)
