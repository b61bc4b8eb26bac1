import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from regulars.catalog.models import Product
from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.config import Settings
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.imports.balances import import_balances
from regulars.imports.catalog import import_catalog
from regulars.imports.members import import_members
from regulars.imports.receipts import import_receipts
from regulars.members.models import ConsentRecord, Member
from regulars.points.models import PointLot
from regulars.points.service import balance
from regulars.sales.models import Receipt, ReceiptLine
from regulars.tiers.models import MemberTier, TierChange
from tests.conftest import Database
from tests.factories import NOW, ZONE, make_member, make_product, make_program, make_store

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
    reasons = rejects(tmp_path / "sales.csv.rejects.csv")
    assert set(reasons) == {"5", "6", "7", "8", "9", "10", "11", "12", "13"}
    assert reasons["5"].startswith("sku: unknown SKU 'GHOST'")
    assert reasons["6"].startswith("quantity:")
    assert reasons["7"].startswith("sold_at:")
    assert "future" in reasons["7"]
    assert reasons["8"].startswith("unit_price:")
    assert reasons["9"].startswith("sold_at:")
    assert "fields" in reasons["10"]
    assert reasons["11"].startswith("store: unknown store 'S009'")
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
    assert (
        "already recorded with different content" in rejects(tmp_path / "day2.csv.rejects.csv")["2"]
    )


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
        "13800138004,,Zhou Ba,,2030-01-01,,,\n"
        "13800138005,,Wu Jiu,,1850-01-01,,,\n"
    )
    report = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert report.created == 1
    reasons = rejects(tmp_path / "members.csv.rejects.csv")
    assert reasons["3"].startswith("birth_date:")
    assert reasons["4"].startswith("phone:")  # the same phone as row 2, written differently
    assert reasons["5"].startswith("phone:")
    assert reasons["6"].startswith("join_store:")
    assert reasons["7"].startswith("consent_sms:")
    assert reasons["8"] == "birth_date: is in the future"
    assert reasons["9"] == "birth_date: would make the member older than 120"
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
    assert rejects(tmp_path / "stores.csv.rejects.csv")["3"].startswith("channel:")
    assert rejects(tmp_path / "categories.csv.rejects.csv")["5"].startswith("parent_code:")
    product_rejects = rejects(tmp_path / "products.csv.rejects.csv")
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
    assert "different name, regular_price" in rejects(tmp_path / "products.csv.rejects.csv")["2"]


def test_a_receipt_whose_rows_are_scattered_is_refused_whole(
    database: Database, tmp_path: Path
) -> None:
    shop(database)
    source = tmp_path / "scattered.csv"
    source.write_text(
        HEADER
        + "S001,C1,2026-06-14 10:00,,cash,NOODLE-1,1,4.50,0\n"
        + "S001,C2,2026-06-14 10:01,,cash,NOODLE-1,1,4.50,0\n"
        + "S001,C1,2026-06-14 10:00,,cash,EGGS-1,1,15.80,0\n"
    )
    report = import_receipts(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert report.created == 1
    reasons = rejects(tmp_path / "scattered.csv.rejects.csv")
    assert set(reasons) == {"2", "4"}
    assert "not consecutive" in reasons["2"]
    assert table_counts(database, Receipt, ReceiptLine) == [1, 1]


@pytest.mark.parametrize(
    ("cell", "column", "words"),
    [
        ("20260614", "sold_at", "date and time"),
        ("2026-06-14", "sold_at", "time of day"),
        ("1999-12-31 10:00", "sold_at", "before the year 2000"),
        ("99999999999999", "unit_price", "digits"),
    ],
)
def test_dates_and_numbers_that_lax_parsing_would_misread_are_refused(
    database: Database, tmp_path: Path, cell: str, column: str, words: str
) -> None:
    shop(database)
    row = {
        "store": "S001",
        "pos_receipt_no": "D1",
        "sold_at": "2026-06-14 10:00",
        "member_card": "",
        "payment_method": "cash",
        "sku": "NOODLE-1",
        "quantity": "1",
        "unit_price": "4.50",
        "line_discount": "0",
    }
    row[column] = cell
    source = tmp_path / "odd.csv"
    source.write_text(HEADER + ",".join(row.values()) + "\n")
    report = import_receipts(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert report.created == 0
    reason = rejects(tmp_path / "odd.csv.rejects.csv")["2"]
    assert reason.startswith(f"{column}:")
    assert words in reason


def test_gbk_files_need_their_encoding_named_and_then_load(
    database: Database, tmp_path: Path
) -> None:
    shop(database)
    source = tmp_path / "gbk.csv"
    source.write_bytes(("phone,name\n13800138000,王芳\n").encode("gbk"))
    with pytest.raises(InvalidInput, match="--encoding gbk"):
        import_members(database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False)
    report = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False, encoding="gbk"
    )
    assert report.created == 1
    with database.sessions() as session:
        assert session.scalars(select(Member.name)).one() == "王芳"


def test_a_row_with_a_nul_character_is_rejected_alone(database: Database, tmp_path: Path) -> None:
    shop(database)
    source = tmp_path / "nul.csv"
    source.write_text("phone,name\n13800138000,Li\x00Na\n13800138001,Wang\n")
    report = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert report.created == 1
    assert rejects(tmp_path / "nul.csv.rejects.csv")["2"] == "contains a NUL character"


def test_member_rows_identified_by_email_card_or_local_time_reimport_cleanly(
    database: Database, tmp_path: Path
) -> None:
    shop(database)
    source = tmp_path / "members.csv"
    source.write_text(
        "card_number,phone,email,joined_at,join_store,consent_sms\n"
        ",,only.mail@mail.example.cn,2025-01-01 10:00,S001,yes\n"
        "800000000000000003,13800138005,,,,\n"
        "800000000000000003,13800138006,,,,\n"
    )
    first = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert first.created == 2
    assert rejects(tmp_path / "members.csv.rejects.csv")["4"].startswith("card_number:")
    with database.sessions() as session:
        joined = session.scalars(select(Member.joined_at).where(Member.email.is_not(None))).one()
        assert joined.isoformat() == "2025-01-01T02:00:00+00:00"  # 10:00 in Shanghai
    again = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert (again.created, again.unchanged) == (0, 2)
    assert table_counts(database, Member) == [2]
    source.write_text("email,consent_sms\nonly.mail@mail.example.cn,no\n")
    changed = import_members(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert "consents.sms" in rejects(tmp_path / "members.csv.rejects.csv")["2"]
    assert changed.unchanged == 0


def test_reimporting_a_tree_with_inherited_exclusions_changes_nothing(
    database: Database, tmp_path: Path
) -> None:
    categories = tmp_path / "categories.csv"
    categories.write_text(
        "code,name,level,parent_code,excluded_from_rewards\n"
        "BABY,Baby,department,,\nFORMULA,Formula,category,BABY,true\n"
        "F1,Stage 1,subcategory,FORMULA,\n"
        "TOYS,Toys,category,BABY,\n"
    )
    for _ in range(2):
        report = import_catalog(database.sessions, categories, CategoryCreate, show_progress=False)
    assert (report.created, report.unchanged, report.rejected_rows) == (0, 4, 0)
    products = tmp_path / "products.csv"
    products.write_text("sku,name,brand,category_code,regular_price\nP1,Formula,Feihe,F1,9.90\n")
    import_catalog(database.sessions, products, ProductCreate, show_progress=False)
    products.write_text("sku,name,brand,category_code,regular_price\nP1,Formula,Feihe,TOYS,9.90\n")
    moved = import_catalog(database.sessions, products, ProductCreate, show_progress=False)
    assert moved.unchanged == 0
    assert "category_code" in rejects(tmp_path / "products.csv.rejects.csv")["2"]


def _member_history(database: Database, tmp_path: Path) -> tuple[Path, int]:
    """Two receipts of one member: 600 yuan, then 500 yuan (past Silver's 1,000)."""

    def build(session):  # type: ignore[no-untyped-def]
        make_program(session)
        member = make_member(session)
        return member.card_number, member.id

    card, member_id = run_in_transaction(database.sessions, build)
    shop(database)
    source = tmp_path / "history.csv"
    source.write_text(
        HEADER
        + f"S001,H1,2026-06-01 10:00,{card},cash,EGGS-1,40,15.00,0\n"
        + f"S001,H2,2026-06-10 10:00,{card},cash,EGGS-1,50,10.00,0\n"
    )
    return source, member_id


def _points_and_tier(database: Database, member_id: int) -> tuple[int, str | None]:
    with database.sessions() as session:
        points = balance(session, member_id=member_id, now=NOW).total
        held = session.get(MemberTier, member_id)
        return points, held.tier_code if held else None


def test_imported_receipts_earn_points_and_tier_progress_once(
    database: Database, tmp_path: Path
) -> None:
    source, member_id = _member_history(database, tmp_path)
    import_receipts(database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False)
    # 1 point a yuan; the second receipt reaches Silver and, as at the till, still earns at
    # the rate of the tier it found.
    assert _points_and_tier(database, member_id) == (600 + 500, "silver")
    with database.sessions() as session:
        upgraded_at = session.scalars(select(TierChange.changed_at)).one()
    assert upgraded_at.replace(tzinfo=UTC) == datetime(2026, 6, 10, 2, 0, tzinfo=UTC)

    import_receipts(database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False)
    assert _points_and_tier(database, member_id) == (1100, "silver")


def test_history_before_the_program_is_imported_without_earning(
    database: Database, tmp_path: Path
) -> None:
    source, member_id = _member_history(database, tmp_path)
    report = import_receipts(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False, earn=False
    )
    assert report.created == 2
    assert _points_and_tier(database, member_id) == (0, None)


def test_opening_balances_carry_points_over_once_with_their_expiry(
    database: Database, tmp_path: Path
) -> None:
    def build(session):  # type: ignore[no-untyped-def]
        make_program(session)
        return [make_member(session, phone).card_number for phone in ("13800138000", "13800138001")]

    first, second = run_in_transaction(database.sessions, build)
    source = tmp_path / "balances.csv"
    source.write_text(
        "member_card,points,expires_at\n"
        f"{first},300,2026-12-31 00:00\n"
        f"{first},200,\n"
        f"{second},50,2026-01-01 00:00\n"  # expired before the import
        "000000000000000000,10,\n"
        f"{second},-5,\n"
    )
    report = import_balances(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert (report.created, report.unchanged) == (2, 0)
    reasons = rejects(tmp_path / "balances.csv.rejects.csv")
    assert set(reasons) == {"4", "5", "6"}
    assert reasons["4"].startswith("expires_at: these points expired")
    assert reasons["5"].startswith("member_card:")
    assert reasons["6"].startswith("points:")
    with database.sessions() as session:
        lots = session.scalars(select(PointLot).order_by(PointLot.id)).all()
        # Without an expiry the program's policy (12 months, rolling) runs from the import.
        assert [(lot.remaining, lot.expires_at.astimezone(ZONE).date()) for lot in lots] == [
            (300, date(2026, 12, 31)),
            (200, date(2027, 6, 15)),
        ]
        assert balance(session, member_id=lots[0].member_id, now=NOW).spendable == 500

    again = import_balances(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert (again.created, again.unchanged) == (0, 2)
    source.write_text(f"member_card,points,expires_at\n{first},301,2026-12-31 00:00\n")
    changed = import_balances(
        database.sessions, source, settings=SETTINGS, now=NOW, show_progress=False
    )
    assert changed.created == 0
    assert "never overwrites" in rejects(tmp_path / "balances.csv.rejects.csv")["2"]
