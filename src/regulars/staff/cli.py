"""`regulars users`: staff accounts for the console."""

from typing import Annotated

import typer
from rich.table import Table

from regulars.staff.models import StaffRole
from regulars.terminal import console, open_database, reports_errors

app = typer.Typer()


@app.command("create")
@reports_errors
def create_command(
    username: Annotated[str, typer.Argument(help="The name to log in with.")],
    role: Annotated[
        StaffRole, typer.Option(help="admin, support, analyst, marketing or store_manager.")
    ],
    name: Annotated[str, typer.Option(help="The name the console shows.")] = "",
    store: Annotated[str | None, typer.Option(help="store_manager: the store's code.")] = None,
    language: Annotated[str, typer.Option(help="zh-CN or en.")] = "zh-CN",
) -> None:
    """Create an account; the password is asked for twice and only its hash is kept."""
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction
    from regulars.staff.service import create_user

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = run_in_transaction(
        open_database(),
        lambda session: create_user(
            session,
            username=username,
            display_name=name,
            role=role,
            password=password,
            now=utc_now(),
            store_code=store,
            language=language,
        ),
    )
    console.print(f"user {user.username} ({user.role}) created")


@app.command("list")
@reports_errors
def list_command() -> None:
    """Every account, disabled ones included."""
    from regulars.staff.service import list_users

    table = Table("username", "name", "role", "store", "language", "created", "disabled")
    with open_database()() as session:
        for user, store in list_users(session):
            table.add_row(
                user.username,
                user.display_name,
                str(user.role),
                store or "",
                user.language,
                f"{user.created_at:%Y-%m-%d}",
                f"{user.disabled_at:%Y-%m-%d %H:%M}" if user.disabled_at else "",
            )
    console.print(table)


@app.command("disable")
@reports_errors
def disable_command(username: Annotated[str, typer.Argument(help="Whose account.")]) -> None:
    """Close an account at once: no more logins, and its open sessions end."""
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction
    from regulars.staff.service import disable_user

    run_in_transaction(
        open_database(), lambda session: disable_user(session, username=username, now=utc_now())
    )
    console.print(f"user {username} disabled")
