"""Catalogue import layouts: one row per store, category or product, columns named as fields."""

from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from regulars.batch import Outcome
from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.catalog.service import CatalogRecord, add_catalog_records
from regulars.imports.files import NumberedRow
from regulars.imports.pipeline import ImportReport, ImportSpec, Unit, row_key, run_import

REQUIRED: dict[type[BaseModel], list[str]] = {
    StoreCreate: ["code", "name", "region"],
    CategoryCreate: ["code", "name", "level"],
    ProductCreate: ["sku", "name", "brand", "category_code", "regular_price"],
}


def _locate(unit: Unit, location: str) -> tuple[NumberedRow, str]:
    return unit.rows[0], location


def _write(session: Session, records: list[CatalogRecord]) -> list[Outcome]:
    return add_catalog_records(session, records=records)


def import_catalog(
    sessions: sessionmaker[Session],
    path: Path,
    kind: type[StoreCreate] | type[CategoryCreate] | type[ProductCreate],
    *,
    show_progress: bool = True,
    encoding: str = "utf-8-sig",
) -> ImportReport:
    def build(unit: Unit) -> CatalogRecord:
        values = {k: v for k, v in unit.rows[0].values.items() if v is not None}
        return kind.model_validate(values)

    spec: ImportSpec[CatalogRecord] = ImportSpec(
        required_columns=REQUIRED[kind],
        columns=list(kind.model_fields),
        key_of=row_key,
        build=build,
        write=_write,
        locate=_locate,
    )
    return run_import(sessions, path, spec, show_progress=show_progress, encoding=encoding)
