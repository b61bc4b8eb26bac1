from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from regulars.errors import InvalidInput
from regulars.members import service
from regulars.members.models import ConsentChannel
from regulars.members.rules import is_valid_card_number
from regulars.members.schemas import MemberCreate, MemberUpdate
from tests.factories import NOW, ZONE, make_member, make_store


def test_enrolment_normalises_the_phone_and_issues_a_valid_card(session: Session) -> None:
    member = make_member(session, phone="138 0013 8000", email="Li.Na@Example.com")
    assert member.phone == "+8613800138000"
    assert member.email == "li.na@example.com"
    assert is_valid_card_number(member.card_number)
    assert len(member.referral_code) == 8


def test_a_phone_already_enrolled_is_reported_not_merged(session: Session) -> None:
    first = make_member(session, phone="13800138000", name="Li Na")
    with pytest.raises(service.DuplicatePhone):
        make_member(session, phone="+86 138 0013 8000", name="Wang Wei")
    assert service.find_member(session, phone="13800138000", region="CN").id == first.id


def test_batch_enrolment_reports_each_problem_in_place(session: Session) -> None:
    make_store(session, "S001")
    outcomes = service.enroll_members(
        session,
        members=[
            MemberCreate(phone="13800138001", join_store_code="S001"),
            MemberCreate(phone="not a phone"),
            MemberCreate(phone="13800138001"),
            MemberCreate(phone="13800138002", join_store_code="NOPE"),
        ],
        now=NOW,
        source="test",
        region="CN",
        zone=ZONE,
    )
    assert [getattr(o, "created", None) for o in outcomes] == [True, None, None, None]
    assert [getattr(o, "code", None) for o in outcomes[1:]] == [
        "invalid_input",
        "duplicate_phone",
        "unknown_store",
    ]


def test_enrolling_the_same_member_again_changes_nothing(session: Session) -> None:
    data = MemberCreate(phone="13800138003", name="Zhang San")
    [first] = service.enroll_members(
        session, members=[data], now=NOW, source="t", region="CN", zone=ZONE
    )
    [again] = service.enroll_members(
        session, members=[data], now=NOW, source="t", region="CN", zone=ZONE
    )
    [other] = service.enroll_members(
        session,
        members=[data.model_copy(update={"name": "Li Si"})],
        now=NOW,
        source="t",
        region="CN",
        zone=ZONE,
    )
    assert again == type(first)(first.id, created=False)  # type: ignore[union-attr]
    assert getattr(other, "code", None) == "member_differs"


def test_consent_history_keeps_every_change_and_the_latest_wins(session: Session) -> None:
    member = make_member(session, consents={ConsentChannel.SMS: True})
    service.record_consent(
        session,
        member_id=member.id,
        channel=ConsentChannel.SMS,
        granted=False,
        source="app",
        now=NOW + timedelta(days=3),
    )
    service.record_consent(
        session,
        member_id=member.id,
        channel=ConsentChannel.WECHAT,
        granted=True,
        source="pos",
        now=NOW + timedelta(days=4),
    )
    history = service.consent_history(session, member_id=member.id)
    assert [(r.channel, r.granted, r.source) for r in history] == [
        (ConsentChannel.SMS, True, "test"),
        (ConsentChannel.SMS, False, "app"),
        (ConsentChannel.WECHAT, True, "pos"),
    ]
    assert history[1].recorded_at == NOW + timedelta(days=3)
    current = service.current_consents(session, member_id=member.id)
    assert current == {
        ConsentChannel.SMS: False,
        ConsentChannel.EMAIL: False,
        ConsentChannel.PUSH: False,
        ConsentChannel.WECHAT: True,
    }


def test_find_by_card_or_email_and_update_refuses_a_taken_phone(session: Session) -> None:
    a = make_member(session, phone="13800138010", email="a@mail.example.cn")
    b = make_member(session, phone="13800138011")
    assert service.find_member(session, card_number=a.card_number, region="CN").id == a.id
    assert service.find_member(session, email="A@mail.example.cn", region="CN").id == a.id
    with pytest.raises(InvalidInput):
        service.find_member(session, region="CN")
    with pytest.raises(service.DuplicatePhone):
        service.update_member(
            session, member_id=b.id, changes=MemberUpdate(phone="13800138010"), region="CN"
        )
    updated = service.update_member(
        session, member_id=b.id, changes=MemberUpdate(name="B"), region="CN"
    )
    assert updated.name == "B"
    assert updated.phone == "+8613800138011"
    with pytest.raises(service.MemberNotFound):
        service.get_member(session, member_id=10**9)


def test_a_card_number_with_a_wrong_check_digit_is_refused(session: Session) -> None:
    with pytest.raises(service.InvalidCardNumber):
        make_member(session, card_number="81234567890123456")


def test_the_desk_finds_members_by_card_phone_e_mail_or_any_spelling_of_a_full_name(
    session: Session,
) -> None:
    li = make_member(session, "13800138100", name="Li  Na", email="li.na@example.com")
    namesake = make_member(session, "13800138101", name="li na")
    other = make_member(session, "13800138102", name="王伟")

    def found(text: str) -> list[int]:
        return [m.id for m in service.search_members(session, text=text, region="CN")]

    assert found("LI NA ") == [li.id, namesake.id]  # names are shared: everyone who bears it
    assert found("王伟") == [other.id]
    assert found("王") == []  # a whole name, not a part: the index knows no more
    assert found(li.card_number) == [li.id]
    assert found("+86 138 0013 8101") == [namesake.id]
    assert found("Li.Na@Example.com") == [li.id]
    assert found("12") == []  # no phone anyone could have
    assert found("not@an@address") == []
    service.update_member(
        session, member_id=other.id, changes=MemberUpdate(name="Wang Wei"), region="CN"
    )
    assert found("王伟") == []
    assert found("wang wei") == [other.id]
