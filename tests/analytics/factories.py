"""Small hand-made ``transactions`` tables, so expected results can be worked out by hand."""

from collections.abc import Sequence
from datetime import datetime

import duckdb

Purchase = tuple[str, datetime, float]  # customer, moment, amount
Row = tuple[str, datetime, float, str | None]  # the same, and the receipt


def make_transactions(rows: Sequence[Purchase | Row]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose ``transactions`` table holds exactly ``rows``."""
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE transactions (customer_id VARCHAR, purchased_at TIMESTAMP,"
        " amount DOUBLE, receipt_id VARCHAR, sku VARCHAR)"
    )
    if rows:
        connection.executemany(
            "INSERT INTO transactions VALUES (?, ?, ?, ?, NULL)",
            [[*row, None][:4] for row in rows],
        )
    return connection
