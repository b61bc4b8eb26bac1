"""Surveys in the console: the list with a builder, and each survey's results (scores with
their intervals, by store, what drives them); marketing invites an audience, pauses and
resumes; agents read the members' own words."""

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from regulars.analytics.satisfaction_report import drivers_charts
from regulars.audiences.service import list_audiences
from regulars.campaigns.optout import Links
from regulars.clock import utc_now
from regulars.console.campaigns import Marketing
from regulars.console.core import Db, allow, audit_action, once, once_or_again, render
from regulars.members.models import ConsentChannel
from regulars.staff.models import StaffRole, StaffUser
from regulars.surveys.models import SurveyInvitation, SurveyResponse, SurveyTrigger
from regulars.surveys.results import survey_results
from regulars.surveys.rules import ATTRIBUTES, COMMENT, RATING, question
from regulars.surveys.service import (
    SurveyDraft,
    create_survey,
    get_survey,
    invite_audience,
    list_responses,
    list_surveys,
    questions_of,
    set_active,
)

router = APIRouter(prefix="/console", include_in_schema=False)
Readers = allow(StaffRole.MARKETING, StaffRole.ANALYST, StaffRole.SUPPORT)
Code = Annotated[str, Path(min_length=1, max_length=40)]
QUESTIONS = ["nps", "csat", "effort", "overall", *(RATING + a for a in ATTRIBUTES), COMMENT]
WORDS_SEEN_BY = {StaffRole.ADMIN, StaffRole.SUPPORT}  # members' comments are personal


def _counts(session: Db, model: type[SurveyInvitation] | type[SurveyResponse]) -> dict[int, int]:
    grouped = select(model.survey_id, func.count()).group_by(model.survey_id)
    return {survey_id: count for survey_id, count in session.execute(grouped)}  # noqa: C416  (a Result has keys(): not a dict)


def _surveys_page(request: Request, session: Db, status: int = 200, **values: object) -> Response:
    invited, answered = _counts(session, SurveyInvitation), _counts(session, SurveyResponse)
    rows = [(s, invited.get(s.id, 0), answered.get(s.id, 0)) for s in list_surveys(session)]
    defaults: dict[str, object] = {
        "surveys": rows, "errors": {}, "typed": {}, "questions": [question(k) for k in QUESTIONS],
        "triggers": list(SurveyTrigger), "channels": list(ConsentChannel),
    }  # fmt: skip
    return render(request, "surveys.html", status=status, **(defaults | values))


@router.get("/surveys")
def surveys(request: Request, session: Db, user: StaffUser = Readers) -> Response:
    return _surveys_page(request, session)


@router.post("/surveys")
async def new_survey(request: Request, session: Db, user: StaffUser = Marketing) -> Response:
    form = await request.form()
    asked = [str(k) for k in form.getlist("questions")]

    def number(name: str, default: int) -> int:
        text = str(form.get(name) or default)
        return int(text) if text.isdecimal() else -1

    def act() -> str:
        draft = SurveyDraft(
            code=str(form.get("code", "")).strip(), title=str(form.get("title", "")),
            title_en=str(form.get("title_en", "")), questions=asked,
            trigger=SurveyTrigger(str(form.get("trigger", SurveyTrigger.AUDIENCE))),
            channel=ConsentChannel(str(form.get("channel", ConsentChannel.SMS))),
            points=number("points", 0), sample_percent=number("sample_percent", 5),
            cap_days=number("cap_days", 90), valid_days=number("valid_days", 14),
        )  # fmt: skip
        made = create_survey(session, draft=draft, now=utc_now())
        audit_action(request, session, user, f"create survey {made.code}")
        return f"/console/surveys/{made.code}"

    return once_or_again(
        request, session, user, act,
        lambda errors, typed: _surveys_page(
            request, session, status=422, errors=errors, typed=typed | {"questions": asked}
        ),
    )  # fmt: skip


def _survey_page(
    request: Request, session: Db, user: StaffUser, code: str, status: int = 200, **values: object
) -> Response:
    survey = get_survey(session, code=code)
    results = survey_results(session, code=code)
    words = []
    if user.role in WORDS_SEEN_BY:
        words = [
            r for r in reversed(list_responses(session, survey=code, limit=10_000)) if r.comment
        ]
    defaults: dict[str, object] = {
        "survey": survey, "questions": questions_of(survey), "results": results,
        "chart": drivers_charts(request.state.t, results.drivers) if results.drivers else "",
        "comments": words[:30], "audiences": list_audiences(session), "errors": {}, "typed": {},
    }  # fmt: skip
    return render(request, "survey.html", status=status, **(defaults | values))


@router.get("/surveys/{code}")
def survey(code: Code, request: Request, session: Db, user: StaffUser = Readers) -> Response:
    return _survey_page(request, session, user, code)


@router.post("/surveys/{code}/invite")
def invite(
    code: Code,
    request: Request,
    session: Db,
    audience: Annotated[str, Form(max_length=100)] = "",
    user: StaffUser = Marketing,
) -> Response:
    settings = request.app.state.settings

    def act() -> str:
        invited = invite_audience(
            session, code=code, audience=audience, now=utc_now(),
            weekly_cap=settings.marketing_per_week,
            links=Links(settings.public_url, request.app.state.secret),
        )  # fmt: skip
        audit_action(request, session, user, f"invite {audience} to survey {code}: {invited}")
        return f"/console/surveys/{code}?invited={invited}"

    return once_or_again(
        request, session, user, act,
        lambda errors, typed: _survey_page(
            request, session, user, code, status=422, errors=errors, typed=typed
        ),
    )  # fmt: skip


def _switch(request: Request, session: Db, user: StaffUser, code: str, active: bool) -> Response:
    def act() -> str:
        set_active(session, code=code, active=active)
        audit_action(request, session, user, f"{'resume' if active else 'pause'} survey {code}")
        return f"/console/surveys/{code}"

    return once(request, session, user, act)


@router.post("/surveys/{code}/pause")
def pause(code: Code, request: Request, session: Db, user: StaffUser = Marketing) -> Response:
    return _switch(request, session, user, code, active=False)


@router.post("/surveys/{code}/resume")
def resume(code: Code, request: Request, session: Db, user: StaffUser = Marketing) -> Response:
    return _switch(request, session, user, code, active=True)
