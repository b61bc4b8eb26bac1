"""Journeys: who each trigger lets in, once per occasion; what the steps do; the results."""

import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.audit.models import AuditEntry
from regulars.campaigns.models import Group, OutboxMessage
from regulars.cases.hours import set_opening_hours
from regulars.cases.models import CaseCategory, CaseChannel, Severity
from regulars.cases.rules import CaseState
from regulars.cases.service import NewCase, move_case, open_case
from regulars.checkout.schemas import CartLine, SaleIn
from regulars.checkout.service import commit_sale
from regulars.coupons.models import Coupon, CouponKind
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.coupons.service import add_template
from regulars.db import run_in_transaction
from regulars.errors import Conflict, RegularsError
from regulars.journeys.models import JourneyEntry
from regulars.journeys.service import (
    add_holiday,
    create_journey,
    journey_results,
    run_journeys,
    set_active,
)
from regulars.members.models import ConsentChannel, Member
from regulars.members.service import record_consent
from regulars.points.models import EntryKind, PointEntry
from regulars.points.service import add_points
from regulars.sales.rules import Limits
from regulars.tiers.models import MemberTier
from tests.conftest import Database
from tests.factories import NOW, make_member, make_product, make_program, make_store

MARGIN = Decimal("0.2")  # the chain's gross margin

DAY = timedelta(days=1)


def sale(
    session: Session, buyer: Member, number: str, at: datetime, bags: int = 1, coupon: str = ""
) -> None:
    """Rice at 60.00 a bag, through the till: points and tier spend as in a shop."""
    cart = SaleIn(
        store_code="S001",
        pos_receipt_no=number,
        sold_at=at,
        member_card=buyer.card_number,
        lines=[CartLine(sku="RICE", quantity=Decimal(bags))],
        coupons=[coupon] if coupon else [],
    )
    commit_sale(session, sale=cart, now=at, limits=Limits())


def shop(session: Session) -> None:
    make_program(session)
    make_store(session, "S001")
    make_product(session, sku="RICE", price="60.00", subcategory="RICE")
    add_template(
        session,
        now=NOW,
        data=CouponTemplateCreate(
            code="HELLO5", name="5 off", kind=CouponKind.AMOUNT_OFF, amount=Decimal(5),
            per_member_limit=1, total_quantity=3,
        ),
    )  # fmt: skip


def member(session: Session, n: int, **fields: object) -> Member:
    found = make_member(session, f"1380013{n:04d}", name=f"Member {n}", **fields)
    record_consent(
        session, member_id=found.id, channel=ConsentChannel.SMS, granted=True, source="t", now=NOW
    )
    return found


def run(session: Session, at: object = NOW) -> dict[str, object]:
    done = run_journeys(session, now=at, weekly_cap=5, links=None)  # type: ignore[arg-type]
    return {r.journey: r for r in done}


def journey(session: Session, text: str, at: object = NOW) -> None:
    create_journey(session, definition=text, now=at, actor="marketing lead")  # type: ignore[arg-type]


WELCOME = """
name = "welcome"
trigger = "welcome"
control_share = 0
[[steps]]
do = "coupon"
template = "HELLO5"
[[steps]]
do = "send"
channel = "sms"
body = "{name}，欢迎！券码 {coupon_code}"
translations.en.body = "Welcome, {name}! Your coupon: {coupon_code}"
[[steps]]
do = "wait"
days = 7
[[steps]]
do = "branch"
when = "bought"
then = "end"
[[steps]]
do = "points"
points = 50
"""


def test_a_welcome_greets_new_members_once_in_their_language_and_follows_up(
    session: Session,
) -> None:
    shop(session)
    member(session, 1, joined_at=NOW - DAY)  # joined before the journey: not greeted
    journey(session, WELCOME)
    ann = member(session, 2, joined_at=NOW + timedelta(hours=1))
    bo = member(session, 3, joined_at=NOW + timedelta(hours=1), language="en")
    later = NOW + timedelta(hours=2)
    first = run(session, later)["welcome"]
    assert (first.entered, first.held_back) == (2, 0)  # type: ignore[attr-defined]
    assert first.steps == {"coupon issued": 2, "sent": 2, "waiting": 2}  # type: ignore[attr-defined]
    bodies = dict(session.execute(select(OutboxMessage.member_id, OutboxMessage.body)).all())
    codes = dict(session.execute(select(Coupon.member_id, Coupon.code)).all())
    assert bodies[ann.id] == f"Member 2，欢迎！券码 {codes[ann.id]}"
    assert bodies[bo.id] == f"Welcome, Member 3! Your coupon: {codes[bo.id]}"
    assert run(session, later + timedelta(hours=1))["welcome"].entered == 0  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2

    sale(session, ann, "1", NOW + 3 * DAY, coupon=codes[ann.id])
    follow_up = run(session, NOW + 8 * DAY)["welcome"]
    assert follow_up.steps == {"yes": 1, "no": 1, "50 points": 1}  # type: ignore[attr-defined]
    bonus = session.scalars(
        select(PointEntry).where(PointEntry.kind == EntryKind.BONUS, PointEntry.member_id == bo.id)
    ).one()
    assert (bonus.points, bonus.reason, bonus.actor) == (50, "journey:welcome", "marketing lead")
    audited = session.scalars(select(AuditEntry.object).where(AuditEntry.role == "journey")).all()
    assert audited == [f"member_id={bo.id},points=50"]
    outcomes = dict(session.execute(select(JourneyEntry.member_id, JourneyEntry.outcome)).all())
    assert outcomes == {ann.id: "ended by a branch", bo.id: "completed"}
    found = journey_results(session, name="welcome", now=NOW + 9 * DAY, gross_margin=MARGIN)
    assert found.cost == Decimal("5.50")  # the coupon's 5 off at the till, 50 points at 1%
    assert found.treatment.coupons_redeemed == 1
    assert found.steps[5] == {"50 points": 1}


def test_a_control_group_enters_but_gets_nothing_and_the_results_compare(
    session: Session,
) -> None:
    shop(session)
    members = [member(session, n, birth_date=date(1990, 6, 1)) for n in range(60)]
    journey(
        session,
        'name = "birthday"\ntrigger = "birthday"\ncontrol_share = 0.5\nwindow_days = 10\n'
        '[[steps]]\ndo = "send"\nchannel = "sms"\nbody = "Happy birthday, {name}"\n',
    )
    done = run(session)["birthday"]
    held = done.held_back  # type: ignore[attr-defined]
    assert 15 <= held <= 45
    groups = dict(session.execute(select(JourneyEntry.member_id, JourneyEntry.group)).all())
    messaged = set(session.scalars(select(OutboxMessage.member_id)))
    assert messaged == {m for m, g in groups.items() if g is Group.TREATMENT}
    assert run(session, NOW + 5 * DAY)["birthday"].entered == 0  # type: ignore[attr-defined]
    buyers = [m for m in members if groups[m.id] is Group.TREATMENT][:6]
    for n, buyer in enumerate(buyers):
        sale(session, buyer, f"b{n}", NOW + 2 * DAY)
    sale(session, buyers[0], "late", NOW + 11 * DAY)  # after the window
    found = journey_results(session, name="birthday", now=NOW + 20 * DAY, gross_margin=MARGIN)
    assert found.treatment.members == 60 - held
    assert found.control.members == held
    assert (found.treatment.buyers, found.treatment.spend) == (6, Decimal("360.00"))
    assert found.control.buyers == 0
    assert found.steps == {1: {"sent": 60 - held}}
    assert found.conversion.value == pytest.approx(6 / (60 - held))


def test_each_trigger_finds_its_members_once_per_occasion(session: Session) -> None:
    shop(session)
    lapsing, away, silver, newcomer, other = (member(session, n) for n in range(5))
    add_points(
        session, member_id=lapsing.id, points=300, kind=EntryKind.BONUS, now=NOW - DAY,
        available_at=NOW - DAY, expires_at=NOW + 20 * DAY,
    )  # fmt: skip
    sale(session, away, "1", NOW - 70 * DAY)
    sale(session, other, "2", NOW - 5 * DAY)
    review = (NOW + 10 * DAY).date()
    session.add(MemberTier(member_id=silver.id, tier_code="silver", since=NOW, review_on=review))
    sale(session, silver, "3", NOW - 3 * DAY, bags=7)  # 420.00
    add_holiday(session, name="Mid-Autumn", day=(NOW + 5 * DAY).date())
    for name, trigger, extra, body in (
        ("lapse", "points_expiring", "", "{expiring_points} points lapse by {expiry_date}"),
        ("back", "win_back", "days = 60", "{days_away} days away"),
        ("keep", "tier_drop", "", "spend {spend_needed} more by {review_date} for {keep_tier}"),
        ("moon", "holiday", 'holiday = "Mid-Autumn"', "{holiday} on {holiday_date}"),
        ("first", "first_purchase", "", "thank you, {name}"),
    ):
        journey(
            session,
            f'name = "{name}"\ntrigger = "{trigger}"\ncontrol_share = 0\n{extra}\n'
            f'[[steps]]\ndo = "send"\nchannel = "sms"\nbody = "{body}"\n',
        )
    sale(session, newcomer, "4", NOW + DAY)
    done = run(session, NOW + 2 * DAY)
    assert {name: r.entered for name, r in done.items()} == {  # type: ignore[attr-defined]
        "lapse": 1, "back": 1, "keep": 1, "moon": 5, "first": 1,
    }  # fmt: skip
    bodies = {
        (j, m): b
        for j, m, b in session.execute(
            select(OutboxMessage.journey_id, OutboxMessage.member_id, OutboxMessage.body)
        )
    }
    said = set(bodies.values())
    expiry = (NOW + 20 * DAY).astimezone(lapsing.joined_at.tzinfo).date()
    assert f"300 points lapse by {expiry}" in said
    assert "72 days away" in said
    assert f"spend 580.00 more by {review} for Silver" in said
    assert f"Mid-Autumn on {(NOW + 5 * DAY).date()}" in said
    assert "thank you, Member 3" in said
    again = run(session, NOW + 3 * DAY)
    assert sum(r.entered for r in again.values()) == 0  # type: ignore[attr-defined]


def test_a_paused_journey_lets_nobody_in_and_resumes_from_now(session: Session) -> None:
    shop(session)
    journey(session, WELCOME)
    set_active(session, name="welcome", active=False, now=NOW)
    member(session, 1, joined_at=NOW + DAY)
    assert run(session, NOW + 2 * DAY) == {}
    set_active(session, name="welcome", active=True, now=NOW + 3 * DAY)
    member(session, 2, joined_at=NOW + 4 * DAY)
    assert run(session, NOW + 5 * DAY)["welcome"].entered == 1  # type: ignore[attr-defined]


def test_a_coupon_that_runs_out_is_reported_and_the_journey_goes_on(session: Session) -> None:
    shop(session)
    journey(session, WELCOME)
    for n in range(4):  # the template has 3 coupons
        member(session, n, joined_at=NOW + DAY)
    done = run(session, NOW + 2 * DAY)["welcome"]
    assert done.steps == {  # type: ignore[attr-defined]
        "no coupon: HELLO5: fewer than 4 coupons left": 4, "sent": 4, "waiting": 4,
    }  # fmt: skip
    assert session.scalar(select(func.count()).select_from(Coupon)) == 0


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("{coupon_code}", "{balance}"), r"step 2: the message uses \{balance\}"),
        (('then = "end"', "then = 1"), "step 4 jumps to step 1: a branch jumps ahead"),
        (('trigger = "welcome"', 'trigger = "holiday"'), "a holiday journey names its holiday"),
        (('template = "HELLO5"', 'template = "NOPE"'), "NOPE"),
        (("days = 7", "days = 0"), "steps.2.wait.days: Input should be greater than"),
        (('do = "wait"', 'do = "sleep"'), "steps.2: Input tag 'sleep' found using 'do'"),
    ],
)
def test_a_bad_journey_is_refused_with_the_reason(
    session: Session, change: tuple[str, str], words: str
) -> None:
    shop(session)
    with pytest.raises(RegularsError, match=words):
        journey(session, WELCOME.replace(*change))


def test_a_journey_name_is_used_once(session: Session) -> None:
    shop(session)
    journey(session, WELCOME)
    with pytest.raises(Conflict, match="exists already"):
        journey(session, WELCOME)


def test_two_runs_at_once_let_each_member_in_once_and_give_once(database: Database) -> None:
    def setup(session: Session) -> None:
        shop(session)
        journey(session, WELCOME.replace("days = 7", "days = 1"))
        for n in range(3):
            member(session, n, joined_at=NOW + DAY)

    run_in_transaction(database.sessions, setup)
    start = threading.Barrier(2)
    failures: list[Exception] = []

    def run_now(at: datetime) -> None:
        start.wait(timeout=10)
        try:
            run_in_transaction(
                database.sessions,
                lambda s: run_journeys(s, now=at, weekly_cap=5, links=None),
            )
        except Exception as failure:  # noqa: BLE001 - the test reports any
            failures.append(failure)

    for at in (NOW + 2 * DAY, NOW + 4 * DAY):  # the welcome, then the follow-up
        threads = [threading.Thread(target=run_now, args=(at,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(JourneyEntry)) == 3
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
        assert session.scalar(select(func.count()).select_from(Coupon)) == 3
        bonuses = session.scalars(
            select(PointEntry.points).where(PointEntry.kind == EntryKind.BONUS)
        )
        assert sorted(bonuses) == [50, 50, 50]


def test_a_closed_complaint_starts_its_follow_up_once_per_case(session: Session) -> None:
    shop(session)
    complainant = member(session, 0)
    set_opening_hours(session, store_code=None, hours={d: (time(0), time(0)) for d in range(7)})
    journey(
        session,
        'name = "sorry"\ntrigger = "case_closed"\ncontrol_share = 0\n'
        '[[steps]]\ndo = "send"\nchannel = "sms"\nbody = "about case {case} ({category})"\n',
    )
    cases = []
    for n in range(2):
        case = open_case(
            session,
            case=NewCase(
                channel=CaseChannel.HOTLINE, store_code="S001", category=CaseCategory.DELIVERY,
                severity=Severity.LOW, description=f"late delivery {n}", member_id=complainant.id,
            ),
            now=NOW + DAY,
            actor="agent",
        )  # fmt: skip
        cases.append(case.id)
    assert run(session, NOW + 2 * DAY)["sorry"].entered == 0  # type: ignore[attr-defined]
    for state in (CaseState.ACKNOWLEDGED, CaseState.RESOLVED, CaseState.CLOSED):
        move_case(session, case_id=cases[0], state=state, now=NOW + 2 * DAY, actor="agent")
    assert run(session, NOW + 3 * DAY)["sorry"].entered == 1  # type: ignore[attr-defined]
    assert run(session, NOW + 4 * DAY)["sorry"].entered == 0  # type: ignore[attr-defined]
    said = session.scalars(select(OutboxMessage.body)).all()
    assert said == [f"about case {cases[0]} (delivery)"]
