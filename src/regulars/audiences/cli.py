"""`regulars audiences`: save audiences, count them, list them."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regulars.errors import InvalidInput
from regulars.terminal import console, open_database, reports_errors

app = typer.Typer()
Definition = Annotated[
    str, typer.Argument(help="The definition: JSON text, or the path of a JSON file.")
]


def _definition(text: str) -> object:
    source = text
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise InvalidInput(f"no file {path.absolute()}, and not JSON", field="definition")
        source = path.read_text()
    from regulars.audiences.service import read_definition

    return read_definition(source)


@app.command("create")
@reports_errors
def create_command(
    name: Annotated[str, typer.Argument(help="The audience's name.")],
    definition: Definition,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Save an audience, and say how many members it holds now."""
    from regulars.audiences.service import count_members, parse_condition, save_audience
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction

    condition = _definition(definition)

    def save(session):  # type: ignore[no-untyped-def]
        now = utc_now()
        save_audience(session, name=name, definition=condition, description=description,
                      now=now, actor="cli")  # fmt: skip
        return count_members(session, parse_condition(condition), now=now)

    members = run_in_transaction(open_database(), save)
    console.print(f"audience {name!r} saved: {members:,} members now")


@app.command("count")
@reports_errors
def count_command(definition: Definition) -> None:
    """How many members a definition (or a saved audience, as {"kind": "audience", ...})
    holds now."""
    from regulars.audiences.service import count_members, parse_condition
    from regulars.clock import utc_now

    condition = parse_condition(_definition(definition))
    with open_database()() as session:
        console.print(f"{count_members(session, condition, now=utc_now()):,} members")


@app.command("list")
@reports_errors
def list_command() -> None:
    """Every saved audience with its size now."""
    from regulars.audiences.service import count_members, list_audiences, saved_condition
    from regulars.clock import utc_now

    table = Table("name", "members now", "description", "created", "by")
    with open_database()() as session:
        now = utc_now()
        for audience in list_audiences(session):
            members = count_members(session, saved_condition(audience), now=now)
            table.add_row(
                audience.name, f"{members:,}", audience.description,
                f"{audience.created_at:%Y-%m-%d}", audience.created_by,
            )  # fmt: skip
    console.print(table)
