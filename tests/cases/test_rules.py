"""The service-level clock, by property: it counts only open, unpaused time, across nights,
weekends, holidays, pauses and the change of the clocks; and the workflow's moves."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regulars.cases.rules import (
    MOVES,
    BusinessHours,
    CaseState,
    StateChangeNotAllowed,
    business_time,
    check_move,
    deadline,
)
from regulars.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")  # the clocks change: 29 March and 25 October 2026
WEEKDAYS_9_TO_18 = {d: (time(9), time(18)) for d in range(5)}
SUPERMARKET = {d: (time(8), time(22)) for d in range(7)}
ALL_DAY = {d: (time(0), time(0)) for d in range(7)}

calendars = st.builds(
    BusinessHours,
    zone=st.sampled_from([SHANGHAI, LONDON]),
    hours=st.sampled_from([WEEKDAYS_9_TO_18, SUPERMARKET, ALL_DAY]),
    holidays=st.frozensets(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=20),
)
moments = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 1)).map(
    lambda m: m.replace(tzinfo=UTC)
)
spans = st.timedeltas(timedelta(0), timedelta(days=20))
targets = st.timedeltas(timedelta(minutes=1), timedelta(hours=200))


@st.composite
def pauses(draw: st.DrawFn, start: datetime) -> list[tuple[datetime, datetime]]:
    found = []
    for _ in range(draw(st.integers(0, 3))):
        begin = start + draw(spans)
        found.append((begin, begin + draw(st.timedeltas(timedelta(0), timedelta(days=3)))))
    return found


@settings(max_examples=150, deadline=None)
@given(calendars, moments, targets, st.data())
def test_the_deadline_is_where_exactly_the_target_of_open_time_has_passed(
    hours: BusinessHours, start: datetime, target: timedelta, data: st.DataObject
) -> None:
    stops = data.draw(pauses(start))
    due = deadline(hours, start, target, stops)
    assert business_time(hours, start, due, stops) == target
    assert business_time(hours, start, due - timedelta(seconds=1), stops) < target
    assert deadline(hours, start, target + timedelta(minutes=1), stops) > due


@settings(max_examples=150, deadline=None)
@given(calendars, moments, spans, spans, st.data())
def test_open_time_adds_up_across_any_split(
    hours: BusinessHours, start: datetime, first: timedelta, second: timedelta, data: st.DataObject
) -> None:
    stops = data.draw(pauses(start))
    middle, end = start + first, start + first + second
    whole = business_time(hours, start, end, stops)
    assert whole == business_time(hours, start, middle, stops) + business_time(
        hours, middle, end, stops
    )
    assert whole <= business_time(hours, start, end)  # a pause never adds time
    assert whole <= end - start


@settings(max_examples=100, deadline=None)
@given(calendars, st.dates(date(2026, 1, 2), date(2026, 12, 30)))
def test_a_local_day_counts_its_opening_hours_and_a_closed_day_nothing(
    hours: BusinessHours, day: date
) -> None:
    start = datetime.combine(day, time(0), tzinfo=hours.zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=hours.zone)
    counted = business_time(hours, start, end)
    if day in hours.holidays or day.weekday() not in hours.hours:
        assert counted == timedelta(0)
    elif hours.hours is ALL_DAY:
        elapsed = end.astimezone(UTC) - start.astimezone(UTC)  # 23 or 25 hours at a change
        assert counted == elapsed
    else:
        opens, closes = hours.hours[day.weekday()]
        assert counted == datetime.combine(day, closes) - datetime.combine(day, opens)


def test_across_a_weekend_and_a_holiday_the_clock_waits() -> None:
    hours = BusinessHours(SHANGHAI, WEEKDAYS_9_TO_18, frozenset({date(2026, 10, 5)}))
    friday_five = datetime(2026, 10, 2, 17, tzinfo=SHANGHAI)  # one open hour left that day
    due = deadline(hours, friday_five, timedelta(hours=4))
    # Friday 17-18, Saturday and Sunday closed, Monday the 5th a holiday, Tuesday 9-12.
    assert due == datetime(2026, 10, 6, 12, tzinfo=SHANGHAI)


def test_waiting_for_the_customer_stops_the_clock() -> None:
    hours = BusinessHours(SHANGHAI, SUPERMARKET)
    start = datetime(2026, 6, 1, 10, tzinfo=SHANGHAI)
    waiting = (datetime(2026, 6, 1, 11, tzinfo=SHANGHAI), datetime(2026, 6, 2, 9, tzinfo=SHANGHAI))
    due = deadline(hours, start, timedelta(hours=2), [waiting])
    assert due == datetime(2026, 6, 2, 9, tzinfo=SHANGHAI) + timedelta(hours=1)


def test_the_change_of_the_clocks_keeps_the_wall_clock_hours() -> None:
    hours = BusinessHours(LONDON, SUPERMARKET)
    saturday_night = datetime(2026, 3, 28, 21, tzinfo=LONDON)  # the clocks go forward at 1:00
    due = deadline(hours, saturday_night, timedelta(hours=3))
    assert due == datetime(2026, 3, 29, 10, tzinfo=LONDON)


def test_business_hours_that_cannot_be_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one open day"):
        BusinessHours(SHANGHAI, {})
    with pytest.raises(InvalidInput, match="closes"):
        BusinessHours(SHANGHAI, {0: (time(18), time(9))})


def test_the_workflow_allows_its_moves_and_refuses_the_rest() -> None:
    for current, allowed in MOVES.items():
        for new in CaseState:
            if new in allowed:
                check_move(current, new)
            else:
                with pytest.raises(StateChangeNotAllowed):
                    check_move(current, new)
    check_move(CaseState.CLOSED, CaseState.IN_PROGRESS)  # reopened
