"""The page behind a survey invitation's link: the member answers without signing in, in
their language; the link's signature says which invitation it is."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from regulars.api.text import refuse_unstorable_text
from regulars.clock import utc_now
from regulars.console.core import Db, render
from regulars.errors import InvalidInput, RegularsError
from regulars.i18n import language
from regulars.members.service import get_member
from regulars.surveys.models import Survey, SurveyInvitation
from regulars.surveys.service import answer_survey, invitation_by_link, questions_of

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(max_length=200)]


def _page(
    request: Request,
    invitation: SurveyInvitation,
    survey: Survey,
    status: int = 200,
    **values: object,
) -> Response:
    return render(
        request, "survey_answer.html", status=status, survey=survey,
        questions=questions_of(survey), token=request.path_params["token"],
        invitation=invitation, **({"done": False, "error": None, "error_field": None} | values),
    )  # fmt: skip


def _opened(request: Request, session: Db, token: str) -> tuple[SurveyInvitation, Survey]:
    invitation = invitation_by_link(session, secret=request.app.state.secret, token=token)
    member = get_member(session, member_id=invitation.member_id)
    request.state.t = language(member.language or "zh-CN")
    return invitation, session.get_one(Survey, invitation.survey_id)


@router.get("/s/{token}")
def ask(token: Token, request: Request, session: Db) -> Response:
    invitation, survey = _opened(request, session, token)
    return _page(request, invitation, survey, given={})


@router.post("/s/{token}")
async def answer(token: Token, request: Request, session: Db) -> Response:
    invitation, survey = _opened(request, session, token)
    form = await request.form()
    refuse_unstorable_text(b"", {k: v for k, v in form.items() if isinstance(v, str)})
    given: dict[str, object] = {
        key: int(value) if value.isdecimal() else value
        for key, value in form.items()
        if isinstance(value, str) and key != "form_token"
    }
    try:
        answer_survey(session, invitation_id=invitation.id, answers=given, now=utc_now())
    except RegularsError as refused:
        t = request.state.t
        field = refused.field if isinstance(refused, InvalidInput) else None
        return _page(
            request, invitation, survey, status=refused.status, given=given,
            error=t.told(refused.message), error_field=field,
        )  # fmt: skip
    return _page(request, invitation, survey, done=True, given=given)
