"""The warehouse copies the operational database incrementally, without personal data."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.analytics.warehouse import WarehouseEmpty, open_warehouse, sync_warehouse
from regulars.db import run_in_transaction
from regulars.points.models import PointEntry
from regulars.points.service import merge_accounts
from tests.checkout.test_service import commit, refund, sale, shop
from tests.conftest import Database
from tests.factories import NOW, make_member


def _first_sales(session: Session) -> tuple[int, int]:
    card = shop(session)
    ann = make_member(session, "13800138001", email="ann@example.com")
    commit(session, sale(card, "R1", rice=2))  # 100.00
    sold = commit(session, sale(ann.card_number, "R2", rice=4, at=NOW - timedelta(days=3)))
    commit(session, sale(None, "R3", rice=1))  # anonymous: no customer
    refund(session, sold.receipt_id, "F1", 1, "1")  # ann brings one bag back: 150.00 left
    return ann.id, sold.receipt_id


def test_sync_copies_facts_once_nets_refunds_and_leaves_people_out(
    database: Database, tmp_path: Path
) -> None:
    ann, receipt = run_in_transaction(database.sessions, _first_sales)
    folder = tmp_path / "warehouse"
    first = sync_warehouse(database.engine, folder)
    assert first.snapshots["refunds"] == 1
    with database.sessions() as session:
        entries = session.scalar(select(func.count()).select_from(PointEntry))
    assert (entries or 0) >= 3  # two sales earned, the refund reversed
    assert first.copied == {"receipts": 3, "lines": 3, "ledger": entries}
    assert sync_warehouse(database.engine, folder).copied == dict.fromkeys(first.copied, 0)

    duck = open_warehouse(folder)
    spend = dict(
        duck.execute("SELECT customer_id, sum(amount) FROM transactions GROUP BY 1").fetchall()
    )
    assert spend[str(ann)] == pytest.approx(150.00)
    assert sum(spend.values()) == pytest.approx(250.00)  # the anonymous sale is no customer's
    member_columns = {c for (c, *_) in duck.execute("DESCRIBE members").fetchall()}
    assert not member_columns & {"phone", "email", "name", "birth_date", "card_number"}
    [(receipt_month,)] = duck.execute(
        "SELECT month FROM receipts WHERE receipt_id = ?", [receipt]
    ).fetchall()
    assert receipt_month == (NOW - timedelta(days=3)).strftime("%Y-%m")

    # A merge later credits the old purchases to the member who stays.
    def merged(session: Session) -> int:
        bob = make_member(session, "13800138002")
        merge_accounts(session, source_id=ann, target_id=bob.id, actor="test", now=NOW)
        commit(session, sale(bob.card_number, "R4", rice=1))
        return bob.id

    bob = run_in_transaction(database.sessions, merged)
    again = sync_warehouse(database.engine, folder)
    assert (again.copied["receipts"], again.copied["lines"]) == (1, 1)
    spend = dict(
        open_warehouse(folder)
        .execute("SELECT customer_id, sum(amount) FROM transactions GROUP BY 1")
        .fetchall()
    )
    assert str(ann) not in spend
    assert spend[str(bob)] == pytest.approx(200.00)


def test_analyses_on_an_empty_warehouse_say_what_to_do(database: Database, tmp_path: Path) -> None:
    with pytest.raises(WarehouseEmpty, match="warehouse sync"):
        open_warehouse(tmp_path / "nothing")
    run_in_transaction(database.sessions, shop)
    sync_warehouse(database.engine, tmp_path / "w")
    with pytest.raises(WarehouseEmpty, match="no sales"):
        open_warehouse(tmp_path / "w")


def test_sales_still_settling_wait_for_the_next_sync(database: Database, tmp_path: Path) -> None:
    """A sale recorded moments ago may have a lower-numbered twin still committing."""
    run_in_transaction(database.sessions, _first_sales)  # all recorded at NOW
    folder = tmp_path / "warehouse"
    settle = timedelta(minutes=2)
    early = sync_warehouse(database.engine, folder, now=NOW + timedelta(seconds=30), settle=settle)
    assert early.copied == {"receipts": 0, "lines": 0, "ledger": 0}
    settled = sync_warehouse(database.engine, folder, now=NOW + timedelta(minutes=5), settle=settle)
    assert (settled.copied["receipts"], settled.copied["lines"]) == (3, 3)
