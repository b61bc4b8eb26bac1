"""Surveys: define them, invite an audience, list a member's open invitations, take answers
(the member's app, with their token) and read them."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request, status
from sqlalchemy.orm import Session

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import MAX_ID, Cursor, DbSession, MemberId, allow
from regulars.api.unit_of_work import PERSONAL, routes
from regulars.campaigns.optout import Links
from regulars.clock import utc_now
from regulars.surveys import service
from regulars.surveys.models import Survey, SurveyResponse
from regulars.surveys.schemas import (
    AnswerIn,
    AudienceInvitationIn,
    InvitationOut,
    Invited,
    QuestionOut,
    ResponseOut,
    SurveyIn,
    SurveyOut,
)

router = routes(prefix="/v1", tags=["surveys", PERSONAL])
Marketing = Annotated[Principal, Depends(allow(Role.MARKETING))]
Readers = Annotated[Principal, Depends(allow(Role.MARKETING, Role.ANALYST, Role.SUPPORT))]
Answerers = Annotated[Principal, Depends(allow(Role.MEMBER, Role.APP))]
Own = Annotated[Principal, Depends(allow(Role.MEMBER, Role.APP, Role.SUPPORT))]
Agents = Annotated[Principal, Depends(allow(Role.SUPPORT))]
Code = Annotated[str, Path(min_length=1, max_length=40, description="The survey's code.")]


def survey_out(survey: Survey) -> SurveyOut:
    questions = [
        QuestionOut(key=q.key, low=q.low, high=q.high, text={"zh-CN": q.zh, "en": q.en})
        for q in service.questions_of(survey)
    ]
    fields = {name: getattr(survey, name) for name in SurveyOut.model_fields if name != "questions"}
    return SurveyOut(**fields, questions=questions)


def responses_out(session: Session, found: list[SurveyResponse]) -> list[ResponseOut]:
    ratings = service.ratings_of(session, [r.id for r in found])
    return [
        ResponseOut.model_validate(r).model_copy(update={"ratings": ratings[r.id]}) for r in found
    ]


@router.post("/surveys", status_code=status.HTTP_201_CREATED)
def create(data: SurveyIn, session: DbSession, caller: Marketing) -> SurveyOut:
    """Define a survey from the questions the system knows; active at once."""
    draft = service.SurveyDraft(**data.model_dump())
    return survey_out(service.create_survey(session, draft=draft, now=utc_now()))


@router.get("/surveys")
def list_all(session: DbSession, caller: Readers) -> list[SurveyOut]:
    return [survey_out(s) for s in service.list_surveys(session)]


@router.get("/surveys/{code}")
def one(code: Code, session: DbSession, caller: Readers) -> SurveyOut:
    """A survey with its questions in both languages."""
    return survey_out(service.get_survey(session, code=code))


@router.post("/surveys/{code}/pause")
def pause(code: Code, session: DbSession, caller: Marketing) -> SurveyOut:
    """No new invitations; those already out may still be answered."""
    return survey_out(service.set_active(session, code=code, active=False))


@router.post("/surveys/{code}/resume")
def resume(code: Code, session: DbSession, caller: Marketing) -> SurveyOut:
    return survey_out(service.set_active(session, code=code, active=True))


@router.post("/surveys/{code}/invitations")
def invite(
    code: Code, data: AudienceInvitationIn, session: DbSession, caller: Marketing, request: Request
) -> Invited:
    """Invite an audience's members on the survey's channel, except those invited within its
    frequency cap or without consent."""
    settings = request.app.state.settings
    invited = service.invite_audience(
        session, code=code, audience=data.audience, now=utc_now(),
        weekly_cap=settings.marketing_per_week,
        links=Links(settings.public_url, request.app.state.secret),
    )  # fmt: skip
    return Invited(invited=invited)


@router.get("/members/{member_id}/survey-invitations")
def open_invitations(member_id: MemberId, session: DbSession, caller: Own) -> list[InvitationOut]:
    """The member's invitations they may still answer, newest first."""
    found = service.open_invitations(session, member_id=member_id, now=utc_now())
    return [
        InvitationOut(
            invitation_id=i.id, survey=survey_out(s), invited_at=i.invited_at,
            expires_at=i.expires_at,
        )
        for i, s in found
    ]  # fmt: skip


@router.post("/survey-responses", status_code=status.HTTP_201_CREATED)
def answer(data: AnswerIn, session: DbSession, caller: Answerers) -> ResponseOut:
    """Answer an invitation (a member token: one's own), once; engagement points follow."""
    response = service.answer_survey(
        session, invitation_id=data.invitation_id, answers=data.answers, now=utc_now(),
        member_id=caller.member_id if caller.role is Role.MEMBER else None,
    )  # fmt: skip
    return responses_out(session, [response])[0]


@router.get("/survey-responses")
def list_responses(
    session: DbSession,
    caller: Agents,
    survey: Annotated[str | None, Query(max_length=40)] = None,
    member_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ResponseOut]:
    """Answers in id order, with the members' comments: of a survey, a member or a case."""
    found = service.list_responses(
        session, survey=survey, member_id=member_id, case_id=case_id, after_id=after, limit=limit
    )
    return responses_out(session, found)
