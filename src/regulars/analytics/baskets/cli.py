"""`regulars analyze baskets`: association rules from the warehouse or an analyst's file.

Registered by ``analytics/cli.py`` with ``app.command("baskets")(baskets_command)``.
Besides the shared ``--transactions`` options it reads ``--baskets FILE``, one basket per
line (or, with ``--basket-col`` and ``--item-col``, one row per receipt line), which needs
neither a warehouse nor customer, date and amount columns.
"""

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import duckdb
import pyarrow as pa
import typer
from rich.table import Table

from regulars.analytics.baskets.basket import Baskets, share_text
from regulars.analytics.baskets.readers import (
    BasketFilter,
    Level,
    baskets_from_columns,
    read_basket_file,
    read_long_baskets,
    warehouse_baskets,
)
from regulars.analytics.options import AsOf, Out, parse_optional_day, reads_transactions
from regulars.analytics.transactions import relations
from regulars.errors import InvalidInput
from regulars.terminal import console, reports_errors

if TYPE_CHECKING:
    from regulars.analytics.baskets.findings import BasketReport

F = TypeVar("F", bound=Callable[..., Any])

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def reads_baskets(func: F) -> F:
    """``reads_transactions``, except that ``--baskets FILE`` opens no warehouse at all: the
    command then receives ``connection=None``."""
    with_source = reads_transactions(func)
    own = set(inspect.signature(func).parameters) - {"connection"}

    @functools.wraps(with_source)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("baskets") is None:
            return with_source(*args, **kwargs)
        source = {name: kwargs.pop(name) for name in list(kwargs) if name not in own}
        if source.get("transactions") is not None:
            raise InvalidInput("give --baskets or --transactions, not both", field="baskets")
        return func(*args, connection=None, **kwargs)

    wrapper.__signature__ = inspect.signature(with_source)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def parse_hours(text: str | None) -> tuple[int, int] | None:
    """ "17-20" is 17:00 to 20:59; "22-1" runs past midnight."""
    if not text:
        return None
    try:
        first, last = (int(part) for part in text.split("-"))
    except ValueError as error:
        raise InvalidInput(f"{text!r} is not an hour range such as 17-20", field="hours") from error
    return first, last


def parse_weekdays(text: str | None) -> tuple[int, ...]:
    """ "sat,sun" or "6,7" (ISO: Monday is 1)."""
    days: list[int] = []
    for part in (text or "").split(","):
        word = part.strip().lower()[:3]
        if not word:
            continue
        if word in WEEKDAYS:
            days.append(WEEKDAYS.index(word) + 1)
        elif word.isdigit():
            days.append(int(word))
        else:
            raise InvalidInput(f"{part!r} is not a weekday (mon..sun or 1..7)", field="weekdays")
    return tuple(days)


def read_members(path: Path | None) -> frozenset[int] | None:
    """A segment's member ids, one per line (a header line that is not a number is skipped)."""
    if path is None:
        return None
    if not path.is_file():
        raise InvalidInput(f"no file {path}", field="members")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if lines and not lines[0].isdigit():
        lines = lines[1:]
    bad = next((line for line in lines if not line.isdigit()), None)
    if bad is not None:
        raise InvalidInput(f"{bad!r} is not a member id", field="members")
    return frozenset(int(line) for line in lines)


def _members_labelled(
    label: str, field: str, ids: Iterable[object], labels: Iterable[object],
    among: frozenset[int] | None,
) -> frozenset[int]:  # fmt: skip
    """The members whose label is ``label`` (refused, naming the labels there are, if none)."""
    pairs = [(int(str(m)), str(found)) for m, found in zip(ids, labels, strict=True)]
    names = sorted({found for _, found in pairs})
    if label not in names:
        raise InvalidInput(f"no {field} {label!r}; there are {', '.join(names)}", field=field)
    chosen = {m for m, found in pairs if found == label}
    return frozenset(chosen & among if among is not None else chosen)


def _segment_members(
    connection: duckdb.DuckDBPyConnection, segment: str, day: date,
    among: frozenset[int] | None,
) -> frozenset[int]:  # fmt: skip
    """The members of an RFM segment as of ``day``."""
    from regulars.analytics.rfm import rfm_table

    scored = rfm_table(connection, as_of=day)
    return _members_labelled(segment, "segment", scored.customer_id, scored.segment, among)


def _shopper_type_members(
    connection: duckdb.DuckDBPyConnection, shopper_type: str, day: date,
    among: frozenset[int] | None,
) -> frozenset[int]:  # fmt: skip
    """The members of a shopper type (by the rules, on the half year up to ``day``)."""
    from regulars.analytics.segments import typed_members

    table, types = typed_members(connection, as_of=day)
    return _members_labelled(shopper_type, "shopper_type", table.member_id, types, among)


def _last_day(connection: duckdb.DuckDBPyConnection, warehouse: bool) -> date:
    sql = (
        "SELECT max(CAST(timezone(s.timezone, r.sold_at) AS DATE)) FROM receipts r "
        "JOIN stores s USING (store_id)"
        if warehouse
        else "SELECT max(CAST(purchased_at AS DATE)) FROM transactions"
    )
    [(last,)] = connection.execute(sql).fetchall()
    if last is None:
        raise InvalidInput("there are no sales to analyse", code="no_baskets", field="baskets")
    return date.fromisoformat(str(last)[:10])


def _file_baskets(
    connection: duckdb.DuckDBPyConnection, where: BasketFilter
) -> tuple[Baskets, None]:
    """Baskets of the ``transactions`` table an analyst's file became."""
    needs = {"stores": where.stores, "region": where.region, "category": where.category,
             "members": where.members is not None}  # fmt: skip
    if any(needs.values()):
        raise InvalidInput(
            "--store, --region, --category and --members need the warehouse, not --transactions",
            field=next(option for option, asked in needs.items() if asked),
        )
    [(missing,)] = connection.execute(
        "SELECT count(*) FILTER (receipt_id IS NULL OR sku IS NULL) FROM transactions"
    ).fetchall()
    if missing:
        raise InvalidInput(
            "basket analysis needs --receipt-col and --sku-col with --transactions",
            field="receipt_col",
        )
    conditions = ["TRUE"]
    moment = "purchased_at"
    if where.hours is not None:
        first, last = where.hours
        joiner = "AND" if first <= last else "OR"
        conditions.append(f"(hour({moment}) >= {first} {joiner} hour({moment}) <= {last})")
    if where.weekdays:
        conditions.append(f"isodow({moment}) IN ({', '.join(map(str, where.weekdays))})")
    if where.start is not None:
        conditions.append(f"{moment} >= DATE '{where.start}'")
    if where.end is not None:
        conditions.append(f"{moment} < DATE '{where.end}'")
    table: pa.Table = connection.sql(
        "SELECT DISTINCT receipt_id AS basket, sku AS item FROM transactions WHERE "
        + " AND ".join(conditions)
    ).to_arrow_table()
    return baskets_from_columns(table["basket"], table["item"], empty="no receipts match"), None


@reports_errors
@reads_baskets
def baskets_command(
    connection: duckdb.DuckDBPyConnection | None,
    out: Out = Path("var/analytics/baskets"),
    min_support: Annotated[
        str, typer.Option(help="Least share of baskets an itemset is in, e.g. 0.001 (exact).")
    ] = "0.01",
    min_confidence: Annotated[
        str, typer.Option(help="Least share of the antecedent's baskets with the consequent.")
    ] = "0.5",
    level: Annotated[Level, typer.Option(help="What an item is.")] = Level.subcategory,
    baskets: Annotated[
        Path | None,
        typer.Option(help="A file of one basket per line, items separated by commas."),
    ] = None,
    basket_col: Annotated[
        str | None, typer.Option(help="With --baskets: the receipt column of a long file.")
    ] = None,
    item_col: Annotated[
        str | None, typer.Option(help="With --baskets: the item column of a long file.")
    ] = None,
    store: Annotated[
        list[str] | None, typer.Option(help="Only this store's receipts (repeatable).")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Only this region's stores.")] = None,
    category: Annotated[
        str | None,
        typer.Option(help="Only receipts holding something from this category (any level)."),
    ] = None,
    hours: Annotated[
        str | None, typer.Option(help="Hours of the day, local time, e.g. 17-20.")
    ] = None,
    weekdays: Annotated[str | None, typer.Option(help="Weekdays, e.g. sat,sun.")] = None,
    members: Annotated[
        Path | None, typer.Option(help="Only these members' receipts: ids, one per line.")
    ] = None,
    segment: Annotated[
        str | None, typer.Option(help="Only the receipts of an RFM segment's members.")
    ] = None,
    shopper_type: Annotated[
        str | None,
        typer.Option(help="Only the receipts of a shopper type's members, e.g. deal_seeker."),
    ] = None,
    as_of: AsOf = None,
    days: Annotated[
        int | None, typer.Option(help="The period: this many days up to --as-of.")
    ] = None,
    compare: Annotated[
        bool, typer.Option(help="Also compare with the --days before the period.")
    ] = False,
    top: Annotated[int, typer.Option(help="Rules to show, highest lift first.")] = 20,
) -> None:
    """Association rules with exact thresholds, lift and Fisher p-values; rules.parquet."""
    from regulars.analytics.baskets.findings import basket_report, compare_periods, item_categories

    where = BasketFilter(
        stores=tuple(store or ()),
        region=region,
        category=category,
        hours=parse_hours(hours),
        weekdays=parse_weekdays(weekdays),
        members=read_members(members),
    )
    day = parse_optional_day(as_of, "as_of")
    if days is not None and days < 1:
        raise InvalidInput("--days must be at least 1", field="days")
    if top < 1:
        raise InvalidInput("--top must be at least 1", field="top")
    if compare and days is None:
        raise InvalidInput("--compare needs --days", field="compare")
    if connection is None:
        if (
            days
            or day
            or any((store, region, category, hours, weekdays, members, segment, shopper_type))
        ):
            raise InvalidInput(
                "a baskets file has no stores, times or members to filter by", field="baskets"
            )
        path = Path(baskets or "")
        found = (
            read_long_baskets(path, basket_col=basket_col, item_col=item_col)
            if basket_col and item_col
            else read_basket_file(path)
        )
        report = basket_report(found, min_support=min_support, min_confidence=min_confidence)
        _show(report, out, top)
        return
    warehouse = "lines" in relations(connection)
    if segment is not None:
        chosen = _segment_members(
            connection, segment, day or _last_day(connection, warehouse), where.members
        )
        where = replace(where, members=chosen)
    if shopper_type is not None:
        chosen = _shopper_type_members(
            connection, shopper_type, day or _last_day(connection, warehouse), where.members
        )
        where = replace(where, members=chosen)
    if days is not None:
        last = day or _last_day(connection, warehouse)
        where = replace(where, start=last - timedelta(days=days - 1), end=last + timedelta(1))
    categories = item_categories(connection, level) if warehouse else None

    def mine(period: BasketFilter) -> "BasketReport":
        chosen = (
            warehouse_baskets(connection, level=level, where=period)
            if warehouse
            else _file_baskets(connection, period)[0]
        )
        return basket_report(
            chosen,
            min_support=min_support,
            min_confidence=min_confidence,
            top=top,
            category_of=categories,
        )

    report = mine(where)
    _show(report, out, top)
    if compare and where.start is not None and days is not None:
        before = replace(where, start=where.start - timedelta(days), end=where.start)
        earlier = mine(before)
        changes = compare_periods(earlier.rules, report.rules)
        table = Table(
            "rule", "lift before", "lift now", title=f"vs {before.start} to {where.start}"
        )
        for change in changes.changed[:top]:
            table.add_row(
                f"{', '.join(change.antecedent)} → {', '.join(change.consequent)}",
                f"{change.lift_before:.2f}",
                f"{change.lift_after:.2f}",
            )
        console.print(table)
        console.print(
            f"{len(changes.appeared):,} rules appeared, {len(changes.disappeared):,} disappeared"
        )


def _show(report: "BasketReport", out: Path, top: int) -> None:
    rules = report.rules
    table = Table(
        "if the basket holds",
        "it also holds",
        "baskets",
        "confidence",
        "lift",
        "p (BH)",
        title=f"{len(rules):,} rules ({int(rules.at_threshold().sum()):,} exactly at "
        f"confidence {share_text(rules.min_confidence)}) from {rules.baskets:,} baskets",
    )
    for line in report.top[:top]:
        table.add_row(
            ", ".join(line.antecedent),
            ", ".join(line.consequent),
            f"{line.count:,}",
            f"{line.confidence:.1%}",
            f"{line.lift:.2f}",
            f"{line.p_value_bh:.2g}",
        )
    console.print(table)
    written = report.write(out)
    console.print("written: " + ", ".join(str(p) for p in written))
