"""Time helpers: the system stores UTC and reasons about business days in a store's zone."""

from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from regulars.errors import InvalidInput


def utc_now() -> datetime:
    """The only place that reads the wall clock; everything below it takes `now` as an argument."""
    return datetime.now(UTC)


def as_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    """A naive moment is read as local time in `zone`; an aware one is converted."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def moment_of(text: str, zone: ZoneInfo, *, field: str) -> datetime:
    """A moment typed on the command line: a date means the start of that day in `zone`; a
    date and time without a zone is read in `zone`."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", field=field) from exc
    if len(text) == 10:
        moment = datetime.combine(moment.date(), time.min)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    try:
        return _within_reason(moment)
    except ValueError as exc:
        raise InvalidInput(f"{text} {exc}", field=field) from exc


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # far beyond any sale, far from datetime's end


def _date_and_time(value: object) -> object:
    """Refuse what lax parsing would misread: bare numbers (epoch seconds) and bare dates."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        raise ValueError("must be a date and time such as 2026-06-14 10:30")
    if isinstance(value, str) and len(value.strip()) <= 10:
        raise ValueError("needs a time of day as well as a date, such as 2026-06-14 10:30")
    return value


def _within_reason(value: datetime) -> datetime:
    """By the year first, so that a zone at the very ends of the calendar cannot overflow."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if aware.year < EARLIEST.year or aware < EARLIEST:
        raise ValueError("is before the year 2000")
    if aware.year >= LATEST.year or aware >= LATEST:
        raise ValueError("is after the year 2199")
    return value


Moment = Annotated[datetime, BeforeValidator(_date_and_time), AfterValidator(_within_reason)]
"""A date and time as tills and files write it; without a zone it is read in the store's zone."""

AwareMoment = Annotated[
    AwareDatetime, BeforeValidator(_date_and_time), AfterValidator(_within_reason)
]
"""A date and time that must carry its zone: a filter, a validity, a schedule."""


def calendar_day(moment: date) -> date:
    """The calendar day of ``moment``; a datetime counts as its whole day."""
    return moment.date() if isinstance(moment, datetime) else moment
