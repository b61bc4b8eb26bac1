"""The shared shape of every import: read, group, validate, write in batches, reject with reasons.

Each batch is one transaction, so an interrupted import leaves whole batches behind and
running it again finishes the job without writing anything twice.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from regulars.batch import Outcome, Recorded
from regulars.db import run_in_transaction
from regulars.errors import RegularsError
from regulars.imports.files import (
    BlankRow,
    BrokenRow,
    NumberedRow,
    RejectsFile,
    RowReader,
    describe,
)
from regulars.terminal import row_progress

M = TypeVar("M", bound=BaseModel)


@dataclass
class Unit:
    """The rows that make one record: one member, or all the lines of one receipt."""

    key: str
    rows: list[NumberedRow]


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    rejected_rows: int = 0
    blank_rows: int = 0  # rows without a single value: skipped, and counted
    rejects_file: Path | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportSpec(Generic[M]):
    """What differs between imports; the pipeline below does the rest."""

    required_columns: Sequence[str]
    columns: Sequence[str]
    key_of: Callable[[NumberedRow], str]
    build: Callable[[Unit], M]
    write: Callable[[Session, list[M]], list[Outcome]]
    # Where a validation error points inside a record ("lines.2.quantity"): which row and column.
    locate: Callable[[Unit, str], tuple[NumberedRow, str]]


def row_key(row: NumberedRow) -> str:
    """For layouts where every row is a record of its own, even when two rows are identical."""
    return f"row {row.number}"


def run_import(
    sessions: sessionmaker[Session],
    path: Path,
    spec: ImportSpec[M],
    *,
    batch_rows: int = 5000,
    show_progress: bool = True,
    encoding: str = "utf-8-sig",
) -> ImportReport:
    reader = RowReader(path, spec.required_columns, encoding)
    scattered = _scattered_keys(reader, spec)
    report = ImportReport()
    extra = [c for c in reader.columns if c not in spec.columns]
    with RejectsFile(path, reader.columns) as rejects, row_progress() as progress:
        task = progress.add_task(
            f"importing {path.name}", total=reader.count(), visible=show_progress
        )
        for units in _batches(_units(reader, spec, rejects, report, scattered), batch_rows):
            built: list[tuple[Unit, M]] = []
            for unit in units:
                try:
                    built.append((unit, spec.build(unit)))
                except ValidationError as error:
                    _reject_unit(rejects, spec, unit, describe(error))
                except RegularsError as error:
                    _reject_unit(rejects, spec, unit, [(error.field or "", error.message)])
            if built:
                records = [record for _, record in built]
                outcomes = run_in_transaction(sessions, _writing(spec, records))
                for (unit, _), outcome in zip(built, outcomes, strict=True):
                    if isinstance(outcome, Recorded):
                        report.created += outcome.created
                        report.unchanged += not outcome.created
                    else:
                        _reject_unit(rejects, spec, unit, [(outcome.field or "", outcome.message)])
            done = sum(len(unit.rows) for unit in units)
            report.rows += done
            progress.update(task, completed=report.rows)
        report.rejected_rows = rejects.count
        report.rejects_file = rejects.path if rejects.count else None
    if extra:
        report.problems.append(f"ignored unknown column(s): {', '.join(extra)}")
    return report


def _writing(spec: ImportSpec[M], records: list[M]) -> Callable[[Session], list[Outcome]]:
    def write(session: Session) -> list[Outcome]:
        return spec.write(session, records)

    return write


def _scattered_keys(reader: RowReader, spec: ImportSpec[M]) -> set[str]:
    """Keys whose rows are not all together: such a record is refused whole, never half-written."""
    finished: set[str] = set()
    scattered: set[str] = set()
    previous: str | None = None
    for item in reader:
        if not isinstance(item, NumberedRow):
            continue
        key = spec.key_of(item)
        if key != previous:
            if key in finished:
                scattered.add(key)
            if previous is not None:
                finished.add(previous)
            previous = key
    return scattered


def _units(
    reader: RowReader,
    spec: ImportSpec[M],
    rejects: RejectsFile,
    report: ImportReport,
    scattered: set[str],
) -> Iterator[Unit]:
    """Consecutive rows with the same key form one unit."""
    current: Unit | None = None
    for item in reader:
        if isinstance(item, BlankRow):
            report.blank_rows += 1
            continue
        if isinstance(item, BrokenRow):
            rejects.reject_broken(item)
            report.rows += 1
            continue
        key = spec.key_of(item)
        if key in scattered:
            rejects.reject(item.number, f"the rows of {key} are not consecutive", item.values)
            report.rows += 1
            continue
        if current is not None and key == current.key:
            current.rows.append(item)
            continue
        if current is not None:
            yield current
        current = Unit(key, [item])
    if current is not None:
        yield current


def _batches(units: Iterable[Unit], batch_rows: int) -> Iterator[list[Unit]]:
    batch: list[Unit] = []
    rows = 0
    for unit in units:
        batch.append(unit)
        rows += len(unit.rows)
        if rows >= batch_rows:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch


def _reject_unit(
    rejects: RejectsFile, spec: ImportSpec[M], unit: Unit, problems: list[tuple[str, str]]
) -> None:
    """Every row of a refused record goes to the rejects; the guilty rows say why."""
    reasons: dict[int, list[str]] = {}
    for location, message in problems:
        row, column = spec.locate(unit, location)
        reasons.setdefault(row.number, []).append(f"{column}: {message}" if column else message)
    first_guilty = min(reasons)
    for row in unit.rows:
        reason = "; ".join(reasons.get(row.number, []))
        rejects.reject(
            row.number,
            reason or f"another row of {unit.key} (row {first_guilty}) was refused",
            row.values,
        )
