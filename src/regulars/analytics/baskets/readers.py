"""Where baskets come from: a plain baskets file, a long file of receipt lines, the warehouse.

Each reader ends in ``Baskets.from_codes``, so the mining never learns where its baskets
came from, and each refuses what it cannot read with a ``RegularsError`` naming the field,
as ``analytics.transactions`` does for the ``--transactions`` files.
"""

import csv
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from regulars.analytics.baskets.basket import BadBaskets, Baskets, NoBaskets
from regulars.errors import InvalidInput, NotFound


class BasketFileNotFound(NotFound):
    code = "basket_file_not_found"


class Level(StrEnum):
    """What counts as an item: a product, its subcategory (the product's category) or the
    category above that."""

    product = "product"
    subcategory = "subcategory"
    category = "category"


def read_basket_file(path: Path) -> Baskets:
    """One basket per line, items separated by commas (CSV quoting allowed), no header.

    Blank lines are left out; spaces around an item are not part of its name; an item
    twice on a line is one item. This is the layout of the classic ``groceries.csv``.
    """
    path = Path(path)
    if not path.is_file():
        raise BasketFileNotFound(f"no file {path}", field="baskets")
    code: dict[str, int] = {}
    owners: list[int] = []
    items: list[int] = []
    baskets = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            for row in csv.reader(text):
                names = [name.strip() for name in row if name.strip()]
                if not names:
                    continue
                for name in names:
                    items.append(code.setdefault(name, len(code)))
                owners.extend([baskets] * len(names))
                baskets += 1
    except (csv.Error, UnicodeDecodeError) as error:
        raise BadBaskets(f"{path.name} cannot be read: {error}", field="baskets") from error
    if not baskets:
        raise NoBaskets(f"{path.name} holds no baskets", field="baskets")
    return Baskets.from_codes(np.array(owners), np.array(items), list(code), basket_count=baskets)


def read_long_baskets(
    path: Path, *, basket_col: str, item_col: str, separator: str | None = None
) -> Baskets:
    """One row per receipt line, CSV (delimiter sniffed unless given) or Parquet.

    ``basket_col`` names the receipt, ``item_col`` the product (or whatever the items are);
    rows with either missing are refused, not guessed at.
    """
    path = Path(path)
    if not path.is_file():
        raise BasketFileNotFound(f"no file {path}", field="baskets")
    connection = duckdb.connect()
    try:
        if path.suffix.lower() == ".parquet":
            relation = connection.read_parquet(str(path))
        else:
            relation = connection.read_csv(str(path), all_varchar=True, sep=separator)
        for option, name in (("basket_col", basket_col), ("item_col", item_col)):
            if name not in relation.columns:
                raise BadBaskets(
                    f"{path.name} has no column {name!r} (it has {', '.join(relation.columns)})",
                    field=option,
                )
        table = relation.select(
            duckdb.ColumnExpression(basket_col).cast("VARCHAR").alias("basket"),
            duckdb.ColumnExpression(item_col).cast("VARCHAR").alias("item"),
        ).to_arrow_table()
    except duckdb.Error as error:
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BadBaskets(f"{path.name} cannot be read: {cause}", field="baskets") from error
    for column, option in (("basket", "basket_col"), ("item", "item_col")):
        missing = table[column].null_count
        if missing:
            raise BadBaskets(f"{missing:,} rows have no {column}", field=option)
    return baskets_from_columns(
        table["basket"], table["item"], empty=f"{path.name} holds no baskets"
    )


def baskets_from_columns(
    baskets: pa.ChunkedArray, items: pa.ChunkedArray, *, empty: str
) -> Baskets:
    """Baskets from two equally long columns of any type, each value coded in Arrow."""
    if len(baskets) == 0:
        raise NoBaskets(empty, field="baskets")
    basket_codes = pc.dictionary_encode(baskets).combine_chunks()
    item_codes = pc.dictionary_encode(items).combine_chunks()
    names = [str(name) for name in item_codes.dictionary.to_pylist()]
    return Baskets.from_codes(
        basket_codes.indices.to_numpy(zero_copy_only=False),
        item_codes.indices.to_numpy(zero_copy_only=False),
        names,
        basket_count=len(basket_codes.dictionary),
    )


@dataclass(frozen=True)
class BasketFilter:
    """Which receipts of the warehouse make baskets. Times are the store's local time.

    ``hours`` is ``(first, last)``, both included, 0-23; ``(22, 1)`` runs past midnight.
    ``weekdays`` are ISO numbers, 1 Monday to 7 Sunday. ``start`` is the first day, ``end``
    the day after the last. ``members`` limits the baskets to those members' receipts (a
    segment's member ids; a merged account's receipts count as the surviving member's).
    ``category`` (a department, category or subcategory code) keeps the receipts holding
    something from it, with everything else they hold: what sells with that category.
    """

    stores: tuple[str, ...] = ()
    region: str | None = None
    hours: tuple[int, int] | None = None
    weekdays: tuple[int, ...] = ()
    start: date | None = None
    end: date | None = None
    members: frozenset[int] | None = field(default=None)
    category: str | None = None

    def __post_init__(self) -> None:
        if self.hours is not None and not all(0 <= h <= 23 for h in self.hours):
            raise InvalidInput(f"hours must be 0 to 23, not {self.hours}", field="hours")
        if any(not 1 <= d <= 7 for d in self.weekdays):
            raise InvalidInput(
                f"weekdays are 1 (Monday) to 7 (Sunday), not {self.weekdays}", field="weekdays"
            )
        if self.start and self.end and self.end <= self.start:
            raise InvalidInput(f"end {self.end} is not after start {self.start}", field="end")


_ITEM = {
    Level.product: "p.sku",
    Level.subcategory: "p.category_code",
    Level.category: "c.code",
}


# The receipts holding a product anywhere under the category (a code at any level).
_HOLDING_CATEGORY = """
    WITH RECURSIVE under(category_id, code) AS (
        SELECT category_id, code FROM categories WHERE code = $category
        UNION ALL
        SELECT c.category_id, c.code FROM categories c JOIN under u ON c.parent_id = u.category_id
    )
    SELECT held.receipt_id FROM lines held JOIN products kind USING (product_id)
    WHERE kind.category_code IN (SELECT code FROM under)
"""


def warehouse_baskets(
    connection: duckdb.DuckDBPyConnection,
    *,
    level: Level | str = Level.subcategory,
    where: BasketFilter | None = None,
) -> Baskets:
    """The receipts of the warehouse (members' and anonymous) as baskets at ``level``.

    Refunds do not change a basket: what was bought together was bought together.
    """
    level = Level(level)
    where = where or BasketFilter()
    local = "CAST(timezone(s.timezone, r.sold_at) AS TIMESTAMP)"
    conditions: list[str] = ["TRUE"]
    params: dict[str, object] = {}
    if where.stores:
        conditions.append("list_contains($stores, s.store_code)")
        params["stores"] = list(where.stores)
        _known(connection, "stores", "store_code", where.stores, "stores")
    if where.region is not None:
        conditions.append("s.region = $region")
        params["region"] = where.region
        _known(connection, "stores", "region", [where.region], "region")
    if where.hours is not None:
        first, last = where.hours
        joiner = "AND" if first <= last else "OR"
        conditions.append(f"(hour({local}) >= {first} {joiner} hour({local}) <= {last})")
    if where.weekdays:
        conditions.append(f"isodow({local}) IN ({', '.join(map(str, where.weekdays))})")
    if where.start is not None:
        conditions.append(f"{local} >= $start")
        params["start"] = where.start
    if where.end is not None:
        conditions.append(f"{local} < $end")
        params["end"] = where.end
    if where.category is not None:
        _known(connection, "categories", "code", [where.category], "category")
        conditions.append(f"r.receipt_id IN ({_HOLDING_CATEGORY})")
        params["category"] = where.category
    if where.members is not None:
        connection.register("_segment", pa.table({"member_id": sorted(where.members)}))
        conditions.append(
            "(r.member_id IN (SELECT member_id FROM _segment) OR r.member_id IN (SELECT "
            "member_id FROM customers WHERE customer_id IN (SELECT member_id FROM _segment)))"
        )
    sql = f"""
        SELECT DISTINCT r.receipt_id AS basket, {_ITEM[level]} AS item
        FROM lines l JOIN receipts r USING (receipt_id) JOIN stores s USING (store_id)
        JOIN products p USING (product_id) LEFT JOIN categories c ON c.category_id = p.parent_id
        WHERE {" AND ".join(conditions)} AND {_ITEM[level]} IS NOT NULL
    """
    table: pa.Table = connection.sql(sql, params=params).to_arrow_table()
    if where.members is not None:
        connection.unregister("_segment")
    return baskets_from_columns(
        table["basket"], table["item"], empty="no receipts match the filters given"
    )


def _known(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    wanted: Iterable[str],
    option: str,
) -> None:
    """A store code or region nobody has is a typo, not an empty analysis."""
    present: Collection[str] = {
        str(row[0])
        for row in connection.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()
    }
    unknown = sorted(set(wanted) - set(present))
    if unknown:
        raise InvalidInput(
            f"no {column.replace('_', ' ')} {', '.join(unknown)} (there are "
            f"{', '.join(sorted(present))})",
            field=option,
        )
