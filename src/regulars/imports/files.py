"""Reading import files row by row and writing the rejects beside them."""

import csv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from regulars.errors import InvalidInput, in_words

Row = dict[str, str | None]


@dataclass(frozen=True)
class NumberedRow:
    number: int  # as a spreadsheet shows it: the header is row 1
    values: Row


@dataclass(frozen=True)
class BrokenRow:
    """A row that cannot even be split into the header's fields; kept as it was written."""

    number: int
    reason: str
    fields: list[str]


@dataclass(frozen=True)
class BlankRow:
    number: int


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class RowReader:
    """Rows of a CSV or Parquet file as text, so both go through the same validation."""

    def __init__(self, path: Path, required: Sequence[str], encoding: str = "utf-8-sig") -> None:
        if not path.exists():
            raise InvalidInput(f"{path} does not exist", field="file")
        self.path = path
        self.encoding = encoding
        self.is_parquet = path.suffix.lower() in {".parquet", ".pq"}
        with self._readable():
            self.columns = self._columns()
        missing = [name for name in required if name not in self.columns]
        if missing:
            raise InvalidInput(
                f"{path.name} lacks the column(s) {', '.join(missing)}", field="columns"
            )

    def _columns(self) -> list[str]:
        if self.is_parquet:
            return list(pq.ParquetFile(self.path).schema_arrow.names)
        with self._text() as handle:
            header = next(csv.reader(handle), None)
        if not header:
            raise InvalidInput(f"{self.path.name} is empty: a header row is needed", field="file")
        return [name.strip() for name in header]

    def count(self) -> int:
        if self.is_parquet:
            return int(pq.ParquetFile(self.path).metadata.num_rows)
        with self.path.open("rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)

    def _text(self) -> TextIO:
        try:
            return self.path.open(newline="", encoding=self.encoding)
        except LookupError as exc:
            raise InvalidInput(f"unknown encoding {self.encoding!r}", field="encoding") from exc

    def __iter__(self) -> Iterator[NumberedRow | BrokenRow | BlankRow]:
        """Each row, a broken one with its reason, or a blank one."""
        with self._readable():
            yield from self._rows()

    @contextmanager
    def _readable(self) -> Iterator[None]:
        """Turn what the file's bytes do wrong into one clear error naming the file."""
        try:
            yield
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{self.path.name} is not {self.encoding} text ({exc.reason} at byte {exc.start}); "
                "name its encoding, e.g. --encoding gbk",
                field="encoding",
            ) from exc
        except csv.Error as exc:
            raise InvalidInput(
                f"{self.path.name} is not readable CSV: {exc}", field="file"
            ) from exc
        except pa.ArrowException as exc:
            raise InvalidInput(
                f"{self.path.name} is not a readable Parquet file: {exc}", field="file"
            ) from exc

    def _rows(self) -> Iterator[NumberedRow | BrokenRow | BlankRow]:
        if self.is_parquet:
            number = 1
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=10_000):
                for record in batch.to_pylist():
                    number += 1
                    yield NumberedRow(number, {k: _text(v) for k, v in record.items()})
            return
        with self._text() as handle:
            reader = csv.reader(handle)
            next(reader)
            for number, fields in enumerate(reader, start=2):
                if not any(field.strip() for field in fields):
                    yield BlankRow(number)
                    continue
                if len(fields) != len(self.columns):
                    reason = f"has {len(fields)} fields, the header has {len(self.columns)}"
                    yield BrokenRow(number, reason, fields)
                    continue
                if any("\x00" in field for field in fields):
                    yield BrokenRow(number, "contains a NUL character", fields)
                    continue
                yield NumberedRow(
                    number, {k: _text(v) for k, v in zip(self.columns, fields, strict=True)}
                )


def _row_number(reject: list[object]) -> int:
    number = reject[0]
    assert isinstance(number, int)
    return number


class RejectsFile:
    """`<input>.rejects.csv`: every refused row in the order of the input, with its row number,
    the reason and its cells as they were written."""

    def __init__(self, input_path: Path, columns: Sequence[str]) -> None:
        self.path = input_path.with_name(input_path.name + ".rejects.csv")
        self.columns = list(columns)
        self.rows: list[list[object]] = []
        self.path.unlink(missing_ok=True)  # an earlier run's rejects are not this run's

    @property
    def count(self) -> int:
        return len(self.rows)

    def reject(self, number: int, reason: str, values: Row | None = None) -> None:
        values = values or {}
        self.rows.append([number, reason, *(values.get(c) or "" for c in self.columns)])

    def reject_broken(self, row: BrokenRow) -> None:
        self.rows.append([row.number, row.reason, *row.fields])

    def __enter__(self) -> "RejectsFile":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.rows:
            return
        in_input_order = sorted(self.rows, key=_row_number)
        with self.path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "reason", *self.columns])
            writer.writerows(in_input_order)


def describe(
    error: ValidationError, column_of: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """(column, message) for each problem pydantic found, in the file's column names."""
    found = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"])
        column = (column_of or {}).get(location, location)
        found.append((column, in_words(problem)))
    return found
