"""The loyalty program: the active rules in plain words, the versions and what each changed,
the what-if of a proposed program on the chain's history, and applying it."""

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from regulars.clock import utc_now
from regulars.console.core import Db, allow, audit_action, once, render
from regulars.errors import InvalidInput, RegularsError
from regulars.program.service import (
    active_program,
    active_version,
    apply_program,
    parse_program,
    program_versions,
    version_change,
)
from regulars.simulation.schemas import period, report
from regulars.simulation.service import simulate
from regulars.staff.models import StaffRole, StaffUser

router = APIRouter(prefix="/console/program", include_in_schema=False)
Readers = allow(StaffRole.ANALYST, StaffRole.SUPPORT)
Planners = allow(StaffRole.ANALYST)
Longest = Annotated[str, Form(max_length=200_000)]


@router.get("")
def program(request: Request, session: Db, user: StaffUser = Readers) -> Response:
    version, active = active_program(session)
    return render(
        request,
        "program.html",
        version=version,
        program=active,
        versions=program_versions(session),
        settings=_settings,
        columns=_columns,
    )


def _plain(value: object) -> object:
    """A setting as shown: lists joined, everything else as it is."""
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value


def _settings(model: BaseModel) -> list[tuple[str, object]]:
    """A section's single settings that are set; lists of rules get their own table."""
    found = model.model_dump(mode="json")
    return [
        (key, _plain(value))
        for key, value in found.items()
        if value not in (None, "", [])
        and not (isinstance(value, list) and isinstance(value[0], dict))
    ]


def _columns(items: list[BaseModel]) -> tuple[list[str], list[list[object]]]:
    """Rules as a table: a column for each setting that any of them uses."""
    rows = [item.model_dump(mode="json") for item in items]
    keys = [
        k for k in (rows[0] if rows else {}) if any(r[k] not in (None, "", [], False) for r in rows)
    ]
    return keys, [[_plain(row[k]) if row[k] is not None else "" for k in keys] for row in rows]


@router.get("/versions/{version_id}")
def version(
    version_id: Annotated[int, Path(ge=1, le=2**31)],
    request: Request,
    session: Db,
    user: StaffUser = Readers,
) -> Response:
    found, lines = version_change(session, version_id=version_id)
    return render(request, "program_version.html", version=found, lines=lines)


def _edit(request: Request, session: Db, status: int = 200, **values: object) -> Response:
    today = utc_now().date()
    defaults: dict[str, object] = {
        "source": active_version(session).source,
        "start": (today - timedelta(days=30)).isoformat(),
        "end": (today - timedelta(days=1)).isoformat(),
        "errors": {},
        "outcome": None,
    }
    return render(request, "program_edit.html", status=status, **(defaults | values))


@router.get("/edit")
def edit(request: Request, session: Db, user: StaffUser = Planners) -> Response:
    return _edit(request, session)


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("give a date as YYYY-MM-DD", field=field) from None


@router.post("/simulate")
def what_if(
    request: Request,
    session: Db,
    source: Longest = "",
    start: Annotated[str, Form(max_length=10)] = "",
    end: Annotated[str, Form(max_length=10)] = "",
    user: StaffUser = Planners,
) -> Response:
    """Price a past period's receipts by the proposed program and the active one; nothing is
    written."""
    try:
        proposed = parse_program(source)
        _, active = active_program(session)
        first, last = period(_day(start, "start"), _day(end, "end"), ZoneInfo(active.timezone))
        outcome = report(simulate(session, active=active, proposed=proposed, start=first, end=last))
    except RegularsError as refused:
        field = "start" if refused.field in {"start", "from"} else refused.field
        field = field if field in {"start", "end"} else "source"
        errors = {field: request.state.t.told(refused.message)}
        return _edit(request, session, 422, errors=errors, source=source, start=start, end=end)
    return _edit(request, session, outcome=outcome, source=source, start=start, end=end)


@router.post("/apply")
def apply(
    request: Request,
    session: Db,
    source: Longest = "",
    user: StaffUser = allow(),
) -> Response:
    """Make the proposed program the active version (admins)."""

    def act() -> str:
        version = apply_program(session, text=source, now=utc_now(), actor=user.username)
        audit_action(request, session, user, "apply program", version=version.id)
        return f"/console/program/versions/{version.id}"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        errors = {"source": request.state.t.told(refused.message)}
        return _edit(request, session, errors=errors, status=422, source=source)
