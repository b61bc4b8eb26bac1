"""The options every analysis command shares: where the transactions come from, dates, output."""

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import typer

from regulars.analytics.transactions import Columns, load_transactions
from regulars.analytics.warehouse import open_warehouse
from regulars.config import get_settings
from regulars.errors import InvalidInput
from regulars.terminal import err_console

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


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", field=field) from error


def parse_optional_day(text: str | None, field: str) -> date | None:
    return parse_day(text, field) if text else None


class TimeUnitOption(StrEnum):
    week = "week"
    day = "day"


Out = Annotated[Path, typer.Option(help="Folder for the Parquet and JSON results.")]


Warehouse = Annotated[
    Path | None, typer.Option(help="Warehouse folder (default REGULARS_WAREHOUSE_DIR).")
]
AsOf = Annotated[str | None, typer.Option(help="Describe this day (default: last sale).")]
