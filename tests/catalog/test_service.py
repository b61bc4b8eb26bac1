from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from regulars.catalog.models import CategoryLevel
from regulars.catalog.schemas import CategoryCreate
from regulars.catalog.service import add_category, list_products
from regulars.errors import Conflict, InvalidInput
from tests.factories import make_product, make_store


def test_products_under_an_excluded_category_are_excluded_from_points_and_promotions(
    session: Session,
) -> None:
    formula = make_product(
        session, sku="FORMULA-1", price="268.00", subcategory="FORMULA", excluded=True
    )
    noodles = make_product(session, sku="NOODLE-1")
    assert formula.excluded_from_points
    assert formula.excluded_from_promotions
    assert not noodles.excluded_from_points
    assert formula.regular_price == Decimal("268.00")


def test_a_category_must_sit_one_level_below_its_parent(session: Session) -> None:
    add_category(
        session, data=CategoryCreate(code="FRESH", name="Fresh", level=CategoryLevel.DEPARTMENT)
    )
    with pytest.raises(InvalidInput) as caught:
        add_category(
            session,
            data=CategoryCreate(
                code="VEG", name="Veg", level=CategoryLevel.SUBCATEGORY, parent_code="FRESH"
            ),
        )
    assert caught.value.field == "parent_code"


def test_store_codes_and_skus_are_unique(session: Session) -> None:
    make_store(session, "S001")
    with pytest.raises(Conflict):
        make_store(session, "S001")
    make_product(session, sku="A")
    with pytest.raises(Conflict):
        make_product(session, sku="A")


def test_products_page_by_cursor(session: Session) -> None:
    made = [make_product(session, sku=f"SKU-{i}") for i in range(5)]
    first = list_products(session, limit=3)
    rest = list_products(session, after_id=first[-1].id, limit=3)
    assert [p.sku for p in first + rest] == [p.sku for p in made]
