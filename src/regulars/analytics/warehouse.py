"""The analytics warehouse: Parquet under var/warehouse/, copied from the operational database.

Append-only facts (receipts, their lines, ledger entries) are copied
incrementally: each sync reads only rows with an id above the last one copied and adds
them as new files in the month partitions (``receipts/month=2026-05/...``). Tables whose
rows change in place (members, point lots, tiers, catalogue) and refunds (which carry no
time of recording to settle on) are small next to the facts and are rewritten whole as
snapshots.

No personal data leaves the operational database: members appear by their internal id
only, and a merged account's purchases are credited to the member it was merged into
(``customer_id`` in the members snapshot).
"""

import json
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
from sqlalchemy import Engine, func, select

from regulars.clock import utc_now
from regulars.errors import NotFound
from regulars.points.models import PointEntry
from regulars.sales.models import Receipt, ReceiptLine

BATCH: Final = 200_000
SETTLE: Final = timedelta(minutes=2)  # far longer than any sale's transaction
UNBOUNDED: Final = 2**62  # a literal in the extract only, never bound to an INTEGER

# Money and quantities are integers of cents and thousandths in the database (db.py).
_FACTS: Final = {
    "receipts": (
        """SELECT r.id AS receipt_id, r.store_id, r.member_id, r.channel, r.sold_at,
                  r.total_amount AS total_cents, r.discount_amount AS discount_cents
           FROM receipt r WHERE r.id > :mark AND r.id < :stop ORDER BY r.id""",
        """receipt_id, store_id, member_id, channel, sold_at,
           total_cents / 100 AS total, discount_cents / 100 AS discount""",
    ),
    "lines": (
        """SELECT l.id AS line_id, l.receipt_id, l.line_no, l.product_id,
                  l.quantity AS quantity_milli, l.unit_price AS unit_price_cents,
                  l.line_discount AS discount_cents, l.amount AS amount_cents, r.sold_at
           FROM receipt_line l JOIN receipt r ON r.id = l.receipt_id
           WHERE l.id > :mark AND l.id < :stop ORDER BY l.id""",
        """line_id, receipt_id, line_no, product_id, quantity_milli / 1000 AS quantity,
           unit_price_cents / 100 AS unit_price, discount_cents / 100 AS discount,
           amount_cents / 100 AS amount""",
    ),
    "ledger": (
        """SELECT e.id AS entry_id, e.member_id, e.lot_id, e.kind, e.points, e.receipt_id,
                  e.created_at AS sold_at
           FROM point_entry e WHERE e.id > :mark AND e.id < :stop ORDER BY e.id""",
        "entry_id, member_id, lot_id, kind, points, receipt_id, sold_at AS created_at",
    ),
}

_SNAPSHOTS: Final = {
    # Few next to the sales, and with no time of recording to settle on: copied whole.
    "refunds": """
        SELECT f.id AS refund_line_id, f.refund_id, f.receipt_line_id, r.receipt_id,
               r.refunded_at, f.quantity / 1000.0 AS quantity, f.amount / 100.0 AS amount
        FROM refund_line f JOIN refund r ON r.id = f.refund_id""",
    "members": """
        SELECT m.id AS member_id, m.merged_into_id, m.joined_at, m.join_store_id, m.status,
               m.referred_by_id IS NOT NULL AS referred, t.tier_code, t.since AS tier_since
        FROM member m LEFT JOIN member_tier t ON t.member_id = m.id""",
    "point_lots": """
        SELECT id AS lot_id, member_id, kind, points, remaining, earned_at, available_at,
               expires_at FROM point_lot""",
    "tier_changes": """
        SELECT id AS change_id, member_id, from_code, to_code, reason, changed_at
        FROM tier_change""",
    "stores": "SELECT id AS store_id, code AS store_code, region, channel, timezone FROM store",
    "products": """
        SELECT p.id AS product_id, p.sku, p.brand, p.premium, p.fresh, p.private_label,
               p.excluded_from_promotions, c.code AS category_code, c.parent_id
        FROM product p JOIN category c ON c.id = p.category_id""",
    "categories": "SELECT id AS category_id, code, level, parent_id FROM category",
    # Scores only: the members' own words stay in the operational database.
    "survey_answers": """
        SELECT r.id AS response_id, s.code AS survey, r.member_id, r.store_id, r.case_id,
               r.answered_at, r.nps, r.csat, r.effort, r.overall
        FROM survey_response r JOIN survey s ON s.id = r.survey_id""",
    "attribute_ratings": "SELECT response_id, attribute, score FROM attribute_rating",
}


class WarehouseEmpty(NotFound):
    code = "warehouse_empty"


Progress = Callable[[str, int, int], None]  # table, rows done, rows to do


@dataclass(frozen=True)
class SyncReport:
    copied: dict[str, int]  # new rows per fact table
    snapshots: dict[str, int]  # rows per rewritten snapshot


def _batches(engine: Engine, sql: str, mark: int = 0, stop: int = 0) -> Iterator[pa.Table]:
    """Rows between the mark and the stop, as Arrow tables of raw database values.

    The driver's own cursor, without SQLAlchemy's row objects: at tens of millions of lines
    the copy is bound by turning rows into columns. PostgreSQL streams through a named
    (server-side) cursor; SQLite reads lazily anyway.
    """
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        named = engine.dialect.name == "postgresql"
        cursor = driver.cursor(name="warehouse_sync") if named else driver.cursor()
        cursor.execute(sql.replace(":mark", str(int(mark))).replace(":stop", str(int(stop))))
        names = [column[0] for column in cursor.description]
        while rows := cursor.fetchmany(BATCH):
            columns = zip(*rows, strict=True)
            yield pa.table({n: pa.array(c) for n, c in zip(names, columns, strict=True)})
        cursor.close()
    finally:
        raw.close()


_TEXT: Final = {
    "channel",
    "kind",
    "status",
    "tier_code",
    "from_code",
    "to_code",
    "reason",
    "store_code",
    "region",
    "timezone",
    "sku",
    "brand",
    "category_code",
    "code",
    "level",
}
_FLAGS: Final = {"referred", "premium", "fresh", "private_label", "excluded_from_promotions"}


def _sql_type(name: str) -> str | None:
    """The warehouse type of a column; a column that is NULL throughout has no Arrow type."""
    if name.endswith("_at") or name.endswith("_since"):
        return "TIMESTAMPTZ"  # SQLite hands times over as text
    if name in _TEXT:
        return "VARCHAR"
    if name in _FLAGS:
        return "BOOLEAN"
    if name.endswith("_id"):
        return "BIGINT"
    return None


def _typed(batch: pa.Table) -> str:
    """A SELECT over the registered batch that gives every known column its type."""
    casts = [(n, _sql_type(n)) for n in batch.column_names]
    replaced = ", ".join(f"CAST({n} AS {t}) AS {n}" for n, t in casts if t)
    return f"(SELECT * REPLACE ({replaced}) FROM batch)" if replaced else "batch"


def _settled_stops(engine: Engine, marks: dict[str, int], horizon: datetime) -> dict[str, int]:
    """For each fact table, the first id not yet safe to copy.

    On PostgreSQL ids are handed out before commit, so a sale still committing may hold a
    lower id than one already visible; copying past it would lose it for good. Rows are
    copied only up to the first sale or ledger entry recorded after ``horizon``: every
    transaction that started before then has long committed (or rolled back). The lines
    stop at the first line of that sale or any later one, which is never too far.
    """
    with engine.connect() as connection:
        receipts = connection.execute(
            select(func.min(Receipt.id)).where(
                Receipt.id > marks.get("receipts", 0), Receipt.recorded_at >= horizon
            )
        ).scalar()
        lines = (
            connection.execute(
                select(func.min(ReceiptLine.id)).where(ReceiptLine.receipt_id >= receipts)
            ).scalar()
            if receipts is not None
            else None
        )
        ledger = connection.execute(
            select(func.min(PointEntry.id)).where(
                PointEntry.id > marks.get("ledger", 0), PointEntry.created_at >= horizon
            )
        ).scalar()
    found = {"receipts": receipts, "lines": lines, "ledger": ledger}
    return {name: stop or UNBOUNDED for name, stop in found.items()}


def _count(engine: Engine, name: str, mark: int, stop: int) -> int:
    key = {"receipts": Receipt.id, "lines": ReceiptLine.id, "ledger": PointEntry.id}[name]
    bounded = [key < stop] if stop < UNBOUNDED else []
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).where(key > mark, *bounded)).scalar_one()
        )


def _duck() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _state(folder: Path) -> dict[str, int]:
    path = folder / "_state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def synced(folder: Path) -> tuple[int, str] | None:
    """What marks the warehouse's last sync (none before the first): it changes with every
    sync, so a result computed from the warehouse may be kept until it does."""
    path = folder / "_state.json"
    return (path.stat().st_mtime_ns, path.read_text()) if path.exists() else None


def sync_warehouse(
    engine: Engine,
    folder: Path,
    *,
    now: datetime | None = None,
    settle: timedelta | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Copy what is new in the operational database into the warehouse at ``folder``.

    Running it twice in a row copies nothing the second time. Sales recorded in the last
    ``settle`` before ``now`` wait for the next run (``_settled_stops``); by default two
    minutes on PostgreSQL and none on SQLite, whose writers commit in the order of their
    ids because each holds the write lock from its first statement. The high-water
    marks are written last, so a sync that stops half-way is redone from the previous
    marks; the files of an interrupted batch are named after their first id and
    overwritten.
    """
    folder.mkdir(parents=True, exist_ok=True)
    marks = _state(folder)
    if settle is None:
        settle = SETTLE if engine.dialect.name == "postgresql" else timedelta(0)
    stops = (
        _settled_stops(engine, marks, (now or utc_now()) - settle)
        if settle
        else dict.fromkeys(_FACTS, UNBOUNDED)
    )
    duck = _duck()
    copied: dict[str, int] = {}
    # One batch is written to Parquet (DuckDB, off the GIL) while the next is read.
    with ThreadPoolExecutor(max_workers=1) as writer:
        for name, (extract, shape) in _FACTS.items():
            mark = marks.get(name, 0)
            stop = stops[name]
            todo = _count(engine, name, mark, stop)
            done = 0
            writing: Future[None] | None = None
            for batch in _batches(engine, extract, mark, stop):
                if writing:
                    writing.result()
                writing = writer.submit(_write_facts, duck, batch, shape, folder / name)
                done += batch.num_rows
                mark = batch.column(0)[-1].as_py()
                if progress:
                    progress(name, done, todo)
            if writing:
                writing.result()
            marks[name] = mark
            copied[name] = done
    snapshots = {
        name: _snapshot(engine, duck, sql, folder / f"{name}.parquet")
        for name, sql in _SNAPSHOTS.items()
    }
    (folder / "_state.json").write_text(json.dumps(marks))
    return SyncReport(copied=copied, snapshots=snapshots)


def _write_facts(
    duck: duckdb.DuckDBPyConnection, batch: pa.Table, shape: str, folder: Path
) -> None:
    """Add one batch to the month partitions, in files named after the batch's first id."""
    first = batch.column(0)[0].as_py()
    duck.register("batch", batch)
    duck.execute(
        f"""COPY (SELECT {shape}, strftime(sold_at, '%Y-%m') AS month FROM {_typed(batch)})
            TO '{folder}' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE true,
            FILENAME_PATTERN 'part-{first:012d}-{{i}}')"""
    )
    duck.unregister("batch")


def _snapshot(engine: Engine, duck: duckdb.DuckDBPyConnection, sql: str, path: Path) -> int:
    tables = list(_batches(engine, sql))
    if not tables:
        path.unlink(missing_ok=True)
        return 0
    batch = pa.concat_tables(tables)
    duck.register("batch", batch)
    partial = path.with_suffix(".partial")
    duck.execute(f"COPY {_typed(batch)} TO '{partial}' (FORMAT parquet)")
    duck.unregister("batch")
    shutil.move(partial, path)  # readers never see half a file
    return sum(t.num_rows for t in tables)


_TRANSACTIONS: Final = """
CREATE VIEW customers AS
WITH RECURSIVE chain(member_id, customer_id) AS (
    SELECT member_id, member_id FROM members WHERE merged_into_id IS NULL
    UNION ALL
    SELECT m.member_id, c.customer_id FROM members m JOIN chain c ON m.merged_into_id = c.member_id
)
SELECT chain.member_id, chain.customer_id, m.joined_at, m.status, m.tier_code
FROM chain JOIN members m ON m.member_id = chain.customer_id;

CREATE {transactions} transactions AS
SELECT CAST(c.customer_id AS VARCHAR) AS customer_id,
       CAST(timezone(s.timezone, r.sold_at) AS TIMESTAMP) AS purchased_at,
       greatest(l.amount - coalesce(back.amount, 0), 0) AS amount,
       CAST(r.receipt_id AS VARCHAR) AS receipt_id,
       p.sku
FROM lines l
JOIN receipts r USING (receipt_id)
JOIN stores s USING (store_id)
JOIN products p USING (product_id)
JOIN customers c ON c.member_id = r.member_id
LEFT JOIN (SELECT receipt_line_id AS line_id, sum(amount) AS amount FROM refunds GROUP BY 1)
    back USING (line_id);
"""


def open_warehouse(folder: Path, *, materialise: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per warehouse table and the ``transactions`` view.

    ``transactions`` holds members' purchase lines net of refunds, at the shop's local time,
    credited to the surviving member of any merge. A run of many analyses asks for it
    ``materialise``d: the five-way join is then computed once, in memory, instead of once per
    query.
    """
    if not (folder / "_state.json").exists():
        raise WarehouseEmpty(
            f"no warehouse at {folder}; run 'regulars warehouse sync' first", field="warehouse"
        )
    duck = _duck()
    for name in _FACTS:
        if (folder / name).is_dir():
            duck.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                f"'{folder / name}/*/*.parquet', hive_partitioning = true)"
            )
    for name in _SNAPSHOTS:
        if (folder / f"{name}.parquet").exists():
            duck.execute(f"CREATE VIEW {name} AS SELECT * FROM '{folder / name}.parquet'")
    if not (folder / "refunds.parquet").exists():
        duck.execute(
            "CREATE VIEW refunds AS SELECT NULL::BIGINT AS receipt_line_id, 0.0 AS amount LIMIT 0"
        )
    try:
        duck.execute(_TRANSACTIONS.format(transactions="TABLE" if materialise else "VIEW"))
    except duckdb.CatalogException as error:
        raise WarehouseEmpty(
            f"the warehouse at {folder} has no sales yet", field="warehouse"
        ) from error
    return duck
