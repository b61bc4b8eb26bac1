"""The `regulars` command: one Typer app per feature, joined here."""

from typing import Annotated

import typer

from regulars import __version__
from regulars.access.cli import audit_app, keys_app
from regulars.analytics.cli import app as analyze_app
from regulars.analytics.cli import warehouse_app
from regulars.config import get_settings
from regulars.console import console, reports_errors
from regulars.db import make_engine, new_migration, upgrade_database
from regulars.demo.cli import app as demo_app
from regulars.imports.cli import app as import_app
from regulars.jobs import app as jobs_app
from regulars.program.cli import app as program_app

app = typer.Typer(
    help="Regulars: loyalty and customer insight for supermarkets.", no_args_is_help=True
)
db_app = typer.Typer(help="The operational database.")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(demo_app, name="demo")
app.add_typer(program_app, name="program")
app.add_typer(jobs_app, name="jobs")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(analyze_app, name="analyze")


@db_app.command("upgrade")
@reports_errors
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Migrate to this revision.")] = "head",
) -> None:
    """Create or migrate the tables of the configured database."""
    url = get_settings().database_url
    upgrade_database(make_engine(url), revision)
    console.print(f"database migrated to {revision}")


@db_app.command("revision")
@reports_errors
def db_revision(
    message: Annotated[str, typer.Argument(help="What the migration changes.")],
) -> None:
    """For developers: write a migration for what the tables differ from the database."""
    new_migration(make_engine(get_settings().database_url), message)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API; its documentation is at /docs."""
    import uvicorn

    uvicorn.run("regulars.api.app:create_app", factory=True, host=host, port=port, workers=workers)


@app.command("version")
def version() -> None:
    """Print the installed version."""
    console.print(__version__)
