"""Member import layout: one row per member."""

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from regulars.batch import Outcome
from regulars.config import Settings
from regulars.imports.files import NumberedRow
from regulars.imports.pipeline import ImportReport, ImportSpec, Unit, row_key, run_import
from regulars.members.models import ConsentChannel
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_members

CONSENT_COLUMNS = {f"consent_{channel.value}": channel for channel in ConsentChannel}
COLUMNS = [
    "card_number",
    "phone",
    "email",
    "name",
    "gender",
    "birth_date",
    "joined_at",
    "join_store",
    "referred_by",
    *CONSENT_COLUMNS,
]
_RENAMED = {"join_store": "join_store_code", "referred_by": "referred_by_code"}
_COLUMN_OF = {
    **{field: column for column, field in _RENAMED.items()},
    **{f"consents.{channel.value}": column for column, channel in CONSENT_COLUMNS.items()},
}


def _build(unit: Unit) -> MemberCreate:
    values = unit.rows[0].values
    fields: dict[str, object] = {
        _RENAMED.get(column, column): values.get(column)
        for column in COLUMNS
        if column not in CONSENT_COLUMNS and values.get(column) is not None
    }
    fields["consents"] = {
        channel.value: values[column]
        for column, channel in CONSENT_COLUMNS.items()
        if values.get(column) is not None
    }
    return MemberCreate.model_validate(fields)


def _locate(unit: Unit, location: str) -> tuple[NumberedRow, str]:
    return unit.rows[0], _COLUMN_OF.get(location, location)


def import_members(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    settings: Settings,
    now: datetime,
    show_progress: bool = True,
    encoding: str = "utf-8-sig",
) -> ImportReport:
    def write(session: Session, members: list[MemberCreate]) -> list[Outcome]:
        return enroll_members(
            session,
            members=members,
            now=now,
            source="import",
            region=settings.phone_region,
            zone=settings.zone,
        )

    spec = ImportSpec(
        required_columns=[],
        columns=COLUMNS,
        key_of=row_key,
        build=_build,
        write=write,
        locate=_locate,
    )
    return run_import(sessions, path, spec, show_progress=show_progress, encoding=encoding)
