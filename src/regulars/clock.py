"""Time helpers: the system stores UTC and reasons about business days in a store's zone."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    """The only place that reads the wall clock; everything below it takes `now` as an argument."""
    return datetime.now(UTC)


def as_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    """A naive moment is read as local time in `zone`; an aware one is converted."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
