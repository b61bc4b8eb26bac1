"""Opening balance import layout: one row per lot of carried-over points."""

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from regulars.batch import Outcome
from regulars.config import Settings
from regulars.imports.files import NumberedRow
from regulars.imports.pipeline import ImportReport, ImportSpec, Unit, row_key, run_import
from regulars.points.opening import open_balances
from regulars.points.schemas import OpeningBalanceIn

COLUMNS = ["member_card", "points", "expires_at"]


def _build(unit: Unit) -> OpeningBalanceIn:
    values = unit.rows[0].values
    return OpeningBalanceIn.model_validate(
        {column: values[column] for column in COLUMNS if values.get(column) is not None}
    )


def _locate(unit: Unit, location: str) -> tuple[NumberedRow, str]:
    return unit.rows[0], location


def import_balances(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    settings: Settings,
    now: datetime,
    show_progress: bool = True,
    encoding: str = "utf-8-sig",
) -> ImportReport:
    """Carry members' points over from a previous loyalty system, each lot with its expiry."""

    def write(session: Session, balances: list[OpeningBalanceIn]) -> list[Outcome]:
        return open_balances(session, balances=balances, now=now, zone=settings.zone)

    spec = ImportSpec(
        required_columns=["member_card", "points"],
        columns=COLUMNS,
        key_of=row_key,
        build=_build,
        write=write,
        locate=_locate,
    )
    return run_import(sessions, path, spec, show_progress=show_progress, encoding=encoding)
