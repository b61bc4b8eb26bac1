"""What every CLI command shares: the console, error reporting, progress bars, the database."""

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from regulars.errors import RegularsError

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

# A terminal gets tables fitted to its width; piped output (a file, grep, a log) is never
# cut to 80 columns, so ids and reasons arrive whole.
PIPED_WIDTH = 1000
console = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)
err_console = Console(stderr=True, soft_wrap=True)  # an error stays on one line

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(func: F) -> F:
    """A business error ends the command with its code and message on one line, exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RegularsError as error:
            where = f" ({error.field})" if error.field else ""
            err_console.print(f"[red]error[/red] {error.code}{where}: {error.message}")
            raise typer.Exit(1) from error

    return wrapper  # type: ignore[return-value]


def open_engine(*, require_migrated: bool = True) -> "Engine":
    """The configured database, refused when `regulars db upgrade` has not prepared it."""
    from regulars.config import get_settings
    from regulars.db import ensure_migrated, make_engine

    engine = make_engine(get_settings().database_url)
    if require_migrated:
        ensure_migrated(engine)
    return engine


def as_of_or_now(text: str | None) -> "datetime":
    """A command's --as-of, read in the chain's zone, or now when it is not given."""
    from regulars.clock import moment_of, utc_now
    from regulars.config import get_settings

    return moment_of(text, get_settings().zone, field="as_of") if text else utc_now()


def open_database(*, require_migrated: bool = True) -> "sessionmaker[Session]":
    from regulars.db import make_sessionmaker

    return make_sessionmaker(open_engine(require_migrated=require_migrated))


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="progress.data.speed")


def row_progress() -> Progress:
    """A progress bar counting rows, with the rate people ask about first."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )
