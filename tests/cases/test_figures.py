"""Complaint figures on small chains worked through the real services, each figure checked
by hand: business hours in the comments, intervals against published values."""

import math
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.cases.figures import (
    BoughtAgain,
    CategoryServiceLevels,
    Compliance,
    HandlingTime,
    RepeatComplainants,
    StoreCategory,
    Tally,
    complaint_figures,
    wilson_interval,
)
from regulars.cases.hours import set_opening_hours
from regulars.cases.levels import set_policy, sla_standing
from regulars.cases.models import Case, CaseCategory, CaseChannel, Severity
from regulars.cases.rules import CaseState
from regulars.cases.service import NewCase, move_case, open_case
from regulars.errors import InvalidInput
from regulars.members.models import Member
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipt
from tests.factories import make_member, make_product, make_program, make_store

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRESH, PRICE = CaseCategory.FRESHNESS, CaseCategory.PRICE_ERROR
HOTLINE, APP = CaseChannel.HOTLINE, CaseChannel.APP
S = CaseState


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def chain(session: Session) -> Session:
    """Two stores open 9 to 18 on weekdays; fresh food answered in 2 business hours and put
    right in 8, price errors (low) in 1 and 4; other complaints have no service level."""
    make_program(session)
    make_store(session, "S001")
    make_store(session, "S002")
    make_product(session, sku="MILK", price="12.00", subcategory="DAIRY")
    set_opening_hours(session, store_code=None, hours={d: (time(9), time(18)) for d in range(5)})
    for category, severity, answer, resolve in ((FRESH, Severity.HIGH, 2, 8),
                                                (PRICE, Severity.LOW, 1, 4)):  # fmt: skip
        set_policy(
            session, category=category, severity=severity, first_response=timedelta(hours=answer),
            resolution=timedelta(hours=resolve), now=at(1, 1, 0),
        )  # fmt: skip
    return session


def complain(
    session: Session,
    opened: datetime,
    moves: Sequence[tuple[datetime, CaseState]] = (),
    *,
    store: str = "S001",
    channel: CaseChannel = HOTLINE,
    category: CaseCategory = FRESH,
    member: Member | None = None,
) -> Case:
    severity = {FRESH: Severity.HIGH, PRICE: Severity.LOW}.get(category, Severity.MEDIUM)
    new = NewCase(
        channel=channel, store_code=store, category=category, severity=severity,
        description="The milk was sour.", member_id=member.id if member else None,
    )  # fmt: skip
    case = open_case(session, case=new, now=opened, actor="agent")
    for when, state in moves:
        move_case(session, case_id=case.id, state=state, now=when, actor="agent")
    return case


def buy(session: Session, member: Member, sold_at: datetime) -> None:
    record_receipt(
        session,
        receipt=ReceiptIn(
            store_code="S001", pos_receipt_no=f"P{member.id}-{sold_at:%Y%m%d%H%M}",
            member_card=member.card_number, sold_at=sold_at,
            lines=[ReceiptLineIn(sku="MILK", quantity=Decimal(1), unit_price=Decimal(12))],
        ),
        now=sold_at, limits=Limits(),
    )  # fmt: skip


def test_volumes_handling_times_and_service_levels_of_a_quarter(chain: Session) -> None:
    m1, m2, m3 = (make_member(chain, f"1380013800{n}") for n in range(3))
    complain(chain, at(7, 31, 23), category=CaseCategory.OTHER)  # before the period
    complain(chain, at(8, 3, 10), channel=CaseChannel.STORE_DESK,
             category=CaseCategory.CHECKOUT_WAIT)  # no service level, never answered  # fmt: skip
    # Monday 5 October: answered in 1 hour, resolved in 6; both on time.
    complain(chain, at(10, 5, 9), [(at(10, 5, 10), S.IN_PROGRESS), (at(10, 5, 15), S.RESOLVED)],
             member=m1)  # fmt: skip
    # Tuesday 17:00: Tuesday 17-18 and Wednesday 9-10 make the answer's 2 hours, due then
    # exactly (on time); resolved Thursday 12:00 after 1 + 9 + 3 = 13 hours (due in 8: late).
    complain(chain, at(10, 6, 17), [(at(10, 7, 10), S.IN_PROGRESS), (at(10, 8, 12), S.RESOLVED)],
             channel=APP, member=m1)  # fmt: skip
    # Wednesday 9:00 at S002: answered after 3 hours (late); the customer kept it waiting
    # from 13:00 to Thursday 9:00, so 4 + 2 = 6 hours to the resolution, due Thursday 13:00.
    complain(chain, at(10, 7, 9), [
        (at(10, 7, 12), S.IN_PROGRESS), (at(10, 7, 13), S.WAITING_FOR_CUSTOMER),
        (at(10, 8, 9), S.IN_PROGRESS), (at(10, 8, 11), S.RESOLVED),
    ], store="S002", member=m2)  # fmt: skip
    # Friday: a price error nobody answered, long past due; and one with no service level
    # resolved (and so answered) after an hour.
    complain(chain, at(10, 9, 9), store="S002", channel=CaseChannel.WECHAT, category=PRICE)
    complain(chain, at(10, 9, 10), [(at(10, 9, 11), S.RESOLVED)],
             channel=CaseChannel.STORE_DESK, category=CaseCategory.OTHER, member=m3)  # fmt: skip
    # Sunday 1 November 00:30 in Shanghai, still October in UTC; answer due Monday 10:00.
    complain(chain, at(11, 1, 0, 30), category=PRICE)
    complain(chain, at(11, 2, 0))  # at the end of the period: not in it

    now = at(11, 2, 9, 30)
    figures = complaint_figures(chain, since=at(8, 1, 0), until=at(11, 2, 0), now=now)

    assert figures.cases == 7
    assert figures.by_month == (
        Tally("2026-08", 1, 1 / 7), Tally("2026-09", 0, 0.0), Tally("2026-10", 5, 5 / 7),
        Tally("2026-11", 1, 1 / 7),
    )  # fmt: skip
    assert [(t.key, t.cases) for t in figures.by_channel] == [
        ("hotline", 3), ("store_desk", 2), ("app", 1), ("wechat", 1),
    ]  # fmt: skip
    assert figures.top_categories == (
        StoreCategory("S001", FRESH, 2, 0.4),
        StoreCategory("S001", CaseCategory.CHECKOUT_WAIT, 1, 0.2),
        StoreCategory("S001", CaseCategory.OTHER, 1, 0.2),
        StoreCategory("S001", PRICE, 1, 0.2),
        StoreCategory("S002", FRESH, 1, 0.5),
        StoreCategory("S002", PRICE, 1, 0.5),
    )
    # Answers after 1, 2, 3 and 1 hours; resolutions after 6, 13, 6 and 1. The 90th
    # percentile sits 0.7 of the way from the third to the fourth of four.
    answer, resolution = figures.first_response, figures.resolution
    assert (answer.cases, answer.median_hours, answer.p90_hours) == (4, 1.5, pytest.approx(2.7))
    assert (resolution.cases, resolution.median_hours) == (4, 6.0)
    assert resolution.p90_hours == pytest.approx(6 + 0.7 * 7)
    # Answers: two on time, one late, one never and past due; the one not yet due (Monday
    # 10:00, it is 9:30) is left out. Resolutions: on time, late, on time, past due.
    assert figures.service_levels.first_response == Compliance(2, 2, 0.5)
    assert figures.service_levels.resolution == Compliance(2, 2, 0.5)
    assert figures.service_levels_by_category == (
        CategoryServiceLevels(FRESH, Compliance(2, 1, 2 / 3), Compliance(2, 1, 2 / 3)),
        CategoryServiceLevels(PRICE, Compliance(0, 1, 0.0), Compliance(0, 1, 0.0)),
    )
    assert figures.without_policy == 2
    assert figures.repeat_complainants == RepeatComplainants(3, 1, 2, 2 / 7)
    assert (figures.after_handling.on_time.members, figures.after_handling.late.members) == (0, 0)
    assert figures.after_handling.difference is None  # no 90-day window has ended yet

    # The same verdicts as each case's own standing in the levels module, case by case.
    in_period = select(Case).where(Case.opened_at >= at(8, 1, 0), Case.opened_at < at(11, 2, 0))
    standings = [sla_standing(chain, case_id=c.id, now=now) for c in chain.scalars(in_period)
                 if c.category in (FRESH, PRICE)]  # fmt: skip
    for name in ("first_response", "resolution"):
        clocks = [getattr(s, name) for s in standings]
        met = sum(c.done_at is not None and not c.late(now) for c in clocks)
        breached = sum(c.late(now) for c in clocks)
        assert getattr(figures.service_levels, name) == Compliance(met, breached, 0.5)


def test_figures_of_one_store_and_of_an_empty_period(chain: Session) -> None:
    member = make_member(chain)
    complain(chain, at(10, 5, 9), [(at(10, 5, 10), S.RESOLVED)], member=member)
    s002 = complain(chain, at(10, 5, 9), store="S002", member=member)
    figures = complaint_figures(chain, since=at(10, 1, 0), until=at(11, 1, 0), now=at(10, 5, 12),
                                store_ids=[s002.store_id])  # fmt: skip
    assert figures.cases == 1
    assert figures.top_categories == (StoreCategory("S002", FRESH, 1, 1.0),)
    assert figures.service_levels.first_response == Compliance(0, 1, 0.0)  # due 11:00
    assert figures.service_levels.resolution == Compliance(0, 0, None)  # due 17:00
    assert figures.repeat_complainants == RepeatComplainants(1, 0, 0, 0.0)

    empty = complaint_figures(chain, since=at(1, 1, 0), until=at(2, 1, 0), now=at(10, 5, 12))
    assert (empty.cases, empty.by_month, empty.by_channel, empty.top_categories) == (0, (), (), ())
    assert empty.first_response == HandlingTime(0, None, None)
    assert empty.service_levels.resolution == Compliance(0, 0, None)
    assert empty.repeat_complainants == RepeatComplainants(0, 0, 0, None)
    assert empty.after_handling.on_time == BoughtAgain(0, 0, None, None, None)


def test_complainants_handled_late_come_back_less_often(chain: Session) -> None:
    p1, p2, p3, p4, p5, p6 = (make_member(chain, f"1390013900{n}") for n in range(6))
    # Monday 5 January; resolved within the hour is on time, two days later is late.
    on_time = [(at(1, 5, 10), S.RESOLVED)]
    late = [(at(1, 5, 10), S.IN_PROGRESS), (at(1, 7, 10), S.RESOLVED)]
    complain(chain, at(1, 5, 9), on_time, member=p1)
    buy(chain, p1, at(1, 15, 10))  # ten days later: came back
    complain(chain, at(1, 5, 9), on_time, member=p2)
    buy(chain, p2, at(1, 2, 10))  # before the case
    buy(chain, p2, at(1, 5, 10) + timedelta(days=91))  # a day after the window
    complain(chain, at(1, 5, 9), on_time, member=p3)
    complain(chain, at(1, 12, 9), [(at(1, 12, 10), S.IN_PROGRESS), (at(1, 14, 10), S.RESOLVED)],
             member=p3)  # back a week later, handled late: counts once, as late  # fmt: skip
    buy(chain, p3, at(2, 1, 10))
    complain(chain, at(1, 5, 9), member=p4)  # never answered: late, its window from opening
    buy(chain, p4, at(1, 5, 9) + timedelta(days=95))
    complain(chain, at(1, 5, 9), late, member=p5)  # and never bought again
    complain(chain, at(6, 1, 9), [(at(6, 1, 10), S.RESOLVED)], member=p6)  # window still open
    buy(chain, p6, at(6, 5, 10))

    figures = complaint_figures(chain, since=at(1, 1, 0), until=at(7, 1, 0), now=at(7, 1, 0))

    after = figures.after_handling
    assert after.window_days == 90
    assert after.on_time == BoughtAgain(2, 1, 0.5, *wilson_interval(1, 2))
    assert after.late == BoughtAgain(3, 1, 1 / 3, *wilson_interval(1, 3))
    assert after.difference is not None
    error = math.sqrt(0.5 * 0.5 / 2 + (1 / 3) * (2 / 3) / 3)
    assert after.difference.value == pytest.approx(1 / 6)
    assert after.difference.low == pytest.approx(1 / 6 - 1.959964 * error)
    assert after.difference.high == pytest.approx(1 / 6 + 1.959964 * error)
    assert figures.repeat_complainants == RepeatComplainants(6, 1, 2, 2 / 7)


@pytest.mark.parametrize(
    ("hits", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_the_wilson_interval_matches_newcombes_worked_examples(
    hits: int, n: int, low: float, high: float
) -> None:
    # Newcombe (1998), Statistics in Medicine 17, 857-872, table I, method 3.
    found = wilson_interval(hits, n)
    assert found == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))
    assert wilson_interval(0, 0) == (None, None)


def test_a_period_must_be_a_period_of_aware_moments(chain: Session) -> None:
    with pytest.raises(InvalidInput, match="ends after it starts"):
        complaint_figures(chain, since=at(2, 1, 0), until=at(1, 1, 0), now=at(2, 1, 0))
    with pytest.raises(InvalidInput, match="time zone"):
        complaint_figures(chain, since=datetime(2026, 1, 1), until=at(2, 1, 0), now=at(2, 1, 0))
