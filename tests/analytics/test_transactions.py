"""An analyst's own file becomes the transactions table, or a clear refusal."""

from pathlib import Path

import duckdb
import pytest

from regulars.analytics.transactions import (
    BadTransactions,
    Columns,
    TransactionsFileNotFound,
    load_transactions,
)

COLUMNS = Columns(customer="cust", date="day", amount="paid", receipt="ticket")


def _file(tmp_path: Path, text: str, name: str = "sales.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_pos_export_loads_with_returns_left_out_and_free_sales_kept(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "cust;day;paid;ticket\n"
        "A;2026-01-02 10:00;12.50;T1\n"
        "A;2026-01-02 10:00;-3.00;T1\n"  # a line taken back
        "B;2026-01-05;0;T2\n"  # paid wholly with a coupon
        " B ;2026-02-01;7.25;T3\n",
    )
    connection = duckdb.connect()
    report = load_transactions(connection, path, columns=COLUMNS)
    assert (report.rows, report.customers) == (3, 2)
    assert (report.negative_amounts_left_out, report.zero_amounts) == (1, 1)
    assert (report.first_purchase, report.last_purchase) == ("2026-01-02", "2026-02-01")
    rows = connection.execute(
        "SELECT customer_id, sum(amount), count(DISTINCT receipt_id) FROM transactions "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("A", 12.5, 1), ("B", 7.25, 2)]


def test_whitespace_text_without_header_and_a_date_format(tmp_path: Path) -> None:
    path = _file(tmp_path, " 0001 19970101  2   29.33\n 0001 19970118 1 9.00\n\n", "cd.txt")
    connection = duckdb.connect()
    columns = Columns(customer="column0", date="column1", amount="column3", date_format="%Y%m%d")
    report = load_transactions(
        connection, path, columns=columns, separator="whitespace", header=False
    )
    assert (report.rows, report.last_purchase) == (2, "1997-01-18")
    [(total,)] = connection.execute("SELECT sum(amount) FROM transactions").fetchall()
    assert total == pytest.approx(38.33)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("cust,when,paid\nA,2026-01-01,1\n", "date_col", "no column 'day'"),
        ("cust,day,paid\nA,yesterday,1\nB,2026-01-01,2\n", "date_col", "'yesterday'"),
        ("cust,day,paid\nA,2026-01-01,ten\n", "amount_col", "'ten'"),
        ("cust,day,paid\n,2026-01-01,1\n", "customer_col", "no customer"),
        ("cust,day,paid\nA,2026-01-01,-1\n", "transactions", "no purchases"),
    ],
)
def test_bad_files_are_refused_naming_the_column(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    connection = duckdb.connect()
    columns = Columns(customer="cust", date="day", amount="paid")
    with pytest.raises(BadTransactions, match=words) as refused:
        load_transactions(connection, _file(tmp_path, text), columns=columns)
    assert refused.value.field == field
    tables = connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert ("transactions",) not in tables  # nothing half-made


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TransactionsFileNotFound, match="nope.csv"):
        load_transactions(duckdb.connect(), tmp_path / "nope.csv", columns=COLUMNS)


def test_a_header_ending_in_lf_over_rows_ending_in_crlf_loads(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"cust,day,paid\n" + b"A,2026-01-02,12.50\r\nB,2026-01-05,3\r\n" * 40)
    connection = duckdb.connect()
    report = load_transactions(connection, path, columns=Columns("cust", "day", "paid"))
    assert (report.rows, report.customers) == (80, 2)
    [(total,)] = connection.execute("SELECT sum(amount) FROM transactions").fetchall()
    assert total == pytest.approx(40 * 15.5)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"PAR1\x00\x01not really parquet", "data.parquet cannot be read"),
        (b"cust,day,paid\n\xff\xfe\x00A,2026-01-02,1\n", "data.csv cannot be read"),
    ],
)
def test_an_unreadable_file_is_one_line_naming_it(
    tmp_path: Path, content: bytes, words: str
) -> None:
    name = "data.parquet" if content.startswith(b"PAR1") else "data.csv"
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadTransactions, match=words) as refused:
        load_transactions(duckdb.connect(), path, columns=Columns("cust", "day", "paid"))
    assert "\n" not in refused.value.message
