"""Receipt import layout: one row per receipt line; a receipt's lines are consecutive rows."""

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from regulars.batch import Outcome
from regulars.checkout.service import record_and_credit
from regulars.config import Settings
from regulars.errors import InvalidInput
from regulars.imports.files import NumberedRow
from regulars.imports.pipeline import ImportReport, ImportSpec, Unit, run_import
from regulars.sales.schemas import ReceiptIn

HEADER_COLUMNS = ["store", "pos_receipt_no", "sold_at", "channel", "member_card", "payment_method"]
LINE_COLUMNS = ["sku", "quantity", "unit_price", "line_discount"]
COLUMNS = HEADER_COLUMNS + LINE_COLUMNS
REQUIRED = ["store", "pos_receipt_no", "sold_at", "sku", "quantity", "unit_price"]
_RENAMED = {"store": "store_code"}


def _key(row: NumberedRow) -> str:
    return f"receipt {row.values.get('store')}/{row.values.get('pos_receipt_no')}"


def _build(unit: Unit) -> ReceiptIn:
    first = unit.rows[0]
    for row in unit.rows[1:]:
        for column in HEADER_COLUMNS:
            if row.values.get(column) != first.values.get(column):
                raise InvalidInput(
                    f"differs from row {first.number} of the same receipt",
                    field=f"rows.{row.number}.{column}",
                )
    header = {_RENAMED.get(c, c): first.values[c] for c in HEADER_COLUMNS if first.values.get(c)}
    lines = [
        {c: row.values[c] for c in LINE_COLUMNS if row.values.get(c) is not None}
        for row in unit.rows
    ]
    return ReceiptIn.model_validate({**header, "lines": lines})


def _locate(unit: Unit, location: str) -> tuple[NumberedRow, str]:
    """'lines.2.quantity' is row 3 of the receipt's rows; header fields belong to its first row."""
    parts = location.split(".")
    if parts[0] == "rows":
        row = next(r for r in unit.rows if r.number == int(parts[1]))
        return row, parts[2]
    if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit():
        return unit.rows[int(parts[1])], ".".join(parts[2:])
    return unit.rows[0], {v: k for k, v in _RENAMED.items()}.get(location, location)


def import_receipts(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    settings: Settings,
    now: datetime,
    show_progress: bool = True,
    encoding: str = "utf-8-sig",
    earn: bool = True,
) -> ImportReport:
    """Record the receipts of a file; with `earn` their members earn points and tier progress
    by the active program, as at the till (without, for history that predates the program)."""
    limits = settings.receipt_limits

    def write(session: Session, receipts: list[ReceiptIn]) -> list[Outcome]:
        return record_and_credit(session, receipts=receipts, now=now, limits=limits, earn=earn)

    spec = ImportSpec(
        required_columns=REQUIRED,
        columns=COLUMNS,
        key_of=_key,
        build=_build,
        write=write,
        locate=_locate,
    )
    return run_import(sessions, path, spec, show_progress=show_progress, encoding=encoding)
