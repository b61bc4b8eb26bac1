"""`regulars demo generate`: a realistic supermarket chain for trying and testing Regulars."""

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from regulars.clock import utc_now
from regulars.db import make_engine, make_sessionmaker, upgrade_database
from regulars.demo.generator import generate
from regulars.demo.week import run_week, show
from regulars.demo.writers import write_database, write_parquet
from regulars.errors import Conflict, InvalidInput
from regulars.members.models import Member
from regulars.terminal import console, open_database, reports_errors, row_progress

app = typer.Typer()


@app.command("generate")
@reports_errors
def generate_command(
    members: Annotated[int, typer.Option(min=1, help="How many members.")] = 2000,
    months: Annotated[int, typer.Option(min=1, max=60, help="Months of sales history.")] = 6,
    seed: Annotated[int, typer.Option(help="The same seed gives the same chain.")] = 7,
    stores: Annotated[int, typer.Option(min=1, max=200, help="Physical stores.")] = 8,
    until: Annotated[
        str | None,
        typer.Option(help="Last day of history is the day before (YYYY-MM-DD); default today."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write Parquet files here instead of the database.")
    ] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already has members.")
    ] = False,
) -> None:
    """Generate the chain into the configured database, or as Parquet files with --out."""
    end = date.fromisoformat(until) if until else utc_now().date()
    with console.status("generating the chain"):
        chain = generate(members=members, months=months, seed=seed, stores=stores, until=end)
    if out is not None:
        for name, path in write_parquet(out, chain, seed=seed).items():
            console.print(f"{name:>14}  {path}")
        return
    sessions = open_database()
    with sessions() as session:
        present = session.scalar(select(func.count()).select_from(Member)) or 0
    if present:
        if if_empty:
            console.print(f"the database already holds {present:,} members; nothing generated")
            return
        raise Conflict("the database already holds members; the demo needs an empty database")
    with row_progress() as progress:
        tasks = {
            "members": progress.add_task("members", total=len(chain.members.phone)),
            "receipts": progress.add_task("receipts", total=len(chain.sales.member)),
        }
        counts = write_database(
            sessions,
            chain,
            seed=seed,
            now=utc_now(),
            progress=lambda name, done: progress.advance(tasks[name], done),
        )
    table = Table("what", "how many", title=f"demo chain {chain.start} – {chain.until}")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


@app.command("week")
@reports_errors
def week_command(
    monday: Annotated[
        str, typer.Option(help="The Monday the week starts (YYYY-MM-DD).")
    ] = "2026-11-16",
) -> None:
    """Live one member's week at the demo supermarket, receipt by receipt, on a fresh database."""
    start = date.fromisoformat(monday)
    if start.weekday() != 0:
        raise InvalidInput(f"{monday} is a {start:%A}, not a Monday", field="monday")
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/week.db")
        upgrade_database(engine)
        with console.status("living the week"):
            days = run_week(make_sessionmaker(engine), start)
        engine.dispose()
    show(days, console)


@app.command("respond")
@reports_errors
def respond_command(
    campaign: Annotated[str, typer.Argument(help="A sent campaign's name.")],
    base_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Chance to buy, untreated.")
    ] = 0.15,
    uplift: Annotated[float, typer.Option(min=0, max=1, help="What the campaign adds.")] = 0.05,
    seed: Annotated[int, typer.Option(help="The same seed gives the same purchases.")] = 7,
) -> None:
    """Let a sent campaign's members buy in its window with a hidden uplift (kept in
    demo_campaign_truth), so its results can be checked against the truth."""
    from datetime import timedelta

    from regulars.campaigns.service import get_campaign
    from regulars.db import run_in_transaction
    from regulars.demo.campaigns import respond

    sessions = open_database()
    with sessions() as session:
        sent = get_campaign(session, name=campaign)
        if sent.sent_at is None:
            raise InvalidInput(f"campaign {campaign!r} has not been sent yet", field="campaign")
        after = sent.sent_at + timedelta(days=sent.window_days)
    written = run_in_transaction(
        sessions,
        lambda s: respond(
            s, campaign=campaign, base_rate=base_rate, uplift=uplift, seed=seed, now=after
        ),
    )
    console.print(f"{written:,} members of {campaign!r} bought in its window")
