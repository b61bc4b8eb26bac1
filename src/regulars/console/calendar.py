"""The marketing calendar: a month of holidays, campaigns sent and due, and the journeys
that run every day; the holidays are kept here."""

import calendar
from collections import defaultdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import or_, select

from regulars.campaigns.models import Campaign
from regulars.console.campaigns import Marketing, Readers
from regulars.console.core import Db, audit_action, form_errors, once, render
from regulars.errors import InvalidInput, RegularsError
from regulars.journeys.service import add_holiday, holidays, list_journeys, remove_holiday
from regulars.staff.models import StaffUser

router = APIRouter(prefix="/console", include_in_schema=False)
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
HolidayName = Annotated[str, Form(max_length=60)]
Day = Annotated[str, Form(max_length=10)]


def _month(text: str | None, today: date) -> date:
    if not text:
        return today.replace(day=1)
    try:
        return date(int(text[:4]), int(text[5:7]), 1)
    except ValueError:
        raise InvalidInput(f"{text} is not a month", field="month") from None


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("give the day, e.g. 2027-02-06", field="day") from None


def _calendar_page(
    request: Request, session: Db, month: date, status: int = 200, **values: object
) -> Response:
    zone = request.app.state.settings.zone
    weeks = calendar.Calendar().monthdatescalendar(month.year, month.month)
    start, end = weeks[0][0], weeks[-1][-1]
    days: dict[date, list[tuple[str, str, str]]] = defaultdict(list)  # kind, label, link
    for holiday in holidays(session, start=start, end=end):
        days[holiday.day].append(("holiday", holiday.name, ""))
    begin = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    finish = datetime.combine(end, datetime.max.time(), tzinfo=zone)
    campaigns = session.scalars(
        select(Campaign).where(
            or_(
                Campaign.sent_at.between(begin, finish),
                Campaign.sent_at.is_(None) & Campaign.scheduled_for.between(begin, finish),
            )
        )
    )
    for campaign in campaigns:
        when = campaign.sent_at or campaign.scheduled_for
        assert when is not None
        kind = "sent" if campaign.sent_at else "due"
        link = f"/console/campaigns/{campaign.name}"
        days[when.astimezone(zone).date()].append((kind, campaign.name, link))
    defaults: dict[str, object] = {
        "month": month,
        "weeks": weeks,
        "days": days,
        "previous": f"{_shift(month, -1):%Y-%m}",
        "following": f"{_shift(month, 1):%Y-%m}",
        "journeys": [j for j in list_journeys(session) if j.active],
        "errors": {},
        "typed": {},
    }
    return render(request, "calendar.html", status=status, **(defaults | values))


@router.get("/calendar")
def marketing_calendar(
    request: Request, session: Db, month: Month | None = None, user: StaffUser = Readers
) -> Response:
    today = datetime.now(request.app.state.settings.zone).date()
    return _calendar_page(request, session, _month(month, today))


@router.post("/calendar/holidays")
def new_holiday(
    request: Request,
    session: Db,
    name: HolidayName = "",
    day: Day = "",
    user: StaffUser = Marketing,
) -> Response:
    return _change_holiday(request, session, user, name, day, add=True)


@router.post("/calendar/holidays/remove")
def drop_holiday(
    request: Request,
    session: Db,
    name: HolidayName = "",
    day: Day = "",
    user: StaffUser = Marketing,
) -> Response:
    return _change_holiday(request, session, user, name, day, add=False)


def _change_holiday(
    request: Request, session: Db, user: StaffUser, name: str, day: str, *, add: bool
) -> Response:
    def act() -> str:
        on = _day(day)
        if add:
            add_holiday(session, name=name, day=on)
        else:
            remove_holiday(session, name=name, day=on)
        audit_action(request, session, user, f"{'add' if add else 'remove'} holiday {name} {on}")
        return f"/console/calendar?month={on:%Y-%m}"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        today = datetime.now(request.app.state.settings.zone).date()
        errors = form_errors(request.state.t, refused)
        typed = {"name": name, "day": day}
        return _calendar_page(
            request, session, today.replace(day=1), errors=errors, typed=typed, status=422
        )
