"""Surveys from invitation to answer: who is invited when, what an answer may say, the
engagement points given once, and the closed loop after a case."""

from concurrent.futures import ThreadPoolExecutor
from datetime import time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.audiences.service import save_audience
from regulars.campaigns.messages import message_key
from regulars.campaigns.models import OutboxMessage
from regulars.campaigns.optout import Links
from regulars.cases.hours import set_opening_hours
from regulars.cases.models import CaseCategory, CaseChannel, Severity
from regulars.cases.rules import CaseState
from regulars.cases.service import NewCase, move_case, open_case
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.members.models import ConsentChannel, Member
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_members, record_consent
from regulars.points.service import balance
from regulars.privacy.service import erase_member, export_member
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipt
from regulars.surveys.models import SurveyInvitation, SurveyTrigger
from regulars.surveys.service import (
    AlreadyAnswered,
    BadSurveyLink,
    InvitationExpired,
    InvitationNotFound,
    SurveyDraft,
    SurveyExists,
    answer_survey,
    create_survey,
    invitation_by_link,
    invite_audience,
    list_responses,
    send_invitations,
)
from tests.conftest import Database
from tests.factories import NOW, ZONE, make_product, make_program, make_store

SECRET = b"s" * 32
LINKS = Links("https://shop.example", SECRET)
QUESTIONS = ["nps", "overall", "rating:freshness", "rating:staff", "comment"]
GOOD = {"nps": 9, "overall": 8, "rating:freshness": 7, "rating:staff": 9, "comment": "好"}


def draft(**changes: object) -> SurveyDraft:
    values: dict[str, object] = {
        "code": "visit", "title": "购物体验调查", "title_en": "How was your visit",
        "questions": QUESTIONS, "trigger": SurveyTrigger.AUDIENCE, "points": 20,
    }  # fmt: skip
    return SurveyDraft(**(values | changes))  # type: ignore[arg-type]


def chain(session: Session, members: int = 10) -> list[int]:
    """Members of whom every other said yes to SMS, all in an audience "everyone"."""
    make_program(session)
    make_store(session, "S001")
    make_product(session, sku="RICE", price="30.00")
    new = [MemberCreate(phone=f"1392222{n:04d}", name=f"Member {n}") for n in range(members)]
    outcomes = enroll_members(session, members=new, now=NOW, source="t", region="CN", zone=ZONE)
    ids = [o.id for o in outcomes]  # type: ignore[union-attr]
    for n, member_id in enumerate(ids):
        record_consent(
            session, member_id=member_id, channel=ConsentChannel.SMS, granted=n % 2 == 0,
            source="t", now=NOW,
        )  # fmt: skip
    everyone = {"kind": "tier", "values": ["regular"]}
    save_audience(session, name="everyone", definition=everyone, description="", now=NOW, actor="t")
    return ids


def invited(session: Session) -> list[SurveyInvitation]:
    return list(session.scalars(select(SurveyInvitation).order_by(SurveyInvitation.id)))


@pytest.mark.parametrize(
    ("questions", "says"),
    [
        (["nps", "mood"], "no question 'mood'"),
        (["rating:parking", "rating:parking"], "each question once"),
        (["comment"], "at least one question with a score"),
    ],
)
def test_a_survey_asks_only_known_questions(
    session: Session, questions: list[str], says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        create_survey(session, draft=draft(questions=questions), now=NOW)


def test_a_survey_code_is_taken_once(session: Session) -> None:
    create_survey(session, draft=draft(), now=NOW)
    with pytest.raises(SurveyExists):
        create_survey(session, draft=draft(), now=NOW)


def test_an_audience_is_invited_on_the_channel_it_consented_to_and_not_again_within_the_cap(
    session: Session,
) -> None:
    ids = chain(session)
    create_survey(session, draft=draft(), now=NOW)
    sent = invite_audience(
        session, code="visit", audience="everyone", now=NOW, weekly_cap=2, links=LINKS
    )
    assert sent == 5
    assert [i.member_id for i in invited(session)] == ids[::2]
    first = invited(session)[0]
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.key == message_key(f"survey:{first.id}"))
    ).one()
    link = message.body.rsplit(" ", 1)[-1].split("：")[-1]
    assert invitation_by_link(session, secret=SECRET, token=link.rsplit("/", 1)[-1]) == first
    later = NOW + timedelta(days=30)
    again = invite_audience(
        session, code="visit", audience="everyone", now=later, weekly_cap=2, links=LINKS
    )
    assert again == 0


def test_a_forged_or_foreign_link_opens_nothing(session: Session) -> None:
    token = LINKS.survey(1).rsplit("/", 1)[-1]
    with pytest.raises(BadSurveyLink):
        invitation_by_link(session, secret=b"x" * 32, token=token)
    with pytest.raises(BadSurveyLink):
        invitation_by_link(session, secret=SECRET, token=token[:-2] + "AA")
    unsubscribe = LINKS.unsubscribe(1, ConsentChannel.SMS).rsplit("/", 1)[-1]
    with pytest.raises(BadSurveyLink):
        invitation_by_link(session, secret=SECRET, token=unsubscribe)


def one_invitation(session: Session, **changes: object) -> SurveyInvitation:
    chain(session)
    create_survey(session, draft=draft(**changes), now=NOW)
    invite_audience(session, code="visit", audience="everyone", now=NOW, weekly_cap=2, links=None)
    return invited(session)[0]


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        (GOOD | {"nps": 11}, "answers.nps"),
        (GOOD | {"rating:freshness": 0}, "answers.rating:freshness"),
        (GOOD | {"overall": 7.5}, "answers.overall"),
        (GOOD | {"csat": 4}, "answers.csat"),
        ({k: v for k, v in GOOD.items() if k != "rating:staff"}, "answers.rating:staff"),
        (GOOD | {"comment": "x" * 2001}, "answers.comment"),
    ],
)
def test_an_answer_out_of_range_or_not_asked_is_refused_and_nothing_is_kept(
    session: Session, answers: dict[str, object], field: str
) -> None:
    invitation = one_invitation(session)
    with pytest.raises(InvalidInput) as refused:
        answer_survey(session, invitation_id=invitation.id, answers=answers, now=NOW)
    assert refused.value.field == field
    assert list_responses(session, survey="visit") == []


def test_an_answer_is_kept_with_its_ratings_and_earns_points_once(session: Session) -> None:
    invitation = one_invitation(session)
    before = balance(session, member_id=invitation.member_id, now=NOW).total
    response = answer_survey(session, invitation_id=invitation.id, answers=GOOD, now=NOW)
    assert (response.nps, response.overall, response.csat, response.comment) == (9, 8, None, "好")
    with pytest.raises(AlreadyAnswered):
        answer_survey(session, invitation_id=invitation.id, answers=GOOD, now=NOW)
    assert balance(session, member_id=invitation.member_id, now=NOW).total == before + 20


def test_an_invitation_is_answered_by_its_member_and_in_time(session: Session) -> None:
    invitation = one_invitation(session, valid_days=7)
    with pytest.raises(InvitationNotFound):
        answer_survey(
            session, invitation_id=invitation.id, answers=GOOD, now=NOW,
            member_id=invitation.member_id + 1,
        )  # fmt: skip
    with pytest.raises(InvitationExpired):
        answer_survey(
            session, invitation_id=invitation.id, answers=GOOD, now=NOW + timedelta(days=8)
        )


def test_a_member_answering_twice_at_once_is_given_points_once(database: Database) -> None:
    def prepare(session: Session) -> int:
        return one_invitation(session).id

    invitation_id = run_in_transaction(database.sessions, prepare)

    def answer(_: int) -> bool:
        try:
            run_in_transaction(
                database.sessions,
                lambda s: answer_survey(s, invitation_id=invitation_id, answers=GOOD, now=NOW),
            )
            return True
        except AlreadyAnswered:
            return False

    with ThreadPoolExecutor(8) as pool:
        answered = list(pool.map(answer, range(8)))
    assert answered.count(True) == 1
    with database.sessions() as session:
        member_id = session.get_one(SurveyInvitation, invitation_id).member_id
        assert balance(session, member_id=member_id, now=NOW).total == 20
        assert len(list_responses(session, survey="visit")) == 1


def sell(session: Session, number: int, member_id: int, minutes: int) -> int:
    receipt, _ = record_receipt(
        session,
        receipt=ReceiptIn(
            store_code="S001",
            pos_receipt_no=f"P{number}",
            member_card=session.get_one(Member, member_id).card_number,
            sold_at=NOW - timedelta(minutes=minutes),
            lines=[ReceiptLineIn(sku="RICE", quantity=Decimal(1), unit_price=Decimal(30))],
        ),  # fmt: skip
        now=NOW,
        limits=Limits(),
    )
    return receipt.id


def test_a_sample_of_purchases_is_asked_about_once_and_each_member_within_the_cap(
    session: Session,
) -> None:
    ids = chain(session, members=40)
    create_survey(session, draft=draft(trigger=SurveyTrigger.PURCHASE, sample_percent=50), now=NOW)
    receipts = [sell(session, n, ids[n % 40], minutes=200 - n) for n in range(120)]
    first = send_invitations(session, now=NOW, weekly_cap=2, links=LINKS)
    assert send_invitations(session, now=NOW, weekly_cap=2, links=LINKS) == {"visit": 0}
    asked = invited(session)
    assert first == {"visit": len(asked)}
    assert len({i.member_id for i in asked}) == len(asked)  # once each, within the cap
    assert {i.member_id for i in asked} <= set(ids[::2])  # and only with SMS consent
    assert {i.receipt_id for i in asked} <= set(receipts)
    reachable = {r for n, r in enumerate(receipts) if n % 2 == 0}
    sampled_members = len(asked) / len(set(ids[::2]))
    assert 0.75 <= sampled_members <= 1.0  # three purchases each at 50 %: 87.5 % expected
    assert all(i.receipt_id in reachable for i in asked)


def test_a_closed_case_asks_its_member_how_it_was_handled_and_keeps_the_answer(
    session: Session,
) -> None:
    ids = chain(session)
    set_opening_hours(session, store_code=None, hours={d: (time(0), time(0)) for d in range(7)})
    create_survey(
        session, draft=draft(code="handled", trigger=SurveyTrigger.CASE,
                             questions=["csat", "effort", "comment"]), now=NOW,
    )  # fmt: skip
    case = open_case(
        session,
        case=NewCase(
            channel=CaseChannel.HOTLINE, store_code="S001", category=CaseCategory.FRESHNESS,
            severity=Severity.HIGH, description="sour milk", member_id=ids[0],
        ),
        now=NOW, actor="agent",
    )  # fmt: skip
    assert send_invitations(session, now=NOW, weekly_cap=2, links=LINKS) == {"handled": 0}
    for state in (CaseState.ACKNOWLEDGED, CaseState.RESOLVED, CaseState.CLOSED):
        move_case(session, case_id=case.id, state=state, now=NOW, actor="agent")
    assert send_invitations(session, now=NOW, weekly_cap=2, links=LINKS) == {"handled": 1}
    assert send_invitations(session, now=NOW, weekly_cap=2, links=LINKS) == {"handled": 0}
    invitation = invited(session)[0]
    assert invitation.case_id == case.id
    answer_survey(session, invitation_id=invitation.id, answers={"csat": 2, "effort": 3}, now=NOW)
    kept = list_responses(session, case_id=case.id)
    assert [(r.csat, r.effort) for r in kept] == [(2, 3)]


def test_erasing_a_member_blanks_their_words_and_keeps_their_scores(session: Session) -> None:
    invitation = one_invitation(session)
    answer_survey(session, invitation_id=invitation.id, answers=GOOD, now=NOW)
    exported = export_member(session, member_id=invitation.member_id)
    assert [a["comment"] for a in exported["survey_answers"]] == ["好"]  # type: ignore[index]
    erase_member(session, member_id=invitation.member_id, now=NOW)
    (kept,) = list_responses(session, member_id=invitation.member_id)
    assert (kept.comment, kept.nps) == ("", 9)
    assert session.scalar(select(func.count()).select_from(SurveyInvitation)) == 5
