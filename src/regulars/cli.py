"""The `regulars` command: one Typer app per feature, joined here."""

import importlib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from regulars import __version__
from regulars.terminal import console, reports_errors

# Each feature's commands: (module, Typer app in it, what they are for). A feature's module
# is imported only when one of its commands runs, so `regulars --help` starts at once and a
# command loads what it uses, not scikit-learn for `keys list`.
FEATURES = {
    "import": (
        "regulars.imports.cli",
        "app",
        "Import members and receipts from CSV or Parquet files.",
    ),
    "demo": ("regulars.demo.cli", "app", "A synthetic supermarket chain with known hidden truths."),
    "program": (
        "regulars.program.cli",
        "app",
        "The loyalty program: earn rules, tiers, expiry, redemption.",
    ),
    "jobs": ("regulars.jobs", "app", "Scheduled jobs: points, tiers, coupons and birthdays."),
    "scheduler": (
        "regulars.scheduler.cli",
        "app",
        "Run the nightly jobs on their schedule, once per due time; what ran.",
    ),
    "users": ("regulars.staff.cli", "app", "Staff accounts for the console."),
    "audiences": ("regulars.audiences.cli", "app", "Saved audiences: who a campaign speaks to."),
    "campaigns": (
        "regulars.campaigns.cli",
        "app",
        "Campaigns to an audience, with a control group; their results.",
    ),
    "journeys": (
        "regulars.journeys.cli",
        "app",
        "Journeys that start by themselves: welcome, birthday, points expiring, win-back.",
    ),
    "holidays": ("regulars.journeys.cli", "holidays_app", "The chain's calendar of holidays."),
    "cases": (
        "regulars.cases.cli",
        "app",
        "Complaints: business hours, service levels, the case queue and its check.",
    ),
    "surveys": (
        "regulars.surveys.cli",
        "app",
        "Surveys: NPS, satisfaction and ratings; invitations and answers.",
    ),
    "outbox": ("regulars.campaigns.cli", "outbox_app", "Deliver the messages that are due."),
    "keys": ("regulars.access.cli", "keys_app", "API keys for tills, staff and analysts."),
    "audit": ("regulars.access.cli", "audit_app", "The audit log."),
    "warehouse": (
        "regulars.analytics.cli",
        "warehouse_app",
        "The analytics warehouse (Parquet, read with DuckDB).",
    ),
    "analyze": (
        "regulars.analytics.cli",
        "app",
        "Customer analytics: RFM, lifetime value, churn, types, cohorts, KPIs.",
    ),
}


class _Later(TyperGroup):
    """A feature's commands, listed by name and purpose, loaded when used."""

    def __init__(self, name: str, module: str, attribute: str, purpose: str) -> None:
        super().__init__(name=name, help=purpose)
        self.module, self.attribute = module, attribute

    @cached_property
    def loaded(self) -> TyperGroup:
        feature = getattr(importlib.import_module(self.module), self.attribute)
        group = typer.main.get_group(feature)
        group.name, group.help = self.name, self.help
        return group

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        return self.loaded.make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        return self.loaded.invoke(ctx)


class _Commands(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (module, attribute, purpose) in FEATURES.items():
            self.commands[name] = _Later(name, module, attribute, purpose)


app = typer.Typer(
    cls=_Commands,
    help="Regulars: loyalty and customer insight for supermarkets.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The operational database.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@reports_errors
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Migrate to this revision.")] = "head",
) -> None:
    """Create or migrate the tables of the configured database."""
    from regulars.config import get_settings
    from regulars.db import make_engine, upgrade_database

    upgrade_database(make_engine(get_settings().database_url), revision)
    console.print(f"database migrated to {revision}")


@db_app.command("revision")
@reports_errors
def db_revision(
    message: Annotated[str, typer.Argument(help="What the migration changes.")],
) -> None:
    """For developers: write a migration for what the tables differ from the database."""
    from regulars.config import get_settings
    from regulars.db import make_engine, new_migration

    new_migration(make_engine(get_settings().database_url), message)


@db_app.command("backup")
@reports_errors
def db_backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
) -> None:
    """Write a consistent copy of the database while it keeps working (SQLite's online
    backup, or pg_dump for PostgreSQL)."""
    from regulars.config import get_settings
    from regulars.operations.backup import backup

    backup(get_settings().database_url, file)
    console.print(f"backed up to {file}")


@db_app.command("restore")
@reports_errors
def db_restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `regulars db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Replace everything in the configured database with a backup."""
    from regulars.config import get_settings
    from regulars.operations.backup import restore

    url = get_settings().database_url
    if not yes and not typer.confirm(f"Replace everything in {url} with {file}?", default=False):
        console.print("Nothing restored.")
        raise typer.Exit(1)
    restore(url, file)
    console.print(f"restored {file}")


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
