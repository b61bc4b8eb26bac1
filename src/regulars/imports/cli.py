"""`regulars import …`: bulk loads with a rejects file beside the input."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.clock import utc_now
from regulars.config import get_settings
from regulars.imports.balances import import_balances
from regulars.imports.catalog import import_catalog
from regulars.imports.members import import_members
from regulars.imports.pipeline import ImportReport
from regulars.imports.receipts import import_receipts
from regulars.terminal import console, err_console, open_database, reports_errors

app = typer.Typer()

FileArgument = Annotated[
    Path, typer.Argument(help="A .csv or .parquet file in the documented layout.")
]
EncodingOption = Annotated[
    str, typer.Option(help="Text encoding of a CSV file, e.g. gbk for many Chinese tills.")
]
AllowRejectsOption = Annotated[
    bool,
    typer.Option(
        "--allow-rejects",
        help="Exit 0 even when rows were rejected (by default a reject makes the exit code 1, "
        "so a nightly script notices).",
    ),
]


def _show(report: ImportReport, allow_rejects: bool) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("rows read", f"{report.rows:,}")
    table.add_row("records written", f"{report.created:,}")
    table.add_row("already present, unchanged", f"{report.unchanged:,}")
    table.add_row("rows rejected", f"{report.rejected_rows:,}")
    if report.blank_rows:
        table.add_row("blank rows, skipped", f"{report.blank_rows:,}")
    console.print(table)
    if report.rejects_file:
        console.print(f"rejected rows and their reasons: {report.rejects_file}")
    for problem in report.problems:
        console.print(f"[yellow]note[/yellow] {problem}")
    if report.rejected_rows and not allow_rejects:
        err_console.print(
            f"[red]error[/red] rows_rejected: {report.rejected_rows:,} of {report.rows:,} rows "
            f"were rejected, see {report.rejects_file} (--allow-rejects to accept that)"
        )
        raise typer.Exit(1)


@app.command("members")
@reports_errors
def members_command(
    file: FileArgument,
    encoding: EncodingOption = "utf-8-sig",
    allow_rejects: AllowRejectsOption = False,
) -> None:
    """Enrol members; a row whose member is already enrolled identically changes nothing."""
    sessions = open_database()
    report = import_members(
        sessions, file, settings=get_settings(), now=utc_now(), encoding=encoding
    )
    _show(report, allow_rejects)


@app.command("receipts")
@reports_errors
def receipts_command(
    file: FileArgument,
    encoding: EncodingOption = "utf-8-sig",
    earn: Annotated[
        bool,
        typer.Option(
            "--earn/--no-earn",
            help="Members earn points and tier progress by the active program; "
            "--no-earn for history that predates the program.",
        ),
    ] = True,
    allow_rejects: AllowRejectsOption = False,
) -> None:
    """Record receipts, one row per line; a receipt already recorded is not written again."""
    sessions = open_database()
    report = import_receipts(
        sessions, file, settings=get_settings(), now=utc_now(), encoding=encoding, earn=earn
    )
    _show(report, allow_rejects)


@app.command("balances")
@reports_errors
def balances_command(
    file: FileArgument,
    encoding: EncodingOption = "utf-8-sig",
    allow_rejects: AllowRejectsOption = False,
) -> None:
    """Carry points over from a previous loyalty system: member_card, points, expires_at."""
    sessions = open_database()
    report = import_balances(
        sessions, file, settings=get_settings(), now=utc_now(), encoding=encoding
    )
    _show(report, allow_rejects)


def _catalog_command(
    kind: type[StoreCreate] | type[CategoryCreate] | type[ProductCreate],
) -> Callable[[Path, str, bool], None]:
    def command(
        file: FileArgument,
        encoding: EncodingOption = "utf-8-sig",
        allow_rejects: AllowRejectsOption = False,
    ) -> None:
        _show(import_catalog(open_database(), file, kind, encoding=encoding), allow_rejects)

    return command


for _name, _kind, _help in (
    ("stores", StoreCreate, "Add stores: code, name, region, channel, timezone."),
    ("categories", CategoryCreate, "Add the category tree, parents before children."),
    ("products", ProductCreate, "Add products: sku, name, brand, category_code, regular_price, …"),
):
    app.command(_name, help=_help)(reports_errors(_catalog_command(_kind)))
