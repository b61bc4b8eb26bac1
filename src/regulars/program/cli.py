"""`regulars program …`: apply and show the loyalty program definition."""

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.syntax import Syntax
from rich.table import Table

from regulars.clock import utc_now
from regulars.db import run_in_transaction, session_scope
from regulars.program.service import active_program, active_version, apply_program, parse_program
from regulars.simulation.schemas import Figures, period, report
from regulars.simulation.service import simulate
from regulars.terminal import console, open_database, reports_errors

app = typer.Typer()


@app.command("apply")
@reports_errors
def apply_command(
    file: Annotated[Path, typer.Argument(help="A program TOML file, e.g. examples/program.toml.")],
    actor: Annotated[str, typer.Option(help="Who applies it, for the record.")] = "cli",
    check: Annotated[bool, typer.Option("--check", help="Only validate; store nothing.")] = False,
) -> None:
    """Validate a program file and make it the active version."""
    text = file.read_text(encoding="utf-8")
    if check:
        program = parse_program(text)
        console.print(f"{file}: valid program {program.name!r} with {len(program.tiers)} tiers")
        return
    version = run_in_transaction(
        open_database(), lambda s: apply_program(s, text=text, now=utc_now(), actor=actor)
    )
    console.print(f"program {version.name!r} is now active as version {version.id}")


@app.command("show")
@reports_errors
def show_command() -> None:
    """Print the active program as it was applied."""
    with session_scope(open_database()) as session:
        version = active_version(session)
        console.print(
            f"# version {version.id}, applied {version.applied_at:%Y-%m-%d %H:%M} UTC "
            f"by {version.applied_by}"
        )
        console.print(Syntax(version.source, "toml", theme="ansi_light"))


@app.command("simulate")
@reports_errors
def simulate_command(
    file: Annotated[Path, typer.Argument(help="The proposed program's TOML file.")],
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
) -> None:
    """Price a past period's receipts by a proposed program and by the active one; show
    what would change. Nothing is written."""
    proposed = parse_program(file.read_text(encoding="utf-8"))
    with session_scope(open_database()) as session:
        _, active = active_program(session)
        first, last = period(start.date(), end.date(), ZoneInfo(active.timezone))
        with console.status("pricing the period's receipts by both programs"):
            shown = report(
                simulate(session, active=active, proposed=proposed, start=first, end=last)
            )
    console.print(
        f"{shown.receipts:,} receipts ({shown.member_receipts:,} by members) sold from "
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d}, priced by the active program and by {file.name}"
    )
    rows = [("discount given", shown.discount), ("points issued", shown.points_issued)]
    rows.append(("liability of those points", shown.liability))
    console.print(_table("", rows))
    offers = [(f"{o.code} discount", o.discount) for o in shown.offers]
    offers += [(f"{o.code} receipts", o.receipts) for o in shown.offers]
    console.print(_table("offers", offers))
    moves = [(f"{m.from_tier} → {m.to_tier}", m.members) for m in shown.tier_moves]
    console.print(_table("members moving up", moves))
    console.print(_table("buyers by tier at the end", [(t.tier, t.members) for t in shown.tiers]))


def _table(title: str, rows: list[tuple[str, Figures]]) -> Table:
    table = Table(title=title or None, title_justify="left")
    for heading in ("", "active", "proposed", "change"):
        table.add_column(heading, justify="left" if not heading else "right")
    for label, figures in rows:
        table.add_row(label, f"{figures.active:,}", f"{figures.proposed:,}", f"{figures.change:+,}")
    return table
