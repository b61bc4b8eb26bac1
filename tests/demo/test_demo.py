import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sqlalchemy import func, select

from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.checkout.models import CommittedSale
from regulars.config import Settings
from regulars.coupons.models import Coupon, CouponStatus
from regulars.demo import assortment as A
from regulars.demo.generator import generate, season_weight
from regulars.demo.models import DemoMemberTruth
from regulars.demo.writers import write_database, write_parquet
from regulars.imports.catalog import import_catalog
from regulars.imports.members import import_members
from regulars.imports.receipts import import_receipts
from regulars.members.models import Member
from regulars.points.models import EntryKind, PointEntry
from regulars.points.service import ledger_discrepancies
from regulars.promotions.models import PromotionUsage
from regulars.sales.models import Receipt, ReceiptLine, Refund
from regulars.tiers.models import MemberTier
from tests.conftest import Database
from tests.factories import NOW

UNTIL = date(2026, 6, 1)


def small_chain(seed: int = 7):  # type: ignore[no-untyped-def]
    return generate(members=300, months=3, seed=seed, stores=3, until=UNTIL)


def test_the_same_seed_gives_the_same_chain_and_another_seed_another() -> None:
    a, b, c = small_chain(7), small_chain(7), small_chain(8)
    assert a.sales.pos_receipt_no == b.sales.pos_receipt_no
    assert np.array_equal(a.sales.line_product, b.sales.line_product)
    assert a.members.phone == b.members.phone
    assert len(c.sales.member) != len(a.sales.member) or c.members.phone != a.members.phone


def test_about_three_sales_in_ten_are_anonymous_and_none_lies_outside_the_period() -> None:
    sales = generate(members=1000, months=6, seed=1, stores=4, until=UNTIL).sales
    assert 0.27 < np.mean(sales.member < 0) < 0.33
    local_days = (sales.sold_at + np.timedelta64(8, "h")).astype("datetime64[D]")
    assert local_days.min() >= np.datetime64("2025-12-01")
    assert local_days.max() < np.datetime64(UNTIL)


def test_households_and_complements_show_in_the_baskets() -> None:
    chain = generate(members=1500, months=4, seed=3, stores=4, until=UNTIL)
    s, p = chain.sales, chain.products
    sub = p.subcategory[s.line_product]
    codes = [x.code for x in A.SUBCATEGORIES]
    line_member = s.member[s.line_receipt]
    household = np.where(line_member >= 0, chain.members.household[line_member.clip(0)], -1)
    diapers = (sub == codes.index("DIAP")) & (line_member >= 0)
    family = A.HOUSEHOLDS.index("family_with_children")
    assert np.mean(household[diapers] == family) > 0.8

    def receipts_with(code: str) -> set[int]:
        return set(s.line_receipt[sub == codes.index(code)].tolist())

    beer, snacks = receipts_with("BEER"), receipts_with("SNACK")
    share_with_beer = len(beer & snacks) / len(beer)
    share_overall = len(snacks) / len(s.member)
    assert share_with_beer > share_overall + 0.3  # lift well above one


def test_shopper_types_shape_behaviour_the_analytics_can_find() -> None:
    chain = generate(members=2000, months=4, seed=5, stores=4, until=UNTIL)
    s, m = chain.sales, chain.members
    line_member = s.member[s.line_receipt]
    known = line_member >= 0
    kind = m.shopper_type[line_member[known]]
    promoted = (s.line_discount_cents > 0)[known]
    premium = chain.products.premium[s.line_product][known]
    price_sensitive = A.SHOPPER_TYPES.index("price_sensitive")
    quality = A.SHOPPER_TYPES.index("quality_seeking")
    assert promoted[kind == price_sensitive].mean() > 2 * promoted[kind != price_sensitive].mean()
    assert premium[kind == quality].mean() > 2 * premium[kind != quality].mean()


def test_the_calendar_has_its_peaks() -> None:
    assert season_weight(date(2026, 2, 10)) > season_weight(
        date(2026, 3, 10)
    )  # before Spring Festival
    assert season_weight(date(2026, 11, 10)) > season_weight(date(2026, 11, 24))  # Double 11
    assert season_weight(date(2026, 6, 13)) > season_weight(date(2026, 7, 11))  # 618


def test_written_to_the_database_every_count_and_hidden_truth_is_there(database: Database) -> None:
    chain = small_chain()
    counts = write_database(database.sessions, chain, seed=7, now=NOW, progress=lambda _n, _c: None)
    with database.sessions() as session:

        def count(table: type) -> int:
            return session.scalar(select(func.count()).select_from(table)) or 0

        assert count(Member) == counts["members"] == 300
        assert count(DemoMemberTruth) == 300
        assert counts["receipts"] == len(chain.sales.member)
        assert count(Receipt) == counts["receipts"] + counts["campaign receipts"]
        assert count(ReceiptLine) == counts["lines"] + counts["campaign receipts"]  # one line each
        assert count(Refund) == counts["refunds"]
        anonymous = session.scalar(select(func.count()).where(Receipt.member_id.is_(None)))
        assert 0.2 < (anonymous or 0) / count(Receipt) < 0.4


def test_the_demo_chain_lives_its_loyalty_program_through_the_engine(database: Database) -> None:
    write_database(database.sessions, small_chain(), seed=7, now=NOW, progress=lambda _n, _c: None)
    with database.sessions() as session:

        def entries(kind: EntryKind) -> int:
            query = select(func.count()).where(PointEntry.kind == kind)
            return session.scalar(query) or 0

        # Earned on every member receipt, carried over, paid with, and expired by the jobs.
        for kind in (EntryKind.EARN, EntryKind.OPENING, EntryKind.BURN, EntryKind.EXPIRE):
            assert entries(kind) > 0, kind
        assert ledger_discrepancies(session) == []
        tiers = dict(
            session.execute(select(MemberTier.tier_code, func.count()).group_by("tier_code")).all()
        )
        assert tiers.get("silver", 0) > 0
        redeemed = select(func.count()).where(Coupon.status == CouponStatus.REDEEMED)
        assert (session.scalar(redeemed) or 0) > 0
        assert (session.scalar(select(func.sum(PromotionUsage.receipts))) or 0) > 0
        # Each sale of the last week was priced at the till and answers for itself.
        assert (session.scalar(select(func.count()).select_from(CommittedSale)) or 0) > 0


def test_parquet_output_loads_through_the_importers(database: Database, tmp_path: Path) -> None:
    chain = small_chain()
    files = write_parquet(tmp_path, chain, seed=7)
    assert pq.read_metadata(files["receipt_lines"]).num_rows == len(chain.sales.line_product)
    for name, kind in (
        ("stores", StoreCreate),
        ("categories", CategoryCreate),
        ("products", ProductCreate),
    ):
        catalogue = import_catalog(database.sessions, files[name], kind, show_progress=False)
        assert catalogue.rejected_rows == 0
    settings = Settings(environment="test")
    members = import_members(
        database.sessions, files["members"], settings=settings, now=NOW, show_progress=False
    )
    assert members.created == 300
    assert members.rejected_rows == 0
    receipts = import_receipts(
        database.sessions, files["receipt_lines"], settings=settings, now=NOW, show_progress=False
    )
    assert receipts.rejected_rows == 0
    assert receipts.created == len(chain.sales.member)


def test_a_chain_loads_without_its_sales(database: Database) -> None:
    """The big benchmarks load members through the services and bulk-insert the sales."""
    chain = small_chain()
    empty = dataclasses.replace(
        chain,
        sales=dataclasses.replace(
            chain.sales,
            **{f.name: getattr(chain.sales, f.name)[:0] for f in dataclasses.fields(chain.sales)},
        ),
    )
    counts = write_database(database.sessions, empty, seed=7, now=NOW, progress=lambda _n, _c: None)
    assert counts["members"] == 300
    assert counts["receipts"] == 0
