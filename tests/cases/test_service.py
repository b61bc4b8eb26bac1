"""Cases from opening to closing: what is refused, the history kept, and the service levels
in the store's business hours, paused while waiting for the customer."""

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from regulars.cases.hours import NoBusinessHours, add_closed_day, set_opening_hours
from regulars.cases.levels import check_service_levels, set_policy, sla_standing
from regulars.cases.models import CaseCategory, CaseChannel, Severity
from regulars.cases.rules import CaseState, StateChangeNotAllowed
from regulars.cases.service import NewCase, give_goodwill, history, move_case, open_case
from regulars.errors import InvalidInput, RegularsError
from regulars.points.service import balance
from regulars.privacy.service import erase_member, export_member
from tests.cases.conftest import FRIDAY_FIVE, SHANGHAI, WEEKDAYS
from tests.factories import make_member, make_store


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=SHANGHAI)


def complaint(**changes: object) -> NewCase:
    values: dict[str, object] = {
        "channel": CaseChannel.HOTLINE, "store_code": "S001",
        "category": CaseCategory.FRESHNESS, "severity": Severity.HIGH,
        "description": "The milk bought this morning was sour.",
    }  # fmt: skip
    return NewCase(**(values | changes))  # type: ignore[arg-type]


def test_a_case_moves_through_its_workflow_and_keeps_who_did_what(desk: Session) -> None:
    member = make_member(desk, "13800138000")
    case = open_case(desk, case=complaint(member_id=member.id, sku="MILK"), now=FRIDAY_FIVE,
                     actor="agent 7")  # fmt: skip
    assert (case.state, case.queue) == (CaseState.NEW, "S001")
    for when, state in (
        (at(12, 9), CaseState.ACKNOWLEDGED), (at(12, 10), CaseState.RESOLVED),
        (at(12, 11), CaseState.CLOSED), (at(13, 9), CaseState.IN_PROGRESS),
    ):  # fmt: skip
        move_case(desk, case_id=case.id, state=state, now=when, actor="agent 7")
    assert case.first_response_at == at(12, 9)
    assert case.resolved_at is None  # reopened
    with pytest.raises(StateChangeNotAllowed) as refused:
        move_case(desk, case_id=case.id, state=CaseState.NEW, now=at(13, 10), actor="agent 7")
    assert refused.value.code == "state_change_not_allowed"
    events = history(desk, case_id=case.id)
    assert [(e.kind, e.to_state) for e in events] == [
        ("opened", CaseState.NEW), ("state", CaseState.ACKNOWLEDGED),
        ("state", CaseState.RESOLVED), ("state", CaseState.CLOSED),
        ("state", CaseState.IN_PROGRESS),
    ]  # fmt: skip
    assert {e.actor for e in events} == {"agent 7"}


def test_service_levels_count_business_hours_and_stop_while_waiting(desk: Session) -> None:
    add_closed_day(desk, store_code=None, day=at(12, 0).date(), name="a holiday")
    case = open_case(desk, case=complaint(), now=FRIDAY_FIVE, actor="hotline")
    standing = sla_standing(desk, case_id=case.id, now=FRIDAY_FIVE)
    # Friday 17-18, the weekend and Monday (a holiday) closed: Tuesday from 9.
    assert standing.first_response.due == at(13, 10)
    assert standing.resolution.due == at(13, 16)
    move_case(desk, case_id=case.id, state=CaseState.WAITING_FOR_CUSTOMER, now=at(13, 9),
              actor="agent")  # fmt: skip
    waiting = sla_standing(desk, case_id=case.id, now=at(14, 9))
    assert waiting.resolution.paused
    assert waiting.resolution.due == at(14, 16)  # a whole open day of waiting added
    assert waiting.first_response.done_at == at(13, 9)
    assert not waiting.first_response.late(at(14, 9))
    move_case(desk, case_id=case.id, state=CaseState.IN_PROGRESS, now=at(14, 9), actor="agent")
    set_policy(
        desk, category=CaseCategory.FRESHNESS, severity=Severity.HIGH,
        first_response=timedelta(hours=1), resolution=timedelta(hours=4), now=at(14, 9),
    )  # fmt: skip
    stricter = sla_standing(desk, case_id=case.id, now=at(14, 13))
    assert stricter.resolution.due == at(14, 12)  # the open case is held to the new policy
    assert stricter.resolution.late(at(14, 13))


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"store_code": "S999"}, "unknown_store"),
        ({"receipt_id": 12345}, "receipt_not_found"),
        ({"sku": "NOPE"}, "unknown_sku"),
        ({"member_id": 99999}, "member_not_found"),
        ({"description": "   "}, "invalid_input"),
    ],
)
def test_a_case_naming_what_does_not_exist_is_refused(
    desk: Session, changes: dict[str, object], code: str
) -> None:
    with pytest.raises(RegularsError) as refused:
        open_case(desk, case=complaint(**changes), now=FRIDAY_FIVE, actor="hotline")
    assert refused.value.code == code


def test_service_levels_need_business_hours_and_sense(session: Session) -> None:
    make_store(session, "S001")
    with pytest.raises(NoBusinessHours):
        set_policy(
            session, category=CaseCategory.OTHER, severity=Severity.LOW,
            first_response=timedelta(hours=1), resolution=timedelta(hours=2), now=FRIDAY_FIVE,
        )  # fmt: skip
    with pytest.raises(NoBusinessHours):
        open_case(session, case=complaint(), now=FRIDAY_FIVE, actor="hotline")
    set_opening_hours(session, store_code=None, hours=WEEKDAYS)
    with pytest.raises(InvalidInput, match="before the resolution"):
        set_policy(
            session, category=CaseCategory.OTHER, severity=Severity.LOW,
            first_response=timedelta(hours=3), resolution=timedelta(hours=2), now=FRIDAY_FIVE,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="closes"):
        set_opening_hours(session, store_code="S001", hours={0: (time(18), time(9))})


def test_a_members_cases_are_exported_and_their_words_go_with_an_erasure(desk: Session) -> None:
    member = make_member(desk, "13800138000")
    case = open_case(desk, case=complaint(member_id=member.id), now=FRIDAY_FIVE, actor="agent")
    move_case(desk, case_id=case.id, state=CaseState.IN_PROGRESS, now=at(12, 9), actor="agent",
              note="Called Ms Li back on 13800138000")  # fmt: skip
    [exported] = export_member(desk, member_id=member.id)["cases"]
    assert exported["description"] == "The milk bought this morning was sour."
    erase_member(desk, member_id=member.id, now=at(12, 10))
    desk.refresh(case)
    assert case.description == "erased"
    assert all(event.note == "" for event in history(desk, case_id=case.id))
    assert case.category is CaseCategory.FRESHNESS  # what the analyses count stays


def counted(desk: Session, now: datetime) -> tuple[int, int]:
    """Warnings and breaches the check writes at `now`."""
    done = check_service_levels(desk, now=now)
    return done.warned, done.breached


def test_the_check_warns_before_a_breach_and_escalates_after_each_once(desk: Session) -> None:
    case = open_case(desk, case=complaint(), now=FRIDAY_FIVE, actor="hotline")
    # First response due Monday 10:00 (Friday 17-18, then Monday from 9); a warning when a
    # fifth of its two hours is left.
    assert counted(desk, at(12, 9)) == (0, 0)
    warned = check_service_levels(desk, now=at(12, 9) + timedelta(minutes=40))
    assert (warned.warned, warned.breached) == (1, 0)
    assert [(a.kind, a.note) for a in warned.alerts] == [
        ("warning", "first response due at 2026-10-12 10:00")
    ]
    assert counted(desk, at(12, 9) + timedelta(minutes=50)) == (0, 0)
    assert counted(desk, at(12, 11)) == (0, 1)
    assert counted(desk, at(12, 12)) == (0, 0)
    told = [(e.kind, e.note) for e in history(desk, case_id=case.id) if e.actor == "sla check"]
    due = "2026-10-12 10:00"
    assert told == [
        ("warning", f"first response due at {due}"),
        ("breach", f"first response was due at {due}"),
    ]
    move_case(desk, case_id=case.id, state=CaseState.WAITING_FOR_CUSTOMER, now=at(12, 12),
              actor="agent")  # fmt: skip
    assert counted(desk, at(20, 12)) == (0, 0)  # the clock is stopped


def test_goodwill_needs_a_member_a_reason_and_stays_within_the_cap(desk: Session) -> None:
    anonymous = open_case(desk, case=complaint(), now=FRIDAY_FIVE, actor="agent")
    with pytest.raises(InvalidInput, match="this case has none"):
        give_goodwill(desk, case_id=anonymous.id, points=100, coupon_template=None,
                      reason="sorry", cap=500, now=FRIDAY_FIVE, actor="agent")  # fmt: skip
    member = make_member(desk, "13800138000")
    case = open_case(desk, case=complaint(member_id=member.id), now=FRIDAY_FIVE, actor="agent")
    for points, reason, words in ((501, "sorry", "0 to 500"), (0, "sorry", "points, a coupon"),
                                  (50, "", "say why")):  # fmt: skip
        with pytest.raises(InvalidInput, match=words):
            give_goodwill(desk, case_id=case.id, points=points, coupon_template=None,
                          reason=reason, cap=500, now=FRIDAY_FIVE, actor="agent")  # fmt: skip
    give_goodwill(desk, case_id=case.id, points=300, coupon_template=None, reason="sour milk",
                  cap=500, now=FRIDAY_FIVE, actor="agent")  # fmt: skip
    assert balance(desk, member_id=member.id, now=FRIDAY_FIVE).total == 300
