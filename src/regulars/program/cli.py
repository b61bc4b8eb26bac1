"""`regulars program …`: apply and show the loyalty program definition."""

from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax

from regulars.clock import utc_now
from regulars.console import console, open_database, reports_errors
from regulars.db import run_in_transaction, session_scope
from regulars.program.service import active_version, apply_program, parse_program

app = typer.Typer(help="The loyalty program: earn rules, tiers, expiry, redemption.")


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
