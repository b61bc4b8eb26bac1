import csv
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from regulars.catalog.models import Product
from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.config import Settings
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.imports.catalog import import_catalog
from regulars.imports.members import import_members
from regulars.imports.receipts import import_receipts
from regulars.members.models import ConsentRecord, Member
from regulars.sales.models import Receipt, ReceiptLine
from tests.conftest import Database
from tests.factories import NOW, make_product, make_store

SETTINGS = Settings(environment="test")
HEADER = ",".join(
    ["store", "pos_receipt_no", "sold_at", "member_card", "payment_method"]
    + ["sku", "quantity", "unit_price", "line_discount\n"]
)
FUTURE = (NOW + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
RECEIPTS = (
    HEADER
    + f"""S001,A1,2026-06-14 10:00,,cash,NOODLE-1,2,4.50,0
S001,A1,2026-06-14 10:00,,cash,EGGS-1,1,15.80,0.80
S001,A2,2026-06-14 10:05,,wechat_pay,NOODLE-1,1,4.50,0
S001,A3,2026-06-14 10:10,,cash,GHOST,1,4.50,0
S001,A4,2026-06-14 10:15,,cash,NOODLE-1,-2,4.50,0
S001,A5,{FUTURE},,cash,NOODLE-1,1,4.50,0
S001,A6,2026-06-14 10:20,,cash,NOODLE-1,1,four,0
S001,A7,yesterday,,cash,NOODLE-1,1,4.50,0
S001,A8,2026-06-14 10:25,,cash,NOODLE-1,1
S009,A9,2026-06-14 10:30,,cash,NOODLE-1,1,4.50,0
S001,A10,2026-06-14 10:35,,cash,NOODLE-1,1,4.50,0
S001,A10,2026-06-14 10:35,,cash,EGGS-1,x,15.80,0
"""
)


def shop(database: Database) -> None:
    def build(session):  # type: ignore[no-untyped-def]
        make_store(session, "S001")
        make_product(session, sku="NOODLE-1", price="4.50")
        make_product(session, sku="EGGS-1", price="15.80")

    run_in_transaction(database.sessions, build)


def table_counts(database: Database, *tables: type) -> list[int]:
    with database.sessions() as session:
        return [session.scalar(select(func.count()).select_from(t)) or 0 for t in tables]


def rejects(path: Path) -> dict[str, str]:
    with path.open() as handle:
        return {row["row"]: row["reason"] for row in csv.DictReader(handle)}


def test_receipt_import_keeps_good_receipts_and_explains_every_reject(
    database: Database, tmp_path: Path
) -> None:
    shop(database)
    source = tmp_path / "sales.csv"
    source.write_text(RECEIPTS)
    report = import_receipts(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert (report.rows, report.created, report.unchanged) == (12, 2, 0)
    assert table_counts(database, Receipt, ReceiptLine) == [2, 3]
    reasons = rejects(tmp_path / "sales.rejects.csv")
    assert set(reasons) == {"5", "6", "7", "8", "9", "10", "11", "12", "13"}
    assert reasons["5"].startswith("sku: unknown SKU 'GHOST'")
    assert reasons["6"].startswith("quantity:")
    assert reasons["7"].startswith("sold_at:")
    assert "future" in reasons["7"]
    assert reasons["8"].startswith("unit_price:")
    assert reasons["9"].startswith("sold_at:")
    assert "fields" in reasons["10"]
    assert reasons["11"].startswith("store_code: unknown store") or reasons["11"].startswith(
        "store:"
    )
    assert reasons["13"].startswith("quantity:")  # the bad line of A10 …
    assert "row 13" in reasons["12"]  # … takes its good line with it


def test_running_the_same_import_again_changes_nothing(database: Database, tmp_path: Path) -> None:
    shop(database)
    source = tmp_path / "sales.csv"
    source.write_text(RECEIPTS)
    import_receipts(database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False)
    before = table_counts(database, Receipt, ReceiptLine)
    again = import_receipts(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert (again.created, again.unchanged) == (0, 2)
    assert table_counts(database, Receipt, ReceiptLine) == before


def test_the_same_number_with_new_content_is_rejected_as_a_conflict(
    database: Database, tmp_path: Path
) -> None:
    shop(database)
    first = tmp_path / "day1.csv"
    first.write_text(HEADER + "S001,B1,2026-06-14 10:00,,cash,NOODLE-1,2,4.50,0\n")
    import_receipts(database.sessions, first, settings=SETTINGS, now=NOW, show_progress=False)
    second = tmp_path / "day2.csv"
    second.write_text(HEADER + "S001,B1,2026-06-14 10:00,,cash,NOODLE-1,3,4.50,0\n")
    report = import_receipts(
        database.sessions, second, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert report.created == 0
    assert "already recorded with different content" in rejects(tmp_path / "day2.rejects.csv")["2"]


def test_a_file_without_required_columns_is_refused_before_anything_is_written(
    database: Database, tmp_path: Path
) -> None:
    shop(database)
    source = tmp_path / "bad.csv"
    source.write_text("store,sku\nS001,NOODLE-1\n")
    with pytest.raises(InvalidInput, match="pos_receipt_no"):
        import_receipts(database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False)
    assert table_counts(database, Receipt) == [0]


def test_member_import_normalises_reports_duplicates_and_is_idempotent(
    database: Database, tmp_path: Path
) -> None:
    shop(database)
    source = tmp_path / "members.csv"
    source.write_text(
        "phone,email,name,gender,birth_date,join_store,consent_sms,consent_wechat\n"
        "138 0013 8000,li@mail.example.cn,Li Na,female,1990-02-03,S001,yes,no\n"
        "13800138001,,Wang Wei,male,1985-13-01,S001,,\n"
        "+86 138 0013 8000,,Zhang San,,,,,\n"
        "12345,,Bad Phone,,,,,\n"
        "13800138002,,Zhao Liu,,,S404,,\n"
        "13800138003,,Sun Qi,,,,maybe,\n"
    )
    report = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert report.created == 1
    reasons = rejects(tmp_path / "members.rejects.csv")
    assert reasons["3"].startswith("birth_date:")
    assert reasons["4"].startswith("phone:")  # the same phone as row 2, written differently
    assert reasons["5"].startswith("phone:")
    assert reasons["6"].startswith("join_store:")
    assert reasons["7"].startswith("consent_sms:")
    assert table_counts(database, Member, ConsentRecord) == [1, 2]
    again = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert (again.created, again.unchanged) == (0, 1)
    assert table_counts(database, Member, ConsentRecord) == [1, 2]


def test_catalogue_import_builds_the_tree_and_never_overwrites(
    database: Database, tmp_path: Path
) -> None:
    stores = tmp_path / "stores.csv"
    stores.write_text(
        "code,name,region,channel\nS001,Jing'an,East,store\nWEB,Online,National,web\n"
    )
    categories = tmp_path / "categories.csv"
    categories.write_text(
        "code,name,level,parent_code,excluded_from_rewards\n"
        "BABY,Baby,department,,\n"
        "FORMULA,Infant formula,category,BABY,true\n"
        "FORM1,Stage 1,subcategory,FORMULA,\n"
        "ORPHAN,Orphan,subcategory,NOWHERE,\n"
    )
    products = tmp_path / "products.csv"
    products.write_text(
        "sku,name,brand,category_code,regular_price\n"
        "F-1,Formula stage 1,Feihe,FORM1,268.00\n"
        "F-2,Formula stage 2,Feihe,FORM1,-1\n"
        "F-3,Formula stage 3,Feihe,NOPE,99.00\n"
    )
    first = [
        import_catalog(database.sessions, f, kind, show_progress=False)
        for f, kind in (
            (stores, StoreCreate),
            (categories, CategoryCreate),
            (products, ProductCreate),
        )
    ]
    assert [r.created for r in first] == [1, 3, 1]
    assert rejects(tmp_path / "stores.rejects.csv")["3"].startswith("channel:")
    assert rejects(tmp_path / "categories.rejects.csv")["5"].startswith("parent_code:")
    product_rejects = rejects(tmp_path / "products.rejects.csv")
    assert product_rejects["3"].startswith("regular_price:")
    assert product_rejects["4"].startswith("category_code:")
    with database.sessions() as session:
        formula = session.scalars(select(Product).where(Product.sku == "F-1")).one()
        assert formula.excluded_from_points  # inherited from the excluded category
    again = import_catalog(database.sessions, products, ProductCreate, show_progress=False)
    assert (again.created, again.unchanged) == (0, 1)
    products.write_text(
        "sku,name,brand,category_code,regular_price\nF-1,Formula,Feihe,FORM1,199.00\n"
    )
    changed = import_catalog(database.sessions, products, ProductCreate, show_progress=False)
    assert changed.unchanged == 0
    assert "different name, regular_price" in rejects(tmp_path / "products.rejects.csv")["2"]
