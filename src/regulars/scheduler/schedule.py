"""When each job is due: every hour at a minute, every day, or on a day of every month, at
a local time.

Pure rules, no database: the latest due time at or before a moment, in the chain's zone.
The defaults suit a supermarket; a TOML file (REGULARS_SCHEDULE_FILE) changes them:

    [jobs.warehouse-sync]
    at = "01:30"

    [jobs.member-scores]
    every = "month"
    day = 1
    enabled = false
"""

import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from regulars.errors import InvalidInput


@dataclass(frozen=True)
class Entry:
    job: str
    at: time  # local time in the chain's zone; every hour: its minute
    every: Literal["hour", "day", "month"] = "day"
    day: int = 1  # of the month, for `every = "month"`
    enabled: bool = True

    def latest_due(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The last due time at or before `now` (UTC)."""
        local = now.astimezone(zone)
        if self.every == "hour":
            due = local.replace(minute=self.at.minute, second=0, microsecond=0)
            back = timedelta(hours=1) if due > local else timedelta(0)
            return due.astimezone(now.tzinfo) - back
        if self.every == "day":
            days = (local.date() - timedelta(days=back) for back in range(2))
        else:
            days = (_month_day(local.date(), back, self.day) for back in range(2))
        for day in days:
            due = datetime.combine(day, self.at, tzinfo=zone)
            if due <= local:
                return due.astimezone(now.tzinfo)
        raise AssertionError("a due time lies within the last day or month")


def _month_day(today: date, months_back: int, day: int) -> date:
    month = today.month - 1 - months_back
    first = date(today.year + month // 12, month % 12 + 1, 1)
    return first.replace(day=day)


DEFAULTS = (
    Entry("mature-points", time(0, 5)),
    Entry("expire-points", time(0, 10)),
    Entry("expire-coupons", time(0, 15)),
    Entry("birthday-bonus", time(0, 20)),
    Entry("tier-review", time(0, 30)),
    Entry("warehouse-sync", time(2, 0)),
    Entry("member-scores", time(3, 0)),
    Entry("marketing", time(0, 5), every="hour"),  # campaigns, journeys, survey invitations
    Entry("sla-check", time(0, 10), every="hour"),  # cases close to or past their levels
)


def load_schedule(path: Path | None) -> tuple[Entry, ...]:
    """The defaults, changed by the file at `path` when there is one."""
    if path is None or not path.exists():
        return DEFAULTS
    try:
        changes = tomllib.loads(path.read_text(encoding="utf-8")).get("jobs", {})
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{path} is not valid TOML: {error}", field="schedule") from error
    known = {entry.job: entry for entry in DEFAULTS}
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise InvalidInput(
            f"{path} names unknown jobs: {', '.join(unknown)} (known: {', '.join(known)})",
            field="schedule",
        )
    return tuple(_changed(entry, changes.get(entry.job, {}), path) for entry in DEFAULTS)


def _changed(entry: Entry, change: dict[str, object], path: Path) -> Entry:
    try:
        at = time.fromisoformat(str(change["at"])) if "at" in change else entry.at
        every = str(change.get("every", entry.every))
        day = int(str(change.get("day", entry.day)))
    except ValueError as error:
        raise InvalidInput(f"{path}: jobs.{entry.job}: {error}", field="schedule") from error
    if every not in ("hour", "day", "month") or not 1 <= day <= 28:
        raise InvalidInput(
            f"{path}: jobs.{entry.job}: every is hour, day or month, day is 1 to 28",
            field="schedule",
        )
    enabled = bool(change.get("enabled", entry.enabled))
    return replace(entry, at=at, every=every, day=day, enabled=enabled)  # type: ignore[arg-type]
