"""Program KPIs: a hand-worked month of a tiny shop, the demo chain, and the real services."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.analytics.kpis import Sales, program_kpis, store_kpis, weekly_trend
from regulars.analytics.warehouse import open_warehouse, sync_warehouse
from regulars.checkout.refunds import refund_sale
from regulars.checkout.schemas import CartLine, SaleIn, SaleResult
from regulars.checkout.service import commit_sale
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.points.models import EntryKind, PointEntry, PointLot
from regulars.sales.rules import Limits
from regulars.sales.schemas import RefundIn, RefundLineIn
from tests.analytics.conftest import DemoWarehouse
from tests.conftest import Database
from tests.factories import NOW, make_member, make_product, make_program, make_store

APRIL, MAY = date(2024, 4, 1), date(2024, 5, 1)  # the period; the one before is 2 Mar - 1 Apr

RECEIPTS = """
    (1, 1, 1, '2024-04-02 10:00:00+00', 100.0),
    (2, 1, 3, '2024-04-10 10:00:00+00', 50.0),   -- member 3 was merged into 1
    (3, 1, 2, '2024-04-06 10:00:00+00', 30.0),
    (4, 1, NULL, '2024-04-07 10:00:00+00', 20.0),
    (5, 1, NULL, '2024-04-30 23:59:59+00', 120.0),
    (6, 1, 4, '2024-05-01 00:00:00+00', 99.0),   -- the first moment after the period
    (7, 1, 1, '2024-03-05 10:00:00+00', 40.0),
    (8, 1, NULL, '2024-03-20 10:00:00+00', 60.0),
    (9, 1, 5, '2024-03-25 10:00:00+00', 10.0),
    (10, 1, 1, '2024-03-28 10:00:00+00', 20.0)"""
MEMBERS = """
    (1, NULL, '2024-01-10 08:00:00+00', 'active', 'gold'),
    (2, NULL, '2024-04-05 08:00:00+00', 'active', NULL),
    (3, 1, '2024-03-10 08:00:00+00', 'merged', NULL),
    (4, NULL, '2024-04-20 08:00:00+00', 'active', 'gold'),
    (5, NULL, '2024-03-20 08:00:00+00', 'erased', NULL),
    (6, NULL, '2024-01-01 08:00:00+00', 'active', 'silver')"""
LOTS = """
    (1, 1, '2024-04-15 00:00:00+00'),   -- lapses in the period
    (2, 1, '2025-12-31 16:00:00+00'),
    (3, 2, '2025-12-31 16:00:00+00'),
    (4, 1, NULL),                       -- a debt from a claw-back
    (5, 4, '2025-12-31 16:00:00+00'),
    (6, 1, '2025-12-31 16:00:00+00'),
    (7, 2, NULL)"""
LEDGER = """
    (1, 1, 'earn', 400, '2024-03-05 10:00:00+00'),
    (1, 1, 'burn', -150, '2024-03-28 10:00:00+00'),
    (1, 1, 'expire', -250, '2024-04-16 00:00:00+00'),  -- the expiry job ran a day late
    (2, 1, 'earn', 100, '2024-04-02 10:00:00+00'),
    (2, 1, 'mature', 0, '2024-04-09 10:00:00+00'),
    (2, 1, 'burn', -60, '2024-04-10 10:00:00+00'),
    (3, 2, 'bonus', 200, '2024-04-06 10:00:00+00'),
    (6, 1, 'reverse', 10, '2024-04-12 10:00:00+00'),   -- redeemed points given back
    (4, 1, 'reverse', -30, '2024-04-20 10:00:00+00'),  -- earned points taken back
    (7, 2, 'adjust', 25, '2024-04-25 10:00:00+00'),
    (5, 4, 'earn', 70, '2024-05-01 00:00:00+00')"""
TIER_CHANGES = """
    (1, 1, NULL, 'silver', '2024-03-10 10:00:00+00'),
    (2, 4, 'regular', 'silver', '2024-04-22 10:00:00+00'),
    (3, 4, 'silver', 'gold', '2024-04-25 10:00:00+00'),
    (4, 1, 'silver', 'gold', '2024-05-03 10:00:00+00'),
    (5, 6, 'regular', 'silver', '2024-06-01 10:00:00+00')"""


def tiny_shop(*, points: bool = True) -> duckdb.DuckDBPyConnection:
    """The warehouse views a KPI needs, as tables holding the rows above."""
    connection = duckdb.connect()
    tables = {
        "receipts (receipt_id BIGINT, store_id BIGINT, member_id BIGINT, sold_at TIMESTAMPTZ,"
        " total DOUBLE)": RECEIPTS,
        "members (member_id BIGINT, merged_into_id BIGINT, joined_at TIMESTAMPTZ,"
        " status VARCHAR, tier_code VARCHAR)": MEMBERS,
        "customers (member_id BIGINT, customer_id BIGINT)": "(1, 1), (2, 2), (3, 1), (4, 4),"
        " (5, 5), (6, 6)",
        "tier_changes (change_id BIGINT, member_id BIGINT, from_code VARCHAR, to_code VARCHAR,"
        " changed_at TIMESTAMPTZ)": TIER_CHANGES,
    }
    if points:
        tables["point_lots (lot_id BIGINT, member_id BIGINT, expires_at TIMESTAMPTZ)"] = LOTS
        tables["ledger (lot_id BIGINT, member_id BIGINT, kind VARCHAR, points BIGINT,"
               " created_at TIMESTAMPTZ)"] = LEDGER  # fmt: skip
    for shape, rows in tables.items():
        connection.execute(f"CREATE TABLE {shape}")
        connection.execute(f"INSERT INTO {shape.split(' ')[0]} VALUES {rows}")
    return connection


def test_sales_kpis_of_a_hand_worked_month() -> None:
    report = program_kpis(tiny_shop(), start=APRIL, end=MAY)
    assert (report.start, report.end) == (
        datetime(2024, 4, 1, tzinfo=UTC),
        datetime(2024, 5, 1, tzinfo=UTC),
    )
    assert report.previous_start == datetime(2024, 3, 2, tzinfo=UTC)  # 30 days before
    # April: receipts 1-5 (6 is in May). Members 1 (receipts 1 and 2, one via the merged
    # account 3) and 2 (receipt 3); 4 and 5 are anonymous. Money 100+50+30+20+120 = 320.
    # March 2-31: member 1 twice (7, 10), member 5 once (9), one anonymous (8); money 130.
    expected = {
        "active_members": (2, 2),
        "new_members": (2, 1),  # 2 and 4 in April; 5 in March (3 is a merged duplicate)
        "repeat_purchase_rate": (1 / 2, 1 / 2),
        "purchase_frequency": (3 / 2, 3 / 2),
        "average_ticket_members": (180 / 3, 70 / 3),
        "average_ticket_all": (320 / 5, 130 / 4),
        "member_share_of_sales": (180 / 320, 70 / 130),
    }
    for name, (value, previous) in expected.items():
        kpi = report[name]
        assert (kpi.value, kpi.previous) == (pytest.approx(value), pytest.approx(previous))
        assert kpi.change == pytest.approx(value - previous)
        assert kpi.reason is None
    assert report["average_ticket_all"].unit == "money"


def test_points_kpis_of_a_hand_worked_month() -> None:
    report = program_kpis(tiny_shop(), start=APRIL, end=MAY)
    # April: earned 100 + 200 bonus - 30 taken back = 270; redeemed 60 - 10 given back = 50;
    # expired 250. March: earned 400, redeemed 150. The adjustment is neither.
    # The year to 1 May earned 400 + 270 = 670 and lost 250; the year to 1 April lost nothing.
    # Held on 1 May: lot 2 40, lot 3 200, lot 6 10, debt lot 4 -30, lot 7 25 = 245 (lot 1
    # lapsed, lot 5's entry is at 1 May itself). Held on 1 April: lot 1, 400 - 150 = 250.
    expected = {
        "points_earned": (270, 400),
        "points_redeemed": (50, 150),
        "points_expired": (250, 0),
        "redemption_rate": (50 / 270, 150 / 400),
        "breakage_rate": (250 / 670, 0.0),
        "outstanding_points": (245, 250),
        "points_liability": (2.45, 2.50),
    }
    for name, (value, previous) in expected.items():
        kpi = report[name]
        assert (kpi.value, kpi.previous) == (pytest.approx(value), pytest.approx(previous))


def test_points_that_lapsed_count_no_more_before_the_expiry_job_writes_them_off() -> None:
    report = program_kpis(tiny_shop(), start=APRIL, end=datetime(2024, 4, 16, tzinfo=UTC))
    # Lot 1 still holds 250 points until the job at 16 April 00:00, but they lapsed on the
    # 15th. Lot 2 40, lot 3 200, lot 6 10 = 250.
    assert report["outstanding_points"].value == 250
    worth_more = program_kpis(tiny_shop(), start=APRIL, end=MAY, point_value=Decimal("0.1"))
    assert worth_more["points_liability"].value == pytest.approx(24.5)


def test_breakage_window_is_a_parameter() -> None:
    report = program_kpis(tiny_shop(), start=APRIL, end=MAY, breakage_window=timedelta(days=30))
    # 1-30 April earned 270 and lost 250; 2-31 March earned 400 and lost nothing.
    assert (report["breakage_rate"].value, report["breakage_rate"].previous) == (
        pytest.approx(250 / 270),
        0.0,
    )


def test_points_forfeited_on_erasure_lapse_like_expired_ones() -> None:
    shop = tiny_shop()
    before = program_kpis(shop, start=APRIL, end=MAY)
    shop.execute("INSERT INTO ledger VALUES (3, 2, 'forfeit', -200, '2024-04-28 10:00:00+00')")
    after = program_kpis(shop, start=APRIL, end=MAY)
    assert after["points_expired"].value == before["points_expired"].value + 200
    assert after["outstanding_points"].value == before["outstanding_points"].value - 200


def test_tiers_at_the_end_and_moves_during_the_period() -> None:
    report = program_kpis(tiny_shop(), start=APRIL, end=MAY)
    # 1 May: 1 silver (turns gold only on 3 May), 2 regular (never changed), 4 gold,
    # 6 regular (turns silver in June); 3 is merged and 5 erased. 1 April: 1 silver, 6
    # regular; 2 and 4 had not joined.
    assert [(t.tier, t.members, t.previous) for t in report.tiers] == [
        ("gold", 1, 0),
        ("regular", 2, 1),
        ("silver", 1, 1),
    ]
    # April: 4 went regular -> silver -> gold; March: 1's first tier assignment counts
    # as coming from the first tier.
    assert [(m.from_tier, m.to_tier, m.changes, m.previous) for m in report.tier_moves] == [
        ("regular", "silver", 1, 1),
        ("silver", "gold", 1, 0),
    ]
    assert report.tier_reason is None


def test_a_day_begins_in_the_given_time_zone() -> None:
    report = program_kpis(tiny_shop(), start=APRIL, end=MAY, timezone="Asia/Shanghai")
    assert report.end == datetime(2024, 4, 30, 16, tzinfo=UTC)
    # Receipt 5 at 23:59 UTC on 30 April is already 1 May in Shanghai.
    assert report["average_ticket_all"].value == pytest.approx(200 / 4)
    assert report["member_share_of_sales"].value == pytest.approx(180 / 200)


def test_without_a_ledger_points_kpis_are_missing_with_a_reason() -> None:
    report = program_kpis(tiny_shop(points=False), start=APRIL, end=MAY)
    for name in ("points_earned", "redemption_rate", "breakage_rate", "points_liability"):
        kpi = report[name]
        assert (kpi.value, kpi.previous, kpi.change) == (None, None, None)
        assert kpi.reason == "the warehouse has no point movements"
    assert report["active_members"].value == 2


def test_a_previous_period_before_the_data_has_zeros_and_reasons() -> None:
    report = program_kpis(tiny_shop(), start=date(2024, 3, 5), end=date(2024, 3, 6))
    active = report["active_members"]
    assert (active.value, active.previous, active.change) == (1, 0, 1)
    share = report["member_share_of_sales"]
    assert (share.value, share.previous) == (1.0, None)
    assert share.reason == "previous period: no sales"
    redemption = report["redemption_rate"]  # 400 earned at 10:00 on the 5th, none spent
    assert (redemption.value, redemption.previous) == (0.0, None)
    assert redemption.reason == "previous period: no points were earned"


def test_the_report_is_written_as_json(tmp_path: Path) -> None:
    report = program_kpis(tiny_shop(points=False), start=APRIL, end=MAY)
    report.write_json(tmp_path / "kpis.json")
    saved = json.loads((tmp_path / "kpis.json").read_text())
    assert saved["start"] == "2024-04-01T00:00:00+00:00"
    by_name = {kpi["name"]: kpi for kpi in saved["kpis"]}
    assert by_name["new_members"] == {
        "name": "new_members",
        "unit": "members",
        "value": 2,
        "previous": 1,
        "reason": None,
        "change": 1,
    }
    assert by_name["points_liability"]["value"] is None
    assert saved["tiers"][0] == {"tier": "gold", "members": 1, "previous": 0}


@pytest.mark.parametrize(
    ("options", "field", "code"),
    [
        ({"start": MAY, "end": MAY}, "end", "invalid_input"),
        ({"start": MAY, "end": APRIL}, "end", "invalid_input"),
        ({"start": date(2025, 1, 1), "end": date(2025, 2, 1)}, "start", "period_outside_data"),
        ({"start": date(2020, 1, 1), "end": date(2024, 3, 5)}, "start", "period_outside_data"),
        ({"start": APRIL, "end": MAY, "timezone": "Mars/Olympus"}, "timezone", "invalid_input"),
        (
            {"start": APRIL, "end": MAY, "breakage_window": timedelta(0)},
            "breakage_window",
            "invalid_input",
        ),
        ({"start": APRIL, "end": MAY, "point_value": Decimal(-1)}, "point_value", "invalid_input"),
    ],
)
def test_bad_input_names_the_field(options: dict[str, object], field: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        program_kpis(tiny_shop(), **options)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.code) == (field, code)


@pytest.mark.parametrize("emptied", [False, True])
def test_a_warehouse_without_sales_is_refused(emptied: bool) -> None:
    connection = duckdb.connect()
    if emptied:
        connection.execute("CREATE TABLE receipts (member_id BIGINT, sold_at TIMESTAMPTZ)")
    with pytest.raises(InvalidInput) as caught:
        program_kpis(connection, start=APRIL, end=MAY)
    assert (caught.value.code, caught.value.field) == ("no_sales", "receipts")


# --- the demo chain ---------------------------------------------------------------------


def test_demo_kpis_reflect_the_generator(demo_warehouse: DemoWarehouse) -> None:
    connection = open_warehouse(demo_warehouse.folder)
    report = program_kpis(
        connection, start=date(2026, 10, 1), end=date(2026, 11, 1), timezone="Asia/Shanghai"
    )
    share = report["member_share_of_sales"].value
    ticket_members = report["average_ticket_members"].value
    ticket_all = report["average_ticket_all"].value
    assert share is not None
    assert ticket_members is not None
    assert ticket_all is not None
    # Three sales in ten are anonymous, so member receipts are seven in ten of all receipts:
    # share of money = share of receipts x member ticket / overall ticket.
    assert share * ticket_all / ticket_members == pytest.approx(0.7, abs=0.02)
    assert 0.6 < share < 0.9
    active, previous = report["active_members"].value, report["active_members"].previous
    assert active is not None
    assert previous is not None
    assert 0 < min(active, previous) <= max(active, previous) <= 800
    rate = report["repeat_purchase_rate"].value
    frequency = report["purchase_frequency"].value
    assert rate is not None
    assert frequency is not None
    assert 0.0 <= rate <= 1.0
    assert frequency >= 1.0 + rate - 1e-9  # repeaters visit at least twice
    # The demo's receipts earn points and tier progress as at the till.
    earned, held = report["points_earned"].value, report["outstanding_points"].value
    assert earned is not None
    assert held is not None
    assert earned > 0
    assert report["points_liability"].value == pytest.approx(held / 100)  # 100 points a yuan
    tiers = {t.tier: t.members for t in report.tiers}
    assert sum(tiers.values()) == 800
    assert tiers["regular"] > tiers["silver"] > tiers["gold"] > 0
    assert {(m.from_tier, m.to_tier) for m in report.tier_moves if m.changes} >= {
        ("regular", "silver")
    }


def test_demo_new_members_match_the_members_table(demo_warehouse: DemoWarehouse) -> None:
    connection = open_warehouse(demo_warehouse.folder)
    report = program_kpis(
        connection, start=date(2026, 2, 1), end=date(2026, 11, 1), timezone="Asia/Shanghai"
    )
    (joined,) = connection.execute(
        "SELECT count(*) FROM members WHERE joined_at >= TIMESTAMPTZ '2026-02-01 00:00:00+08'"
    ).fetchall()[0]
    assert report["new_members"].value == joined
    (customers,) = connection.execute(
        "SELECT count(DISTINCT customer_id) FROM transactions"
    ).fetchall()[0]
    assert report["active_members"].value == customers  # the nine months hold every sale


# --- through the real services ----------------------------------------------------------


def sale(card: str | None, number: str, rice: int, redeem: int, at: datetime) -> SaleIn:
    return SaleIn(
        store_code="S001",
        pos_receipt_no=number,
        sold_at=at,
        member_card=card,
        lines=[CartLine(sku="RICE", quantity=Decimal(rice))],
        redeem_points=redeem,
    )


def test_liability_and_redemption_match_the_ledger(database: Database, tmp_path: Path) -> None:
    def shop(session: Session) -> tuple[str, str]:
        make_store(session, "S001")
        make_product(session, sku="RICE", price="50.00")
        make_program(session)  # 1 point a yuan, 100 points pay a yuan, silver from 1,000
        return make_member(session).card_number, make_member(session, "13900139000").card_number

    first, second = run_in_transaction(database.sessions, shop)
    limits = Limits()
    day = timedelta(days=1)
    sales = [
        (sale(first, "1", 20, 0, NOW), NOW),  # 1,000 yuan: 1,000 points, and silver
        (sale(second, "2", 4, 0, NOW), NOW),
        (sale(first, "3", 6, 300, NOW + day), NOW + day),
        (sale(None, "4", 1, 0, NOW + day), NOW + day),
    ]

    def commit(what: SaleIn, now: datetime) -> SaleResult:
        return run_in_transaction(
            database.sessions,
            lambda s: commit_sale(s, sale=what, now=now, limits=limits),
        )

    receipts = [commit(what, now) for what, now in sales]
    assert receipts[2].points_redeemed == 300
    later = NOW + 2 * day
    run_in_transaction(  # half the redeeming sale comes back: points both ways
        database.sessions,
        lambda s: refund_sale(
            s,
            receipt_id=receipts[2].receipt_id,
            now=later,
            limits=limits,
            refund=RefundIn(
                pos_refund_no="R1",
                refunded_at=later,
                lines=[RefundLineIn(line_no=1, quantity=Decimal(3))],
            ),
        ),
    )
    sync_warehouse(database.engine, tmp_path / "warehouse")
    end = datetime(2026, 7, 1, tzinfo=UTC)
    report = program_kpis(
        open_warehouse(tmp_path / "warehouse"),
        start=date(2026, 6, 1),
        end=end.date(),
        timezone="UTC",
    )

    with database.sessions() as session:
        held = session.scalar(
            select(func.sum(PointLot.remaining)).where(
                (PointLot.expires_at.is_(None)) | (PointLot.expires_at > end)
            )
        )
        entries = session.execute(select(PointEntry.kind, PointEntry.points)).all()
    earned = sum(p for k, p in entries if k in (EntryKind.EARN, EntryKind.BONUS))
    earned += sum(p for k, p in entries if k is EntryKind.REVERSE and p < 0)
    redeemed = -sum(p for k, p in entries if k is EntryKind.BURN)
    redeemed -= sum(p for k, p in entries if k is EntryKind.REVERSE and p > 0)
    assert 0 < redeemed < 300 < earned  # some redeemed points were given back
    assert report["outstanding_points"].value == held == earned - redeemed
    assert report["points_liability"].value == pytest.approx(held / 100)
    assert report["redemption_rate"].value == pytest.approx(redeemed / earned)
    assert report["points_redeemed"].value == redeemed
    assert report["active_members"].value == 2
    assert [(m.from_tier, m.to_tier, m.changes) for m in report.tier_moves] == [
        ("regular", "silver", 1)
    ]


def test_each_store_gets_its_own_sales_kpis() -> None:
    shop = tiny_shop()
    shop.execute("CREATE TABLE stores (store_id BIGINT, store_code VARCHAR, region VARCHAR)")
    shop.execute("INSERT INTO stores VALUES (1, 'S001', 'East'), (2, 'S002', 'West')")
    shop.execute("UPDATE receipts SET store_id = 2 WHERE receipt_id IN (3, 5)")
    east, west = store_kpis(shop, start=APRIL, end=MAY)
    assert (east.store_code, west.store_code) == ("S001", "S002")
    figures = {store.store_code: {k.name: k.value for k in store.kpis} for store in (east, west)}
    # April: S001 sold 100 and 50 (members 1 and 3, one customer) and 20 anonymously;
    # S002 sold 30 to member 2 and 120 anonymously.
    assert figures["S001"]["active_members"] == 1
    assert figures["S001"]["member_share_of_sales"] == pytest.approx(150 / 170)
    assert figures["S002"]["average_ticket_all"] == pytest.approx(75.0)
    assert figures["S002"]["repeat_purchase_rate"] == 0.0
    assert [k.previous for k in west.kpis][0] == 0  # S002 sold nothing in March


def test_sales_kpis_of_one_region_or_channel() -> None:
    shop = tiny_shop()
    shop.execute("CREATE TABLE stores (store_id BIGINT, store_code VARCHAR, region VARCHAR)")
    shop.execute("INSERT INTO stores VALUES (1, 'S001', 'East'), (2, 'WEB', 'National')")
    shop.execute("ALTER TABLE receipts ADD COLUMN channel VARCHAR DEFAULT 'store'")
    shop.execute("UPDATE receipts SET store_id = 2, channel = 'online' WHERE receipt_id IN (3, 5)")

    def april(**where: object) -> dict[str, float | None]:
        found = program_kpis(shop, start=APRIL, end=MAY, sales=Sales(**where))  # type: ignore[arg-type]
        return {k.name: k.value for k in found.kpis}

    online, national = april(channel="online"), april(region="National")
    assert online == national  # the web shop is the national region's one store
    assert online["active_members"] == 1  # member 2's 30
    assert online["average_ticket_all"] == pytest.approx(75.0)  # 30 and 120
    east = april(region="East")
    assert east["member_share_of_sales"] == pytest.approx(150 / 170)
    assert april(region="Nowhere")["active_members"] == 0
    # New members and points are the chain's, whatever the sales chosen.
    assert east["new_members"] == online["new_members"] == april()["new_members"]


def test_weekly_trend_counts_each_week_and_its_empty_ones() -> None:
    shop = tiny_shop()
    weeks = weekly_trend(shop, end=date(2024, 4, 15), weeks=3)
    assert [w.start for w in weeks] == [date(2024, 3, 25), date(2024, 4, 1), date(2024, 4, 8)]
    # 25-31 Mar: 10 (member 5) and 20 (member 1); 1-7 Apr: 100, 30, 20; 8-14 Apr: 50.
    assert [w.receipts for w in weeks] == [2, 3, 1]
    assert [w.sales for w in weeks] == [30.0, 150.0, 50.0]
    assert [w.active_members for w in weeks] == [2, 2, 1]
    assert weeks[1].member_share == pytest.approx(130 / 150)
    assert weekly_trend(shop, end=date(2020, 1, 6), weeks=1)[0].receipts == 0
