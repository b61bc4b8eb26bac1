"""`regulars journeys` and `regulars holidays`: define journeys, run them, read what they
earned, and keep the chain's calendar of holidays."""

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regulars.journeys.service import plan_of
from regulars.terminal import as_of_or_now, console, open_database, reports_errors

app = typer.Typer()
holidays_app = typer.Typer()


@app.command("create")
@reports_errors
def create_command(
    file: Annotated[Path, typer.Argument(help="The journey in TOML.", exists=True)],
) -> None:
    """Define a journey from a file; it starts with the next run."""
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction
    from regulars.journeys.service import create_journey

    text = file.read_text(encoding="utf-8")
    journey = run_in_transaction(
        open_database(), lambda s: create_journey(s, definition=text, now=utc_now(), actor="cli")
    )
    console.print(f"journey {journey.name!r} ({journey.trigger}) is active")


@app.command("list")
@reports_errors
def list_command() -> None:
    """Every journey: its trigger, whether it runs, and how many entered."""
    from sqlalchemy import func, select

    from regulars.journeys.models import JourneyEntry
    from regulars.journeys.service import list_journeys

    table = Table("journey", "trigger", "active", "entered", "steps")
    with open_database()() as session:
        for journey in list_journeys(session):
            entered = session.scalar(
                select(func.count()).where(JourneyEntry.journey_id == journey.id)
            )
            steps = ", ".join(s.do for s in plan_of(journey).steps)
            table.add_row(
                journey.name, journey.trigger, "yes" if journey.active else "paused",
                f"{entered:,}", steps,
            )  # fmt: skip
    console.print(table)


@app.command("run")
@reports_errors
def run_command(
    as_of: Annotated[
        str | None, typer.Option(help="Run as of this moment (YYYY-MM-DD[THH:MM]); default now.")
    ] = None,
) -> None:
    """Let members in and take the steps that are due, for every active journey."""
    from regulars.campaigns.optout import Links
    from regulars.config import get_settings, secret_key
    from regulars.db import run_in_transaction
    from regulars.journeys.service import run_journeys

    settings = get_settings()
    now = as_of_or_now(as_of)
    links = Links(settings.public_url, secret_key(settings))
    runs = run_in_transaction(
        open_database(),
        lambda s: run_journeys(s, now=now, weekly_cap=settings.marketing_per_week, links=links),
    )
    for run in runs:
        did = ", ".join(f"{count:,} {result}" for result, count in run.steps.items())
        console.print(
            f"{run.journey}: {run.entered:,} entered ({run.held_back:,} held back)"
            + (f"; {did}" if did else "")
        )


@app.command("pause")
@reports_errors
def pause_command(name: Annotated[str, typer.Argument(help="The journey's name.")]) -> None:
    """Nobody new enters, nobody moves on, until it is resumed."""
    _set_active(name, active=False)


@app.command("resume")
@reports_errors
def resume_command(name: Annotated[str, typer.Argument(help="The journey's name.")]) -> None:
    """Go on from now (a welcome does not greet those who joined while it was paused)."""
    _set_active(name, active=True)


def _set_active(name: str, *, active: bool) -> None:
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction
    from regulars.journeys.service import set_active

    run_in_transaction(
        open_database(), lambda s: set_active(s, name=name, active=active, now=utc_now())
    )
    console.print(f"journey {name!r} {'resumed' if active else 'paused'}")


@app.command("results")
@reports_errors
def results_command(
    name: Annotated[str, typer.Argument(help="The journey's name.")],
    as_of: Annotated[
        str | None, typer.Option(help="Count purchases up to this day (default: now).")
    ] = None,
) -> None:
    """What each step did, and the uplift against the control group."""
    from regulars.campaigns.cli import print_uplift
    from regulars.config import get_settings
    from regulars.journeys.service import journey_results

    margin = get_settings().gross_margin
    with open_database()() as session:
        found = journey_results(session, name=name, now=as_of_or_now(as_of), gross_margin=margin)
        steps = plan_of(found.journey).steps
    console.print(f"{found.entries:,} entries")
    for number, results in sorted(found.steps.items()):
        said = ", ".join(f"{count:,} {result}" for result, count in results.items())
        console.print(f"  step {number} ({steps[number - 1].do}): {said}")
    print_uplift(found, found.messages)


@holidays_app.command("add")
@reports_errors
def add_command(
    name: Annotated[str, typer.Argument(help="e.g. 'Spring Festival'.")],
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD.")],
) -> None:
    """Put a holiday in the calendar."""
    from regulars.db import run_in_transaction
    from regulars.journeys.service import add_holiday

    on = _day(day)
    run_in_transaction(open_database(), lambda s: add_holiday(s, name=name, day=on))
    console.print(f"{name} on {on} added")


@holidays_app.command("remove")
@reports_errors
def remove_command(
    name: Annotated[str, typer.Argument(help="The holiday's name.")],
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD.")],
) -> None:
    """Take a holiday out of the calendar."""
    from regulars.db import run_in_transaction
    from regulars.journeys.service import remove_holiday

    on = _day(day)
    run_in_transaction(open_database(), lambda s: remove_holiday(s, name=name, day=on))
    console.print(f"{name} on {on} removed")


@holidays_app.command("list")
@reports_errors
def holidays_command(
    year: Annotated[int | None, typer.Option(help="Which year (default: this one).")] = None,
) -> None:
    """The holidays of a year."""
    from regulars.journeys.service import holidays

    year = year or date.today().year
    with open_database()() as session:
        days = holidays(session, start=date(year, 1, 1), end=date(year, 12, 31))
        for holiday in days:
            console.print(f"{holiday.day}  {holiday.name}")
    if not days:
        console.print(f"no holidays in {year}; add them with: regulars holidays add NAME DAY")


def _day(text: str) -> date:
    from regulars.errors import InvalidInput

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", field="day") from None
