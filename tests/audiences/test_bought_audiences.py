"""`bought` on a small random chain: the SQL finds exactly the members a plain reading of
the receipts does, and on SQLite it reads the lines of the goods asked for, not every line."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from random import Random

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from regulars.audiences.service import member_ids, parse_condition
from regulars.catalog.models import CategoryLevel
from regulars.catalog.schemas import CategoryCreate, ProductCreate
from regulars.catalog.service import add_category, add_product
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipt
from tests.factories import NOW, make_member, make_program, make_store

# code: (parent, level)
CATEGORIES = {
    "FOOD": (None, CategoryLevel.DEPARTMENT),
    "FOOD.DRY": ("FOOD", CategoryLevel.CATEGORY),
    "RICE": ("FOOD.DRY", CategoryLevel.SUBCATEGORY),
    "NOOD": ("FOOD.DRY", CategoryLevel.SUBCATEGORY),
    "BABY": (None, CategoryLevel.DEPARTMENT),
    "BABY.CARE": ("BABY", CategoryLevel.CATEGORY),
    "DIAP": ("BABY.CARE", CategoryLevel.SUBCATEGORY),
}
# sku: (brand, subcategory)
PRODUCTS = {
    "RICE-A": ("Acme", "RICE"),
    "RICE-B": ("Bloom", "RICE"),
    "NOOD-A": ("Acme", "NOOD"),
    "DIAP-B": ("Bloom", "DIAP"),
    "DIAP-C": ("Cubs", "DIAP"),
}


@dataclass(frozen=True)
class Purchase:
    member: int | None  # None: an anonymous sale
    sold_at: datetime
    skus: frozenset[str]


@dataclass
class Chain:
    members: list[int]
    purchases: list[Purchase]


@pytest.fixture
def chain(session: Session) -> Chain:
    """30 members and 80 receipts of one to three lines over the last 120 whole days, some
    exactly on a window's edge, some anonymous."""
    make_program(session)
    make_store(session, "S001")
    for code, (parent, level) in CATEGORIES.items():
        add_category(
            session, data=CategoryCreate(code=code, name=code, level=level, parent_code=parent)
        )
    for sku, (brand, category) in PRODUCTS.items():
        add_product(
            session,
            data=ProductCreate(
                sku=sku, name=sku, brand=brand, category_code=category, regular_price=Decimal(5)
            ),
        )
    members = [make_member(session, f"1380013{n:04d}") for n in range(30)]
    rng = Random(5)
    purchases = []
    for number in range(80):
        member = rng.choice([*members, None])
        skus = rng.sample(sorted(PRODUCTS), rng.randint(1, 3))
        sold_at = NOW - timedelta(days=rng.randint(0, 120))
        receipt = ReceiptIn(
            store_code="S001",
            pos_receipt_no=str(number),
            sold_at=sold_at,
            member_card=member.card_number if member else None,
            lines=[ReceiptLineIn(sku=s, quantity=Decimal(1), unit_price=Decimal(5)) for s in skus],
        )
        record_receipt(session, receipt=receipt, now=NOW, limits=Limits())
        purchases.append(Purchase(member.id if member else None, sold_at, frozenset(skus)))
    return Chain([m.id for m in members], purchases)


def plainly_bought(chain: Chain, categories: set[str], brands: set[str], days: int) -> set[int]:
    """The members who bought such goods in the window, read straight off the purchases."""

    def within(category: str | None) -> bool:
        while category is not None:
            if category in categories:
                return True
            category = CATEGORIES[category][0]
        return False

    goods = {
        sku for sku, (brand, category) in PRODUCTS.items() if brand in brands or within(category)
    }
    since = NOW - timedelta(days=days)
    return {
        p.member
        for p in chain.purchases
        if p.member is not None and p.sold_at >= since and p.skus & goods
    }


def plain_visits(chain: Chain, member: int, days: int) -> int:
    since = NOW - timedelta(days=days)
    return sum(p.member == member and since <= p.sold_at <= NOW for p in chain.purchases)


def found(session: Session, definition: dict[str, object]) -> set[int]:
    return set(session.scalars(member_ids(session, parse_condition(definition), now=NOW)))


@pytest.mark.parametrize(
    ("categories", "brands", "days"),
    [
        ({"BABY"}, set(), 90),  # a department
        ({"RICE"}, set(), 30),  # a subcategory
        ({"FOOD.DRY", "DIAP"}, set(), 7),
        (set(), {"Bloom"}, 60),
        ({"NOOD"}, {"Cubs"}, 45),
        (set(), {"Nobody"}, 365),
    ],
)
def test_bought_finds_who_a_plain_reading_of_the_receipts_finds(
    session: Session, chain: Chain, categories: set[str], brands: set[str], days: int
) -> None:
    bought = {"kind": "bought", "categories": sorted(categories), "brands": sorted(brands),
              "days": days}  # fmt: skip
    expected = plainly_bought(chain, categories, brands, days)
    assert found(session, bought) == expected
    assert found(session, {"kind": "not", "of": bought}) == set(chain.members) - expected
    regulars = {m for m in chain.members if plain_visits(chain, m, 90) >= 3}
    with_visits = {"kind": "all", "of": [bought, {"kind": "visits", "days": 90, "min": 3}]}
    assert found(session, with_visits) == expected & regulars


def test_on_sqlite_bought_reads_the_lines_of_its_goods_not_every_line(
    session: Session, chain: Chain
) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plan is SQLite's")
    condition = parse_condition({"kind": "bought", "categories": ["BABY"], "brands": ["Acme"]})
    query = select(func.count()).select_from(member_ids(session, condition, now=NOW).subquery())
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
    assert not [step for step in plan if step.startswith("SCAN receipt_line")], plan
    assert any("receipt_line USING" in step and "(product_id=?)" in step for step in plan), plan
