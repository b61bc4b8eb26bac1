"""The pure rules of a case: which state may follow which, and the service-level clock,
which runs only in the business hours of the responsible store and stops while the case
waits for the customer.

Times are aware datetimes; a store's opening hours are wall-clock times in its own zone, so
a day of 9:00 to 21:00 is twelve hours also on the day the clocks change.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from regulars.errors import Conflict, InvalidInput


class CaseState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"  # the clock stops
    RESOLVED = "resolved"
    CLOSED = "closed"


S = CaseState
MOVES: Mapping[CaseState, frozenset[CaseState]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_FOR_CUSTOMER, S.RESOLVED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.WAITING_FOR_CUSTOMER, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING_FOR_CUSTOMER, S.RESOLVED}),
    S.WAITING_FOR_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # back to work: reopened
    S.CLOSED: frozenset({S.IN_PROGRESS}),  # reopened
}
RESPONDED = frozenset(MOVES) - {S.NEW}  # any move out of "new" is the first response


class StateChangeNotAllowed(Conflict):
    code = "state_change_not_allowed"


def check_move(current: CaseState, new: CaseState) -> None:
    if new not in MOVES[current]:
        allowed = ", ".join(sorted(MOVES[current]))
        raise StateChangeNotAllowed(
            f"a case that is {current} may become {allowed}, not {new}", field="state"
        )


Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class BusinessHours:
    """When a store's people work on cases: opening hours by weekday (0 is Monday; a
    weekday left out is closed; a close of 00:00 is midnight at the end of the day), and
    the public holidays it is closed on, in its time zone."""

    zone: ZoneInfo
    hours: Mapping[int, tuple[time, time]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.hours:
            raise InvalidInput("business hours need at least one open day", field="hours")
        for weekday, (opens, closes) in self.hours.items():
            if not 0 <= weekday <= 6:
                raise InvalidInput(f"weekday {weekday} is not 0 (Monday) to 6", field="hours")
            if closes != time(0) and closes <= opens:
                raise InvalidInput(
                    f"on weekday {weekday} the day closes ({closes}) before it opens ({opens})",
                    field="hours",
                )

    def day(self, on: date) -> Interval | None:
        """That local day's opening, in UTC, or None when closed."""
        if on in self.holidays or on.weekday() not in self.hours:
            return None
        opens, closes = self.hours[on.weekday()]
        start = datetime.combine(on, opens, tzinfo=self.zone)
        end = datetime.combine(on + timedelta(days=1) if closes == time(0) else on, closes,
                               tzinfo=self.zone)  # fmt: skip
        return _utc(start), _utc(end)

    def open_from(self, moment: datetime) -> Iterator[Interval]:
        """The open intervals from `moment` on, clipped to it, in order, without end."""
        local = moment.astimezone(self.zone).date() - timedelta(days=1)  # an overnight day
        while True:
            found = self.day(local)
            if found is not None and found[1] > moment:
                yield max(found[0], moment), found[1]
            local += timedelta(days=1)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _without(open_at: Interval, pauses: Sequence[Interval]) -> Iterator[Interval]:
    """`open_at` less the pauses (sorted by start, not overlapping)."""
    start, end = open_at
    for pause_start, pause_end in pauses:
        if pause_end <= start or pause_start >= end:
            continue
        if pause_start > start:
            yield start, pause_start
        start = max(start, pause_end)
        if start >= end:
            return
    yield start, end


def merged(pauses: Sequence[Interval]) -> list[Interval]:
    """Pauses sorted and joined where they touch or overlap."""
    joined: list[Interval] = []
    for start, end in sorted(pauses):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def business_time(
    hours: BusinessHours, start: datetime, end: datetime, pauses: Sequence[Interval] = ()
) -> timedelta:
    """How much of the span from `start` to `end` is open and not paused."""
    counted = timedelta(0)
    stops = merged(pauses)
    if end <= start:
        return counted
    for opened in hours.open_from(start):
        if opened[0] >= end:
            break
        for piece_start, piece_end in _without((opened[0], min(opened[1], end)), stops):
            counted += piece_end - piece_start
    return counted


YEARS_AHEAD = 5  # a target further than this in open time is a mistake in the policy


def deadline(
    hours: BusinessHours, start: datetime, target: timedelta, pauses: Sequence[Interval] = ()
) -> datetime:
    """The moment when `target` of open, unpaused time has passed since `start`. A pause
    still running is given with its end at the moment it is looked at: the deadline moves
    on as long as the case keeps waiting."""
    if target <= timedelta(0):
        return start
    left = target
    stops = merged(pauses)
    horizon = start + timedelta(days=366 * YEARS_AHEAD)
    for opened in hours.open_from(start):
        if opened[0] > horizon:
            break
        for piece_start, piece_end in _without(opened, stops):
            if piece_end - piece_start >= left:
                return piece_start + left
            left -= piece_end - piece_start
    raise InvalidInput(
        f"a target of {target} open time is not reached within {YEARS_AHEAD} years",
        field="target",
    )
