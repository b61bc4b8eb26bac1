"""`regulars warehouse` and `regulars analyze`: the analyses from the command line.

Every analysis reads either the warehouse (default) or, with ``--transactions FILE``, an
analyst's own file; the options naming the file's columns are shared by all commands.
"""

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import typer
from rich.table import Table

from regulars.analytics.rfm import rfm_table, segment_migration, segment_summary
from regulars.analytics.transactions import Columns, load_transactions
from regulars.analytics.warehouse import open_warehouse, sync_warehouse
from regulars.config import get_settings
from regulars.console import console, err_console, reports_errors, row_progress
from regulars.db import ensure_migrated, make_engine
from regulars.errors import InvalidInput

warehouse_app = typer.Typer(help="The analytics warehouse (Parquet, read with DuckDB).")
app = typer.Typer(help="Customer analytics: RFM, lifetime value, churn, types, cohorts, KPIs.")

F = TypeVar("F", bound=Callable[..., Any])

_SOURCE = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
    for name, kind in {
        "transactions": Annotated[
            Path | None,
            typer.Option(help="Analyse this CSV/Parquet/text file instead of the warehouse."),
        ],
        "customer_col": Annotated[str | None, typer.Option(help="Column of the customer id.")],
        "date_col": Annotated[str | None, typer.Option(help="Column of the purchase date.")],
        "amount_col": Annotated[str | None, typer.Option(help="Column of the amount paid.")],
        "receipt_col": Annotated[str | None, typer.Option(help="Column of the receipt id.")],
        "sku_col": Annotated[str | None, typer.Option(help="Column of the product.")],
        "date_format": Annotated[
            str | None, typer.Option(help="strptime format of the dates, e.g. %Y%m%d.")
        ],
        "separator": Annotated[
            str | None, typer.Option(help="Field separator: one character or 'whitespace'.")
        ],
        "no_header": Annotated[
            bool | None,
            typer.Option("--no-header", help="The file has no header: columns are column0, …"),
        ],
        "warehouse": Annotated[
            Path | None, typer.Option(help="Warehouse folder (default REGULARS_WAREHOUSE_DIR).")
        ],
    }.items()
]


def _open(
    transactions: Path | None, warehouse: Path | None, **columns: Any
) -> duckdb.DuckDBPyConnection:
    if transactions is None:
        return open_warehouse(warehouse or get_settings().warehouse_dir)
    names = {k: columns[f"{k}_col"] for k in ("customer", "date", "amount")}
    for key, name in names.items():
        if name is None:
            raise InvalidInput(f"--{key}-col is needed with --transactions", field=f"{key}_col")
    connection = duckdb.connect()
    report = load_transactions(
        connection,
        transactions,
        columns=Columns(
            **names,
            receipt=columns["receipt_col"],
            sku=columns["sku_col"],
            date_format=columns["date_format"],
        ),
        separator=columns["separator"],
        header=not columns["no_header"],
    )
    err_console.print(
        f"{report.rows:,} rows, {report.customers:,} customers, "
        f"{report.first_purchase} to {report.last_purchase}"
        + (
            f"; {report.negative_amounts_left_out:,} negative amounts left out"
            if report.negative_amounts_left_out
            else ""
        )
    )
    return connection


def reads_transactions(func: F) -> F:
    """Give a command the shared source options; it receives the opened ``connection``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        source = {p.name: kwargs.pop(p.name) for p in _SOURCE}
        return func(*args, connection=_open(**source), **kwargs)

    own = [p for p in inspect.signature(func).parameters.values() if p.name != "connection"]
    wrapper.__signature__ = inspect.Signature([*own, *_SOURCE])  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def write_summary(out: Path, name: str, summary: object) -> Path:
    """The JSON summary every analysis leaves beside its Parquet files."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    plain = asdict(summary) if is_dataclass(summary) and not isinstance(summary, type) else summary
    path.write_text(json.dumps(plain, indent=2, default=str))
    return path


def _day(text: str | None, field: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as error:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", field=field) from error


Out = Annotated[Path, typer.Option(help="Folder for the Parquet and JSON results.")]


@warehouse_app.command("sync")
@reports_errors
def sync(
    warehouse: Annotated[
        Path | None, typer.Option(help="Warehouse folder (default REGULARS_WAREHOUSE_DIR).")
    ] = None,
) -> None:
    """Copy new sales, lines, refunds and ledger entries; refresh members, lots and tiers."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    ensure_migrated(engine)
    with row_progress() as progress:
        tasks: dict[str, Any] = {}

        def advance(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(table, total=total)
            progress.update(tasks[table], completed=done)

        report = sync_warehouse(engine, warehouse or settings.warehouse_dir, progress=advance)
    table = Table("table", "new rows", "snapshot rows", title="warehouse sync")
    for name, rows in report.copied.items():
        table.add_row(name, f"{rows:,}", "")
    for name, rows in report.snapshots.items():
        table.add_row(name, "", f"{rows:,}")
    console.print(table)


@app.command("rfm")
@reports_errors
@reads_transactions
def rfm(
    connection: duckdb.DuckDBPyConnection,
    out: Out = Path("var/analytics/rfm"),
    as_of: Annotated[
        str | None, typer.Option(help="Score as of this day (default: last sale).")
    ] = None,
    quantiles: Annotated[int, typer.Option(help="Score levels (5: quintiles).")] = 5,
    compare_to: Annotated[
        str | None, typer.Option(help="Also show how segments moved since this earlier day.")
    ] = None,
) -> None:
    """RFM scores and named segments; with --compare-to, the migration matrix."""
    day = _day(as_of, "as_of") or _last_day(connection)
    scored = rfm_table(connection, as_of=day, quantiles=quantiles)
    out.mkdir(parents=True, exist_ok=True)
    scored.write_parquet(out / "rfm.parquet")
    rows = segment_summary(scored)
    table = Table(
        "segment",
        "customers",
        "share",
        "revenue share",
        "mean spend",
        title=f"RFM segments on {day}",
    )
    for row in rows:
        table.add_row(
            row.segment,
            f"{row.customers:,}",
            f"{row.customer_share:.1%}",
            f"{row.revenue_share:.1%}",
            f"{row.mean_monetary:,.2f}",
        )
    console.print(table)
    summary: dict[str, object] = {
        "as_of": day,
        "quantiles": quantiles,
        "segments": [asdict(r) for r in rows],
    }
    start = _day(compare_to, "compare_to")
    if start is not None:
        moved = segment_migration(connection, start=start, end=day, quantiles=quantiles)
        summary["migration"] = {
            "from": moved.from_labels,
            "to": moved.to_labels,
            "counts": moved.counts.tolist(),
        }
    console.print(f"written to {out}/rfm.parquet and {write_summary(out, 'rfm', summary)}")


def _last_day(connection: duckdb.DuckDBPyConnection) -> date:
    [(last,)] = connection.execute(
        "SELECT CAST(max(purchased_at) AS DATE) FROM transactions"
    ).fetchall()
    if last is None:
        raise InvalidInput("there are no purchases to analyse", field="transactions")
    return last
