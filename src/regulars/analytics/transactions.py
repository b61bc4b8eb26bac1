"""Build the ``transactions`` table from an analyst's file: a POS export is enough.

The file may be CSV (delimiter sniffed), whitespace-separated text (the classic CDNOW
layout) or Parquet. The analyst names the columns; everything else is checked here, so
each analysis can trust its input.

Documented fallbacks, each counted in the ``LoadReport``:

- rows with a negative amount (returns in a POS export) are left out;
- rows with an amount of exactly zero stay: a sale paid wholly with coupons or points is
  still a visit.

Everything else that is wrong (a missing column, a date that does not parse, an amount
that is not a number, an empty file) stops the load with a message naming the column and
an example, and nothing is created.
"""

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from regulars.errors import InvalidInput, NotFound

WHITESPACE: Final = "whitespace"


class TransactionsFileNotFound(NotFound):
    code = "transactions_file_not_found"


class BadTransactions(InvalidInput):
    code = "bad_transactions"


@dataclass(frozen=True)
class Columns:
    """Which of the file's columns hold what; receipt and SKU are optional."""

    customer: str
    date: str
    amount: str
    receipt: str | None = None
    sku: str | None = None
    date_format: str | None = None  # strptime format, e.g. %Y%m%d; None: ISO dates


@dataclass(frozen=True)
class LoadReport:
    rows: int
    customers: int
    negative_amounts_left_out: int
    zero_amounts: int
    first_purchase: str
    last_purchase: str


def _whitespace_table(path: Path, header: bool) -> pa.Table:
    """Split each line on runs of blanks; DuckDB's CSV reader wants one fixed delimiter."""
    with path.open(encoding="utf-8") as text:
        return _table([line.split() for line in text if line.strip()], header)


def _python_csv_table(path: Path, header: bool, separator: str | None) -> pa.Table:
    """Read a CSV that DuckDB's sniffer gives up on, such as one whose header ends in LF and
    whose rows end in CRLF: Python's reader takes any mix of line endings."""
    with path.open(encoding="utf-8-sig", newline="") as text:
        sample = text.read(1 << 16)
        text.seek(0)
        delimiter = separator or csv.Sniffer().sniff(sample, delimiters=",;|\t").delimiter
        return _table([row for row in csv.reader(text, delimiter=delimiter) if any(row)], header)


def _table(rows: list[list[str]], header: bool) -> pa.Table:
    if header and rows:
        names, rows = rows[0], rows[1:]
    else:
        names = [f"column{i}" for i in range(max((len(r) for r in rows), default=0))]
    width = len(names)
    ragged = next((n for n, r in enumerate(rows, start=2 if header else 1) if len(r) != width), 0)
    if ragged:
        raise BadTransactions(f"line {ragged} does not have {width} fields", field="transactions")
    return pa.table({name: [r[i] for r in rows] for i, name in enumerate(names)})


def _source(
    connection: duckdb.DuckDBPyConnection, path: Path, separator: str | None, header: bool
) -> duckdb.DuckDBPyRelation:
    if not path.is_file():
        raise TransactionsFileNotFound(f"no file {path}", field="transactions")
    if path.suffix.lower() == ".parquet":
        return connection.read_parquet(str(path))
    if separator == WHITESPACE:
        return connection.from_arrow(_whitespace_table(path, header))
    try:  # no separator: DuckDB sniffs it
        return connection.read_csv(str(path), header=header, all_varchar=True, sep=separator)
    except duckdb.InvalidInputException:
        return connection.from_arrow(_python_csv_table(path, header, separator))


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Whatever a file does wrong that the checks below do not name: one line naming it."""
    try:
        yield
    except (duckdb.Error, csv.Error, UnicodeDecodeError) as error:
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BadTransactions(
            f"{path.name} cannot be read: {cause}", field="transactions"
        ) from error


def purchase_days(connection: duckdb.DuckDBPyConnection, *, empty: str) -> tuple[date, date]:
    """First and last purchase day of the ``transactions`` table.

    An empty table is refused with ``no_transactions``; ``empty`` says in the analysis's
    words what is then missing ("there is nobody to segment").
    """
    [(first, last)] = connection.execute(
        "SELECT CAST(min(purchased_at) AS DATE), CAST(max(purchased_at) AS DATE) FROM transactions"
    ).fetchall()
    if first is None:
        raise InvalidInput(
            f"the transactions table is empty: {empty}",
            code="no_transactions",
            field="transactions",
        )
    return first, last


def last_purchase_day(connection: duckdb.DuckDBPyConnection) -> date:
    """The default ``as_of`` of every analysis: the last day anyone bought."""
    _, last = purchase_days(connection, empty="there are no purchases to analyse")
    return last


def relations(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables and views a connection holds: analyses read the optional ones if present."""
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    ).fetchall()
    return {str(row[0]) for row in rows}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _require(relation: duckdb.DuckDBPyRelation, columns: Columns) -> None:
    present = set(relation.columns)
    wanted = {
        "customer_col": columns.customer,
        "date_col": columns.date,
        "amount_col": columns.amount,
        "receipt_col": columns.receipt,
        "sku_col": columns.sku,
    }
    for option, name in wanted.items():
        if name is not None and name not in present:
            raise BadTransactions(
                f"the file has no column {name!r} (it has {', '.join(relation.columns)})",
                field=option,
            )


def _first_bad(
    connection: duckdb.DuckDBPyConnection, condition: str, column: str, label: str, field: str
) -> None:
    row = connection.execute(
        f"SELECT count(*), any_value({_quoted(column)}) FROM raw WHERE {condition}"
    ).fetchall()[0]
    if row and row[0]:
        example = f", for example {row[1]!r}" if row[1] is not None else ""
        raise BadTransactions(
            f"{row[0]:,} rows have {label} in column {column!r}{example}", field=field
        )


def load_transactions(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    columns: Columns,
    separator: str | None = None,
    header: bool = True,
) -> LoadReport:
    """Create the ``transactions`` table of ``connection`` from a file.

    Parameters
    ----------
    connection:
        The DuckDB connection the analyses will use.
    path:
        CSV, whitespace-separated text or Parquet file, one row per purchase or per line.
    columns:
        The names of the file's columns (``column0``, ``column1``, ... without a header).
    separator:
        ``None`` to sniff a CSV delimiter, a single character, or ``"whitespace"``.
    header:
        Whether the first line names the columns (text files only).
    """
    with _readable(Path(path)):
        raw = _source(connection, Path(path), separator, header)
        _require(raw, columns)
        connection.register("raw", raw)
        return _load(connection, columns)


def _load(connection: duckdb.DuckDBPyConnection, columns: Columns) -> LoadReport:
    """Check the registered ``raw`` rows, then make the ``transactions`` table of them."""
    date = _quoted(columns.date)
    moment = (
        f"try_strptime(CAST({date} AS VARCHAR), '{columns.date_format}')"
        if columns.date_format
        else f"TRY_CAST({date} AS TIMESTAMP)"
    )
    amount = f"TRY_CAST({_quoted(columns.amount)} AS DOUBLE)"
    try:
        _first_bad(
            connection,
            f"{date} IS NOT NULL AND {moment} IS NULL",
            columns.date,
            "a date that does not parse (is --date-format right?)",
            "date_col",
        )
        _first_bad(connection, f"{date} IS NULL", columns.date, "no date", "date_col")
    except duckdb.InvalidInputException as error:  # a date format DuckDB cannot read
        raise BadTransactions(str(error).splitlines()[0], field="date_format") from error
    _first_bad(
        connection,
        f"{amount} IS NULL",
        columns.amount,
        "an amount that is not a number",
        "amount_col",
    )
    _first_bad(
        connection,
        f"{_quoted(columns.customer)} IS NULL",
        columns.customer,
        "no customer",
        "customer_col",
    )
    optional = [
        f"CAST({_quoted(c)} AS VARCHAR)" if c else "CAST(NULL AS VARCHAR)"
        for c in (columns.receipt, columns.sku)
    ]
    [(kept, negatives)] = connection.execute(
        f"SELECT count(*) FILTER ({amount} >= 0), count(*) FILTER ({amount} < 0) FROM raw"
    ).fetchall()
    if not kept:
        connection.unregister("raw")
        raise BadTransactions("there are no purchases to analyse", field="transactions")
    connection.execute(
        f"""
        CREATE OR REPLACE TABLE transactions AS
        SELECT trim(CAST({_quoted(columns.customer)} AS VARCHAR)) AS customer_id,
               CAST({moment} AS TIMESTAMP) AS purchased_at,
               {amount} AS amount,
               {optional[0]} AS receipt_id,
               {optional[1]} AS sku
        FROM raw WHERE {amount} >= 0
        """
    )
    connection.unregister("raw")
    return _describe(connection, negatives)


def _describe(connection: duckdb.DuckDBPyConnection, left_out: int) -> LoadReport:
    row = connection.execute(
        "SELECT count(*), count(DISTINCT customer_id), count(*) FILTER (amount = 0), "
        "CAST(min(purchased_at) AS DATE), CAST(max(purchased_at) AS DATE) FROM transactions"
    ).fetchall()[0]
    return LoadReport(
        rows=row[0],
        customers=row[1],
        negative_amounts_left_out=left_out,
        zero_amounts=row[2],
        first_purchase=str(row[3]),
        last_purchase=str(row[4]),
    )
