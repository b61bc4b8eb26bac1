"""The loyalty program's KPIs for a period, each next to its value in the period before.

The comparison period has the same length and ends where the period starts, so a month is
compared with the month before and a week with the week before. Every figure is SQL over
the warehouse (see ``warehouse.py``); nothing reads the operational database.

Definitions, for a period ``[start, end)``:

- active members: members (merged accounts counted as the member they were merged into)
  with at least one receipt in the period; new members: registrations in the period,
  merged duplicates left out.
- repeat-purchase rate: share of active members with two or more receipts (visits);
  purchase frequency: member receipts per active member.
- average ticket: money per receipt, for member receipts and for all receipts; member
  share of sales: member receipts' money over all receipts' money, anonymous included.
  Money is the receipts' totals as rung up, before any later refund.
- points earned: ``earn`` and ``bonus`` entries less the earnings taken back on refunds
  (negative ``reverse`` entries); points redeemed: ``burn`` entries less the redeemed
  points given back on refunds (positive ``reverse`` entries); points expired: ``expire``
  entries, and the points forfeited when an account is erased (``forfeit``). Manual
  adjustments and transfers between merged accounts are neither.
- redemption rate: points redeemed / points earned in the period. It can pass 1 when
  members spend points they earned before.
- breakage rate: points expired / points earned over the trailing ``breakage_window``
  (a year by default) ending at the period's end. A steady-state estimate: under the demo
  program's calendar expiry a year's expiry run writes off points earned the year before,
  so in a growing program the rate reads low; it is 0 until the first expiry has run.
- outstanding points at the end: every point members hold that has not expired by then,
  pending ones included, less debts from claw-backs (the balance of the ledger invariant);
  points liability: outstanding points x ``point_value``, at face value, not reduced for
  the points expected to lapse.

A figure that cannot be worked out (no ledger, no members in the period) is ``None`` with
the reason beside it, so a warehouse without points still gets its sales KPIs.
"""

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from regulars.analytics.transactions import relations
from regulars.errors import InvalidInput
from regulars.i18n import Language, language

# The demo program pays 1 yuan for 100 points ([redemption] points_per_yuan = 100).
DEMO_POINT_VALUE: Final = Decimal("0.01")
# A member without a tier row holds the program's first tier; the demo program's is this.
DEMO_FIRST_TIER: Final = "regular"
YEAR: Final = timedelta(days=365)

EARLIER: Final = "previous period: "  # how a KPI says its earlier figure is missing

UNITS: Final = {
    "active_members": "members",
    "new_members": "members",
    "repeat_purchase_rate": "share",
    "purchase_frequency": "visits per member",
    "average_ticket_members": "money",
    "average_ticket_all": "money",
    "member_share_of_sales": "share",
    "points_earned": "points",
    "points_redeemed": "points",
    "points_expired": "points",
    "redemption_rate": "share",
    "breakage_rate": "share",
    "outstanding_points": "points",
    "points_liability": "money",
}

Figure = tuple[float | None, str | None]  # a value, or None and the reason


def shown(value: float | None, unit: str, lang: Language | None = None) -> str:
    """A KPI value as people read it (in `lang`, English by default): shares in per cent,
    counts of members and points as whole numbers, money and rates with two decimals."""
    t = lang or language("en")
    if value is None:
        return "–"
    if unit == "share":
        return t.percent(value, 1)
    return t.number(value, 0 if unit in {"members", "points"} else 2)


@dataclass(frozen=True)
class Kpi:
    """One KPI in the period and the period before; ``reason`` says why a value is missing."""

    name: str
    unit: str
    value: float | None
    previous: float | None
    reason: str | None = None

    @property
    def change(self) -> float | None:
        """Absolute change (percentage points for shares); None when either side is missing."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True)
class TierCount:
    """Members holding a tier at the period's end and at its start."""

    tier: str
    members: int
    previous: int


@dataclass(frozen=True)
class TierMove:
    """Tier changes from one tier to another in the period and in the period before."""

    from_tier: str
    to_tier: str
    changes: int
    previous: int


@dataclass(frozen=True)
class ProgramKpis:
    """The KPI report for ``[start, end)`` against ``[previous_start, start)`` (UTC)."""

    start: datetime
    end: datetime
    previous_start: datetime
    kpis: tuple[Kpi, ...]
    tiers: tuple[TierCount, ...]
    tier_moves: tuple[TierMove, ...]
    tier_reason: str | None  # why tiers are empty, when they are

    def __getitem__(self, name: str) -> Kpi:
        """Reports and dashboards pick KPIs by name, not by position."""
        for kpi in self.kpis:
            if kpi.name == name:
                return kpi
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: instants in ISO 8601, each KPI with its change."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "previous_start": self.previous_start.isoformat(),
            "kpis": [asdict(kpi) | {"change": kpi.change} for kpi in self.kpis],
            "tiers": [asdict(count) for count in self.tiers],
            "tier_moves": [asdict(move) for move in self.tier_moves],
            "tier_reason": self.tier_reason,
        }

    def write_json(self, path: Path) -> None:
        """Write the report for the dashboard and reports."""
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False))


def _ratio(part: float, whole: float, reason: str) -> Figure:
    return (part / whole, None) if whole else (None, reason)


@dataclass(frozen=True)
class Sales:
    """Which sales the sales KPIs count: all of them, or one store's, region's or channel's."""

    store_id: int | None = None
    region: str | None = None
    channel: str | None = None

    def condition(self, receipts: str = "receipts") -> tuple[str, dict[str, object]]:
        """SQL that holds for the receipts (by the alias `receipts`) these sales count, and
        its parameters; a chain-wide filter asks nothing of the warehouse's columns."""
        found: list[str] = ["TRUE"]
        params: dict[str, object] = {}
        if self.store_id is not None:
            found.append(f"{receipts}.store_id = $store")
            params["store"] = self.store_id
        if self.channel is not None:
            found.append(f"{receipts}.channel = $channel")
            params["channel"] = self.channel
        if self.region is not None:
            found.append(
                f"{receipts}.store_id IN (SELECT store_id FROM stores WHERE region = $region)"
            )
            params["region"] = self.region
        return " AND ".join(found), params


class _Warehouse:
    """The relations a connection holds and the queries over them; absent ones read as empty."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.present = relations(connection)

    def one(self, sql: str, **params: object) -> tuple[Any, ...]:
        return self.connection.execute(sql, params).fetchall()[0]

    def sales(
        self, start: datetime, end: datetime, where: Sales | None = None
    ) -> dict[str, Figure]:
        """The sales KPIs of the chain, or of the sales ``where`` picks."""
        where = where or Sales()
        customers = "customers" in self.present
        join = "LEFT JOIN customers c ON c.member_id = r.member_id" if customers else ""
        who = "coalesce(c.customer_id, r.member_id)" if customers else "r.member_id"
        chosen, params = where.condition("r")
        receipts, money, member_receipts, member_money, active, repeaters = self.one(
            f"""WITH sale AS (
                    SELECT r.total, {who} AS customer_id FROM receipts r {join}
                    WHERE r.sold_at >= $start AND r.sold_at < $end
                      AND {chosen}),
                visits AS (
                    SELECT customer_id, count(*) AS visits FROM sale
                    WHERE customer_id IS NOT NULL GROUP BY customer_id)
                SELECT (SELECT count(*) FROM sale),
                       (SELECT coalesce(sum(total), 0) FROM sale),
                       (SELECT count(*) FROM sale WHERE customer_id IS NOT NULL),
                       (SELECT coalesce(sum(total), 0) FROM sale WHERE customer_id IS NOT NULL),
                       (SELECT count(*) FROM visits),
                       (SELECT count(*) FROM visits WHERE visits >= 2)""",
            start=start,
            end=end,
            **params,
        )
        money, member_money = float(money), float(member_money)
        nobody = "no member bought anything"
        return {
            "active_members": (active, None),
            "repeat_purchase_rate": _ratio(repeaters, active, nobody),
            "purchase_frequency": _ratio(member_receipts, active, nobody),
            "average_ticket_members": _ratio(member_money, member_receipts, nobody),
            "average_ticket_all": _ratio(money, receipts, "no sales"),
            "member_share_of_sales": _ratio(member_money, money, "no sales"),
        }

    def new_members(self, start: datetime, end: datetime) -> dict[str, Figure]:
        if "members" not in self.present:
            return {"new_members": (None, "the warehouse has no members")}
        (joined,) = self.one(
            """SELECT count(*) FROM members WHERE merged_into_id IS NULL
               AND joined_at >= $start AND joined_at < $end""",
            start=start,
            end=end,
        )
        return {"new_members": (joined, None)}

    def flows(self, start: datetime, end: datetime) -> tuple[int, int, int]:
        """Points earned, redeemed and expired in ``[start, end)``, as defined above."""
        earned, redeemed, expired = self.one(
            """SELECT coalesce(sum(points) FILTER (
                          kind IN ('earn', 'bonus') OR (kind = 'reverse' AND points < 0)), 0),
                      coalesce(-sum(points) FILTER (
                          kind = 'burn' OR (kind = 'reverse' AND points > 0)), 0),
                      coalesce(-sum(points) FILTER (kind IN ('expire', 'forfeit')), 0)
               FROM ledger WHERE created_at >= $start AND created_at < $end""",
            start=start,
            end=end,
        )
        return int(earned), int(redeemed), int(expired)

    def outstanding(self, moment: datetime) -> int:
        """Points held at ``moment``: entries before it on lots not expired by then."""
        (points,) = self.one(
            """SELECT coalesce(sum(e.points), 0) FROM ledger e JOIN point_lots l USING (lot_id)
               WHERE e.created_at < $moment AND (l.expires_at IS NULL OR l.expires_at > $moment)""",
            moment=moment,
        )
        return int(points)

    def points(
        self, start: datetime, end: datetime, window: timedelta, point_value: Decimal
    ) -> dict[str, Figure]:
        if not {"ledger", "point_lots"} <= self.present:
            missing = "the warehouse has no point movements"
            return dict.fromkeys(_POINT_KPIS, (None, missing))
        earned, redeemed, expired = self.flows(start, end)
        window_earned, _, window_expired = self.flows(end - window, end)
        held = self.outstanding(end)
        return {
            "points_earned": (earned, None),
            "points_redeemed": (redeemed, None),
            "points_expired": (expired, None),
            "redemption_rate": _ratio(redeemed, earned, "no points were earned"),
            "breakage_rate": _ratio(
                window_expired, window_earned, "no points were earned in the breakage window"
            ),
            "outstanding_points": (held, None),
            "points_liability": (float(held * point_value), None),
        }

    def tiers_at(self, moment: datetime, first_tier: str) -> dict[str, int]:
        """Members per tier at ``moment``, read back from the tier changes before and after.

        A member's tier then is the target of their last change before it; without one, the
        origin of their first change after it; without any change, the tier they hold now.
        """
        before = after = "SELECT NULL::BIGINT AS member_id, NULL::VARCHAR AS code LIMIT 0"
        if "tier_changes" in self.present:
            before = """SELECT member_id, to_code AS code FROM tier_changes
                WHERE changed_at < $moment QUALIFY row_number() OVER (
                    PARTITION BY member_id ORDER BY changed_at DESC, change_id DESC) = 1"""
            after = """SELECT member_id, coalesce(from_code, $first) AS code FROM tier_changes
                WHERE changed_at >= $moment QUALIFY row_number() OVER (
                    PARTITION BY member_id ORDER BY changed_at, change_id) = 1"""
        rows = self.connection.execute(
            f"""SELECT coalesce(b.code, a.code, m.tier_code, $first) AS tier, count(*)
                FROM members m LEFT JOIN ({before}) b USING (member_id)
                LEFT JOIN ({after}) a USING (member_id)
                WHERE m.joined_at < $moment AND m.status NOT IN ('merged', 'erased')
                GROUP BY tier""",
            {"moment": moment, "first": first_tier},
        ).fetchall()
        return {tier: int(count) for tier, count in rows}

    def moves(self, start: datetime, end: datetime, first_tier: str) -> dict[tuple[str, str], int]:
        if "tier_changes" not in self.present:
            return {}
        rows = self.connection.execute(
            """SELECT coalesce(from_code, $first), to_code, count(*) FROM tier_changes
               WHERE changed_at >= $start AND changed_at < $end GROUP BY ALL""",
            {"start": start, "end": end, "first": first_tier},
        ).fetchall()
        return {(source, target): int(count) for source, target, count in rows}


_POINT_KPIS: Final = (
    "points_earned",
    "points_redeemed",
    "points_expired",
    "redemption_rate",
    "breakage_rate",
    "outstanding_points",
    "points_liability",
)


def _instant(moment: date, zone: ZoneInfo) -> datetime:
    """A day starts at midnight in ``zone``; a naive datetime is wall time there."""
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    else:
        aware = datetime.combine(moment, time(), tzinfo=zone)
    return aware.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"unknown time zone {name!r}", field="timezone") from error


def _check(
    warehouse: _Warehouse, start: datetime, end: datetime, window: timedelta, value: Decimal
) -> None:
    if end <= start:
        raise InvalidInput(
            f"end {end.isoformat()} must be after start {start.isoformat()}", field="end"
        )
    if window <= timedelta(0):
        raise InvalidInput("the breakage window must be positive", field="breakage_window")
    if value < 0:
        raise InvalidInput("a point cannot be worth less than nothing", field="point_value")
    overlaps = first = last = None
    if "receipts" in warehouse.present:
        overlaps, first, last = warehouse.one(
            """SELECT bool_or(sold_at >= $start AND sold_at < $end),
                      CAST(timezone('UTC', min(sold_at)) AS DATE),
                      CAST(timezone('UTC', max(sold_at)) AS DATE) FROM receipts""",
            start=start,
            end=end,
        )
    if first is None:
        raise InvalidInput("the warehouse has no sales yet", code="no_sales", field="receipts")
    if not overlaps:
        raise InvalidInput(
            f"no sales between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC;"
            f" the sales run from {first} to {last}",
            code="period_outside_data",
            field="start",
        )


def program_kpis(
    connection: duckdb.DuckDBPyConnection,
    *,
    start: date,
    end: date,
    timezone: str = "UTC",
    point_value: Decimal = DEMO_POINT_VALUE,
    breakage_window: timedelta = YEAR,
    first_tier: str = DEMO_FIRST_TIER,
    sales: Sales | None = None,
) -> ProgramKpis:
    """Work out the program's KPIs for ``[start, end)`` and the period of equal length before.

    Args:
        connection: a DuckDB connection from ``open_warehouse`` (receipts required; members,
            ledger, point lots and tier changes used when present).
        start: first day (or instant) of the period.
        end: the day (or instant) after the period; must be after ``start``.
        timezone: where a day begins, e.g. the program's ``Asia/Shanghai``; a datetime
            with a time zone is taken as it is.
        point_value: money one point is worth, for the liability; the default is the demo
            program's redemption value.
        breakage_window: how far the breakage rate looks back from each period's end.
        first_tier: the tier of members who never had a tier assigned.
        sales: the sales the sales KPIs count (a store, region or channel); points, new
            members and tiers are the chain's.

    Returns:
        The KPIs in a fixed order (see ``UNITS``), the tier distribution at the end and at
        the start, and the tier moves during both periods.

    Raises:
        InvalidInput: ``end`` not after ``start``, an unknown time zone, a non-positive
            window, a negative point value, no sales at all (code ``no_sales``) or none in
            the period (code ``period_outside_data``). A previous period before the data
            is no error: its figures are zero or None.
    """
    zone = _zone(timezone)
    begin, finish = _instant(start, zone), _instant(end, zone)
    warehouse = _Warehouse(connection)
    _check(warehouse, begin, finish, breakage_window, point_value)
    before = begin - (finish - begin)

    def figures(a: datetime, b: datetime) -> dict[str, Figure]:
        return (
            warehouse.sales(a, b, sales)
            | warehouse.new_members(a, b)
            | warehouse.points(a, b, breakage_window, point_value)
        )

    now, then = figures(begin, finish), figures(before, begin)
    kpis = tuple(_kpi(name, now[name], then[name]) for name in UNITS)
    tiers, moves, tier_reason = _tier_report(warehouse, before, begin, finish, first_tier)
    return ProgramKpis(begin, finish, before, kpis, tiers, moves, tier_reason)


SALES_KPIS: Final = (
    "active_members",
    "repeat_purchase_rate",
    "purchase_frequency",
    "average_ticket_members",
    "average_ticket_all",
    "member_share_of_sales",
)


@dataclass(frozen=True)
class StoreKpis:
    """A store's sales KPIs for a store manager: points and tiers belong to the chain."""

    store_code: str
    region: str
    kpis: tuple[Kpi, ...]


def store_kpis(
    connection: duckdb.DuckDBPyConnection, *, start: date, end: date, timezone: str = "UTC"
) -> list[StoreKpis]:
    """Each store's sales KPIs for ``[start, end)`` and the period before, by store code."""
    zone = _zone(timezone)
    begin, finish = _instant(start, zone), _instant(end, zone)
    before = begin - (finish - begin)
    warehouse = _Warehouse(connection)
    if "stores" not in warehouse.present:
        return []
    stores = connection.execute(
        "SELECT store_id, store_code, region FROM stores ORDER BY store_code"
    ).fetchall()
    found = []
    for store_id, code, region in stores:
        now, then = (
            warehouse.sales(a, b, Sales(store_id=store_id))
            for a, b in ((begin, finish), (before, begin))
        )
        kpis = tuple(_kpi(name, now[name], then[name]) for name in SALES_KPIS)
        found.append(StoreKpis(str(code), str(region), kpis))
    return found


def _kpi(name: str, now: Figure, then: Figure) -> Kpi:
    reason = now[1] or (then[1] and f"{EARLIER}{then[1]}")
    return Kpi(name, UNITS[name], now[0], then[0], reason)


def _tier_report(
    warehouse: _Warehouse, before: datetime, begin: datetime, finish: datetime, first_tier: str
) -> tuple[tuple[TierCount, ...], tuple[TierMove, ...], str | None]:
    if "members" not in warehouse.present:
        return (), (), "the warehouse has no members"
    at_end, at_start = (warehouse.tiers_at(m, first_tier) for m in (finish, begin))
    now, then = (warehouse.moves(a, b, first_tier) for a, b in ((begin, finish), (before, begin)))
    tiers = tuple(
        TierCount(t, at_end.get(t, 0), at_start.get(t, 0))
        for t in sorted(at_end.keys() | at_start.keys())
    )
    moves = tuple(
        TierMove(a, b, now.get((a, b), 0), then.get((a, b), 0))
        for a, b in sorted(now.keys() | then.keys())
    )
    return tiers, moves, None


@dataclass(frozen=True)
class Week:
    """One week's sales for the dashboard's trend charts."""

    start: date
    receipts: int
    sales: float
    member_share: float | None
    active_members: int


def last_sale_day(connection: duckdb.DuckDBPyConnection, *, timezone: str = "UTC") -> date:
    """The local day of the latest sale in the warehouse: where a dashboard's period ends."""
    (last,) = connection.execute("SELECT max(sold_at) FROM receipts").fetchall()[0]
    if last is None:
        raise InvalidInput("the warehouse has no sales yet", code="no_sales")
    moment = last if last.tzinfo else last.replace(tzinfo=UTC)
    return moment.astimezone(_zone(timezone)).date()


def weekly_trend(
    connection: duckdb.DuckDBPyConnection,
    *,
    end: date,
    weeks: int,
    timezone: str = "UTC",
    sales: Sales | None = None,
) -> list[Week]:
    """Receipts, sales, member share and active members in each of the `weeks` weeks
    before ``end`` (the day after the last one), oldest first; empty weeks included."""
    zone = _zone(timezone)
    where = sales or Sales()
    finish = _instant(end, zone)
    begin = finish - timedelta(weeks=weeks)
    chosen, params = where.condition()
    rows = connection.execute(
        f"""SELECT floor(epoch(sold_at - $begin::TIMESTAMPTZ) / (7 * 86400))::INT AS week,
                   count(*), sum(total), sum(total) FILTER (member_id IS NOT NULL),
                   count(DISTINCT member_id)
            FROM receipts
            WHERE sold_at >= $begin AND sold_at < $finish
              AND {chosen}
            GROUP BY week""",
        {"begin": begin, "finish": finish, **params},
    ).fetchall()
    by_week = {int(week): rest for week, *rest in rows}
    found = []
    for index in range(weeks):
        receipts, money, member_money, active = by_week.get(index, (0, 0, 0, 0))
        money, member_money = float(money or 0), float(member_money or 0)
        found.append(
            Week(
                start=(begin + timedelta(weeks=index)).astimezone(zone).date(),
                receipts=int(receipts),
                sales=money,
                member_share=member_money / money if money else None,
                active_members=int(active),
            )
        )
    return found
