"""`regulars scheduler`: run the nightly jobs when they are due, and show what ran."""

import time
from typing import Annotated

import typer
from rich.table import Table

from regulars.terminal import console, err_console, open_database, open_engine, reports_errors

app = typer.Typer()


@app.command("run")
@reports_errors
def run_command(
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Run what is due now and stop (for cron); exit 1 if a job failed."
        ),
    ] = False,
    every: Annotated[
        int, typer.Option("--every", min=5, help="Seconds between looks at the schedule.")
    ] = 30,
) -> None:
    """Run each job when it is due, once per due time, also with several schedulers running."""
    from regulars.clock import utc_now
    from regulars.config import get_settings
    from regulars.scheduler.schedule import load_schedule
    from regulars.scheduler.service import holder_name, run_due

    settings = get_settings()
    schedule = load_schedule(settings.schedule_file)
    engine = open_engine()
    holder = holder_name()
    console.print(f"scheduler {holder}: {len(schedule)} jobs in {settings.timezone}")
    while True:
        outcomes = run_due(engine, settings, schedule, clock=utc_now, holder=holder)
        for outcome in outcomes:
            due = outcome.due_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
            shown = err_console if outcome.status == "failed" else console
            shown.print(f"{outcome.job} due {due}: {outcome.status}: {outcome.report}")
        if once:
            if any(outcome.status == "failed" for outcome in outcomes):
                raise typer.Exit(1)
            return
        time.sleep(every)


@app.command("runs")
@reports_errors
def runs_command(
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest runs.")] = 20,
) -> None:
    """The latest runs: which job, for which due time, by whom, how it went."""
    from regulars.config import get_settings
    from regulars.scheduler.service import recent_runs

    zone = get_settings().zone
    table = Table("job", "due", "holder", "started", "finished", "status", "report")
    with open_database()() as session:
        for run in recent_runs(session, limit=limit):
            table.add_row(
                run.job,
                f"{run.due_at.astimezone(zone):%Y-%m-%d %H:%M}",
                run.holder,
                f"{run.started_at.astimezone(zone):%Y-%m-%d %H:%M:%S}",
                f"{run.finished_at.astimezone(zone):%H:%M:%S}" if run.finished_at else "",
                run.status,
                run.report or "",
            )
    console.print(table)


@app.command("show")
@reports_errors
def show_command() -> None:
    """The schedule, in the chain's time zone, with each job's latest due time."""
    from regulars.clock import utc_now
    from regulars.config import get_settings
    from regulars.scheduler.schedule import load_schedule

    settings = get_settings()
    table = Table("job", "when", "latest due", title=f"schedule ({settings.timezone})")
    for entry in load_schedule(settings.schedule_file):
        when = f"{'daily' if entry.every == 'day' else f'day {entry.day} monthly'} {entry.at:%H:%M}"
        due = entry.latest_due(utc_now(), settings.zone).astimezone(settings.zone)
        table.add_row(entry.job, when if entry.enabled else "off", f"{due:%Y-%m-%d %H:%M}")
    console.print(table)
