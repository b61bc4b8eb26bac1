"""`regulars cases`: business hours and service levels, the case queue, and the check that
warns before a breach."""

import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from regulars.cases.models import CaseCategory, Severity
from regulars.cases.rules import CaseState
from regulars.errors import InvalidInput
from regulars.terminal import console, open_database, reports_errors

if TYPE_CHECKING:
    from regulars.cases.levels import Clock

app = typer.Typer()
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPAN = re.compile(r"^(\w{3})(?:-(\w{3}))? (\d\d:\d\d)-(\d\d:\d\d)$")


def parse_hours(spans: list[str]) -> dict[int, tuple[time, time]]:
    """ "mon-fri 09:00-18:00", "sat 10:00-16:00" as opening hours by weekday."""
    hours: dict[int, tuple[time, time]] = {}
    for text in spans:
        found = SPAN.match(text.strip().lower())
        if not found or found[1] not in WEEKDAYS or (found[2] or found[1]) not in WEEKDAYS:
            raise InvalidInput(
                f"{text!r}: write days and hours like 'mon-fri 09:00-18:00'", field="hours"
            )
        first, last = WEEKDAYS.index(found[1]), WEEKDAYS.index(found[2] or found[1])
        try:
            opens, closes = time.fromisoformat(found[3]), time.fromisoformat(found[4])
        except ValueError:
            raise InvalidInput(f"{text!r}: no such time of day", field="hours") from None
        for day in range(first, last + 1):
            hours[day] = (opens, closes)
    return hours


@app.command("hours")
@reports_errors
def hours_command(
    spans: Annotated[
        list[str], typer.Argument(help="e.g. 'mon-fri 09:00-18:00' 'sat 10:00-16:00'.")
    ],
    store: Annotated[
        str | None, typer.Option(help="A store's code (default: the chain's).")
    ] = None,
) -> None:
    """Set the business hours the service levels are counted in; days left out are closed."""
    from regulars.cases.hours import set_opening_hours
    from regulars.db import run_in_transaction

    opening = parse_hours(spans)
    run_in_transaction(
        open_database(), lambda s: set_opening_hours(s, store_code=store, hours=opening)
    )
    console.print(f"business hours of {store or 'the chain'}: {len(opening)} open days a week")


@app.command("closed-day")
@reports_errors
def closed_day_command(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD.")],
    name: Annotated[str, typer.Argument(help="e.g. 'Spring Festival'.")],
    store: Annotated[
        str | None, typer.Option(help="A store's code (default: every store).")
    ] = None,
) -> None:
    """A public holiday: the service-level clock does not run."""
    from regulars.cases.hours import add_closed_day
    from regulars.db import run_in_transaction

    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise InvalidInput(f"{day!r} is not a date (YYYY-MM-DD)", field="day") from None
    run_in_transaction(
        open_database(), lambda s: add_closed_day(s, store_code=store, day=on, name=name)
    )
    console.print(f"{on} closed ({name}) for {store or 'every store'}")


@app.command("policy")
@reports_errors
def policy_command(
    category: Annotated[CaseCategory, typer.Argument()],
    severity: Annotated[Severity, typer.Argument()],
    first_response: Annotated[int, typer.Option(min=1, help="Minutes of business hours.")],
    resolution: Annotated[int, typer.Option(min=1, help="Minutes of business hours.")],
) -> None:
    """Set the service levels of a category and severity; open cases are held to them."""
    from regulars.cases.levels import set_policy
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction

    run_in_transaction(
        open_database(),
        lambda s: set_policy(
            s, category=category, severity=severity,
            first_response=timedelta(minutes=first_response),
            resolution=timedelta(minutes=resolution), now=utc_now(),
        ),
    )  # fmt: skip
    console.print(
        f"{category} / {severity}: first response within {first_response} minutes, "
        f"resolved within {resolution} minutes of business hours"
    )


@app.command("list")
@reports_errors
def list_command(
    state: Annotated[CaseState | None, typer.Option(help="Only cases in this state.")] = None,
    queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The case queue with each case's service levels (! late, ‖ paused)."""
    from regulars.cases.levels import standing_or_none
    from regulars.cases.service import list_cases
    from regulars.clock import utc_now

    now = utc_now()
    table = Table("case", "state", "queue", "category", "severity", "first response", "resolution")
    with open_database()() as session:
        for case in list_cases(session, state=state, queue=queue, limit=limit):
            standing = standing_or_none(session, case_id=case.id, now=now)
            clocks = (
                [_clock(c, now) for c in (standing.first_response, standing.resolution)]
                if standing
                else ["no policy", ""]
            )
            table.add_row(
                str(case.id), case.state, case.queue, case.category, case.severity, *clocks
            )
    console.print(table)


def _clock(clock: "Clock", now: datetime) -> str:
    mark = "!" if clock.late(now) else "‖" if clock.paused else ""
    return f"{mark}{'met' if clock.done_at else 'due'} {clock.due:%Y-%m-%d %H:%M} UTC"


@app.command("check")
@reports_errors
def check_command() -> None:
    """Warn about service levels close to their due time and escalate those past it, once
    each (the scheduler does this every hour)."""
    from regulars.cases.levels import check_service_levels
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction

    done = run_in_transaction(open_database(), lambda s: check_service_levels(s, now=utc_now()))
    console.print(f"{done.warned:,} warnings, {done.breached:,} breaches")


@app.command("report")
@reports_errors
def report_command(
    days: Annotated[int, typer.Option(min=1, max=3650, help="Cases opened in the last days.")] = 90,
    as_of: Annotated[
        str | None, typer.Option(help="The end of the period (YYYY-MM-DD[THH:MM]); default now.")
    ] = None,
) -> None:
    """Complaint figures: volumes, top categories by store, handling times, service-level
    compliance, repeat complainants and who bought again after the handling."""
    from regulars.cases.figures import Compliance, complaint_figures
    from regulars.terminal import as_of_or_now

    now = as_of_or_now(as_of)
    with open_database()() as session:
        found = complaint_figures(session, since=now - timedelta(days=days), until=now, now=now)

    def met(c: Compliance) -> str:
        return f"{c.share:.0%} of {c.met + c.breached:,}" if c.share is not None else "–"

    console.print(f"{found.cases:,} cases in the {days} days to {now:%Y-%m-%d %H:%M} UTC")
    for name, handled in (
        ("first response", found.first_response),
        ("resolution", found.resolution),
    ):
        if handled.median_hours is not None:
            console.print(
                f"{name}: median {handled.median_hours:.1f} business hours, "
                f"90% within {handled.p90_hours:.1f}"
            )
    levels = Table("category", "first response on time", "resolved on time")
    levels.add_row(
        "all", met(found.service_levels.first_response), met(found.service_levels.resolution)
    )
    for c in found.service_levels_by_category:
        levels.add_row(c.category, met(c.first_response), met(c.resolution))
    console.print(levels)
    top = Table("store", "category", "cases", "share of the store's")
    for row in found.top_categories:
        if row.cases:
            top.add_row(row.store_code, row.category, f"{row.cases:,}", f"{row.share:.0%}")
    console.print(top)
    repeat = found.repeat_complainants
    console.print(f"repeat complainants: {repeat.members:,} of {repeat.complainants:,} members")
    after = found.after_handling
    for name, group in (("on time", after.on_time), ("late", after.late)):
        if group.share is not None:
            console.print(
                f"handled {name}: {group.share:.0%} of {group.members:,} bought again within "
                f"{after.window_days} days [{group.low:.0%}, {group.high:.0%}]"
            )
