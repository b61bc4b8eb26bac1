"""Use cases of surveys: define one, invite members (after a sample of purchases, after a
closed case, or an audience), and take their answers with the engagement points."""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.audiences.service import audience_members
from regulars.campaigns.messages import member_values, queue_messages, reasons_to_skip
from regulars.campaigns.optout import Links
from regulars.campaigns.rules import Wording
from regulars.cases.models import Case
from regulars.cases.rules import CaseState
from regulars.errors import Conflict, InvalidInput, NotFound, RegularsError
from regulars.members.models import ConsentChannel
from regulars.points.models import EntryKind
from regulars.points.service import credit_points, lock_member
from regulars.program.service import active_program
from regulars.sales.models import Receipt
from regulars.signing import unsign
from regulars.surveys import rules
from regulars.surveys.models import (
    AttributeRating,
    Survey,
    SurveyInvitation,
    SurveyResponse,
    SurveyTrigger,
)

PURCHASES_LOOKED_AT = timedelta(days=1)  # a purchase older than this is not asked about


class SurveyNotFound(NotFound):
    code = "survey_not_found"


class SurveyExists(Conflict):
    code = "survey_exists"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"


class AlreadyAnswered(Conflict):
    code = "already_answered"


class InvitationExpired(Conflict):
    code = "invitation_expired"
    status = 410


class BadSurveyLink(RegularsError):
    code = "bad_survey_link"
    status = 404


@dataclass(frozen=True)
class SurveyDraft:
    code: str
    title: str  # in Chinese
    title_en: str
    questions: Sequence[str]
    trigger: SurveyTrigger
    channel: ConsentChannel = ConsentChannel.SMS
    points: int = 0
    sample_percent: int = 5
    cap_days: int = 90
    valid_days: int = 14


def create_survey(session: Session, *, draft: SurveyDraft, now: datetime) -> Survey:
    """A new survey, active at once; its questions must be ones the system knows."""
    rules.check_questions(draft.questions)
    if not draft.code.strip() or not draft.title.strip() or not draft.title_en.strip():
        raise InvalidInput("a survey has a code and a title in both languages", field="title")
    for name, value, high in (
        ("points", draft.points, 10_000),
        ("sample_percent", draft.sample_percent, 100),
        ("cap_days", draft.cap_days, 3650),
        ("valid_days", draft.valid_days, 365),
    ):
        if not 0 <= value <= high or (name == "valid_days" and value == 0):
            raise InvalidInput(f"{name} is from {int(name == 'valid_days')} to {high}", field=name)
    if session.scalar(select(Survey.id).where(Survey.code == draft.code)) is not None:
        raise SurveyExists(f"there is a survey {draft.code!r} already", field="code")
    survey = Survey(
        code=draft.code.strip(),
        title=draft.title.strip(),
        title_en=draft.title_en.strip(),
        questions=json.dumps(list(draft.questions)),
        trigger=draft.trigger,
        channel=draft.channel,
        points=draft.points,
        sample_percent=draft.sample_percent,
        cap_days=draft.cap_days,
        valid_days=draft.valid_days,
        active=True,
        invited_through=0,
        created_at=now,
    )
    session.add(survey)
    session.flush()
    return survey


def get_survey(session: Session, *, code: str) -> Survey:
    survey = session.scalars(select(Survey).where(Survey.code == code)).first()
    if survey is None:
        raise SurveyNotFound(f"no survey {code!r}", field="survey")
    return survey


def list_surveys(session: Session) -> list[Survey]:
    return list(session.scalars(select(Survey).order_by(Survey.id)))


def questions_of(survey: Survey) -> list[rules.Question]:
    return [rules.question(key) for key in json.loads(survey.questions)]


def set_active(session: Session, *, code: str, active: bool) -> Survey:
    """Pause or resume a survey's invitations; invitations already out may still be answered."""
    survey = get_survey(session, code=code)
    survey.active = active
    return survey


@dataclass(frozen=True)
class Pick:
    """Whom to invite, and what about."""

    member_id: int
    store_id: int | None = None
    receipt_id: int | None = None
    case_id: int | None = None


def _wording(survey: Survey) -> Wording:
    return Wording(
        survey.title,
        "{name}您好：{survey}，请花一分钟告诉我们您的感受：{link}",
        {"en": (survey.title_en, "Dear {name}: {survey}. Tell us in a minute: {link}")},
    )


def _invite(
    session: Session,
    survey: Survey,
    picks: Sequence[Pick],
    now: datetime,
    weekly_cap: int,
    links: Links | None,
) -> int:
    """Invitations to the members who may be messaged on the survey's channel, one each."""
    first: dict[int, Pick] = {}
    for pick in picks:
        first.setdefault(pick.member_id, pick)
    skip = reasons_to_skip(session, survey.channel, list(first), now, weekly_cap)
    invited = [
        SurveyInvitation(
            survey_id=survey.id,
            member_id=pick.member_id,
            store_id=pick.store_id,
            receipt_id=pick.receipt_id,
            case_id=pick.case_id,
            invited_at=now,
            expires_at=now + timedelta(days=survey.valid_days),
        )
        for pick in first.values()
        if pick.member_id not in skip
    ]
    if not invited:
        return 0
    session.add_all(invited)
    session.flush()
    values = member_values(session, [i.member_id for i in invited])
    for invitation in invited:
        own = values[invitation.member_id]
        own["survey"] = survey.title_en if own.get("language") == "en" else survey.title
        own["link"] = links.survey(invitation.id) if links else ""
    return queue_messages(
        session,
        keys={i.member_id: f"survey:{i.id}" for i in invited},
        channel=survey.channel,
        wording=_wording(survey),
        values=values,
        now=now,
    )


def _recently_invited(session: Session, members: Iterable[int], since: datetime) -> set[int]:
    found: set[int] = set()
    ordered = sorted(set(members))
    for start in range(0, len(ordered), 5000):
        found |= set(
            session.scalars(
                select(SurveyInvitation.member_id).where(
                    SurveyInvitation.member_id.in_(ordered[start : start + 5000]),
                    SurveyInvitation.invited_at > since,
                )
            )
        )
    return found


def invite_audience(
    session: Session,
    *,
    code: str,
    audience: str,
    now: datetime,
    weekly_cap: int,
    links: Links | None,
) -> int:
    """Invite an audience's members, except those invited within the survey's cap."""
    survey = get_survey(session, code=code)
    if not survey.active:
        raise InvalidInput(f"survey {code!r} is paused", field="survey")
    members = audience_members(session, name=audience, now=now)
    recent = _recently_invited(session, members, now - timedelta(days=survey.cap_days))
    picks = [Pick(m) for m in members if m not in recent]
    return _invite(session, survey, picks, now, weekly_cap, links)


def _purchase_picks(session: Session, survey: Survey, now: datetime) -> list[Pick]:
    receipts = session.execute(
        select(Receipt.id, Receipt.member_id, Receipt.store_id)
        .where(
            Receipt.id > survey.invited_through,
            Receipt.member_id.is_not(None),
            Receipt.sold_at > now - PURCHASES_LOOKED_AT,
            Receipt.sold_at <= now,
        )
        .order_by(Receipt.id)
    ).all()
    if not receipts:
        return []
    survey.invited_through = receipts[-1].id
    chosen = [r for r in receipts if rules.sampled(survey.id, r.id, survey.sample_percent)]
    recent = _recently_invited(
        session, (r.member_id for r in chosen), now - timedelta(days=survey.cap_days)
    )
    return [Pick(r.member_id, r.store_id, r.id) for r in chosen if r.member_id not in recent]


def _case_picks(session: Session, survey: Survey, now: datetime) -> list[Pick]:
    asked = select(SurveyInvitation.case_id).where(
        SurveyInvitation.survey_id == survey.id, SurveyInvitation.case_id.is_not(None)
    )
    closed = session.execute(
        select(Case.id, Case.member_id, Case.store_id)
        .where(
            Case.state == CaseState.CLOSED,
            Case.member_id.is_not(None),
            Case.closed_at > now - timedelta(days=survey.valid_days),
            Case.id.not_in(asked),
        )
        .order_by(Case.id)
    ).all()
    return [Pick(c.member_id, c.store_id, case_id=c.id) for c in closed]


def send_invitations(
    session: Session, *, now: datetime, weekly_cap: int, links: Links | None
) -> dict[str, int]:
    """The invitations that are due: for a sample of the purchases since the last run
    (each member at most once within the survey's cap), and for every case closed since."""
    sent = {}
    active = select(Survey).where(
        Survey.active.is_(True), Survey.trigger.in_([SurveyTrigger.PURCHASE, SurveyTrigger.CASE])
    )
    for survey in session.scalars(active.order_by(Survey.id).with_for_update()).all():
        if survey.trigger is SurveyTrigger.PURCHASE:
            picks = _purchase_picks(session, survey, now)
        else:
            picks = _case_picks(session, survey, now)
        sent[survey.code] = _invite(session, survey, picks, now, weekly_cap, links)
    return sent


def invitation_by_link(session: Session, *, secret: bytes, token: str) -> SurveyInvitation:
    """The invitation a survey link was made for."""
    try:
        kind, number = unsign(secret, token).split(":")
        if kind != "survey":
            raise ValueError(kind)
        invitation = session.get(SurveyInvitation, int(number))
    except ValueError:
        raise BadSurveyLink("this survey link is not valid") from None
    if invitation is None:
        raise BadSurveyLink("this survey link is not valid")
    return invitation


def get_invitation(session: Session, *, invitation_id: int) -> SurveyInvitation:
    invitation = session.get(SurveyInvitation, invitation_id)
    if invitation is None:
        raise InvitationNotFound(f"no invitation {invitation_id}", field="invitation_id")
    return invitation


def open_invitations(
    session: Session, *, member_id: int, now: datetime
) -> list[tuple[SurveyInvitation, Survey]]:
    """A member's invitations they may still answer, newest first."""
    answered = select(SurveyResponse.invitation_id).where(SurveyResponse.member_id == member_id)
    found = session.execute(
        select(SurveyInvitation, Survey)
        .join(Survey, Survey.id == SurveyInvitation.survey_id)
        .where(
            SurveyInvitation.member_id == member_id,
            SurveyInvitation.expires_at > now,
            SurveyInvitation.id.not_in(answered),
        )
        .order_by(SurveyInvitation.id.desc())
    ).all()
    return [(i, s) for i, s in found]


def answer_survey(
    session: Session,
    *,
    invitation_id: int,
    answers: Mapping[str, object],
    now: datetime,
    member_id: int | None = None,
) -> SurveyResponse:
    """Keep a member's answer to an invitation and give the survey's engagement points, once:
    a second answer is refused, also when both arrive at the same moment."""
    invitation = get_invitation(session, invitation_id=invitation_id)
    if member_id is not None and invitation.member_id != member_id:
        raise InvitationNotFound(f"no invitation {invitation_id}", field="invitation_id")
    survey = session.get_one(Survey, invitation.survey_id)
    given = rules.check_answers(questions_of(survey), answers)
    lock_member(session, invitation.member_id)  # one answer at a time per member
    if session.scalar(
        select(SurveyResponse.id).where(SurveyResponse.invitation_id == invitation.id)
    ):
        raise AlreadyAnswered("this invitation has been answered already")
    if invitation.expires_at <= now:
        raise InvitationExpired("this invitation could be answered until " + str(
            invitation.expires_at.date()
        ))  # fmt: skip
    response = SurveyResponse(
        invitation_id=invitation.id,
        survey_id=survey.id,
        member_id=invitation.member_id,
        store_id=invitation.store_id,
        case_id=invitation.case_id,
        answered_at=now,
        nps=given.score("nps"),
        csat=given.score("csat"),
        effort=given.score("effort"),
        overall=given.score("overall"),
        comment=given.comment,
    )
    session.add(response)
    session.flush()
    session.add_all(
        AttributeRating(response_id=response.id, attribute=a, score=s)
        for a, s in given.ratings.items()
    )
    if survey.points:
        credit_points(
            session,
            member_id=invitation.member_id,
            points=survey.points,
            kind=EntryKind.BONUS,
            now=now,
            program=active_program(session)[1],
            reason=f"answered survey {survey.code}",
        )
    session.flush()
    return response


def ratings_of(session: Session, response_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {r: {} for r in response_ids}
    for rating in session.scalars(
        select(AttributeRating).where(AttributeRating.response_id.in_(response_ids))
    ):
        found[rating.response_id][rating.attribute] = rating.score
    return found


def list_responses(
    session: Session,
    *,
    survey: str | None = None,
    member_id: int | None = None,
    case_id: int | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[SurveyResponse]:
    """Answers in id order, of a survey, a member or a case."""
    query = select(SurveyResponse).where(SurveyResponse.id > after_id)
    if survey is not None:
        query = query.where(SurveyResponse.survey_id == get_survey(session, code=survey).id)
    if member_id is not None:
        query = query.where(SurveyResponse.member_id == member_id)
    if case_id is not None:
        query = query.where(SurveyResponse.case_id == case_id)
    return list(session.scalars(query.order_by(SurveyResponse.id).limit(limit)))
