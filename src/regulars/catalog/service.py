"""Use cases of the shop's master data."""

from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.catalog.models import Category, CategoryLevel, Product, Store
from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.errors import Conflict, InvalidInput, NotFound


class StoreNotFound(NotFound):
    code = "unknown_store"


class ProductNotFound(NotFound):
    code = "unknown_sku"


class CategoryNotFound(NotFound):
    code = "unknown_category"


_PARENT_LEVEL = {
    CategoryLevel.DEPARTMENT: None,
    CategoryLevel.CATEGORY: CategoryLevel.DEPARTMENT,
    CategoryLevel.SUBCATEGORY: CategoryLevel.CATEGORY,
}


def add_store(session: Session, *, data: StoreCreate) -> Store:
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {data.timezone!r}", field="timezone") from exc
    if session.scalar(select(Store.id).where(Store.code == data.code)) is not None:
        raise Conflict(f"store {data.code!r} already exists", field="code")
    store = Store(**data.model_dump())
    session.add(store)
    session.flush()
    return store


def add_category(session: Session, *, data: CategoryCreate) -> Category:
    """Add a node; its parent must sit exactly one level up, and exclusions are inherited."""
    expected_parent = _PARENT_LEVEL[data.level]
    parent = None
    if data.parent_code is not None:
        parent = session.scalars(select(Category).where(Category.code == data.parent_code)).first()
        if parent is None:
            raise CategoryNotFound(f"unknown category {data.parent_code!r}", field="parent_code")
    if (parent.level if parent else None) != expected_parent:
        raise InvalidInput(
            f"a {data.level} must sit under a {expected_parent or 'nothing'}", field="parent_code"
        )
    category = Category(
        code=data.code,
        name=data.name,
        level=data.level,
        parent_id=parent.id if parent else None,
        excluded_from_rewards=data.excluded_from_rewards
        or bool(parent and parent.excluded_from_rewards),
    )
    session.add(category)
    session.flush()
    return category


def add_product(session: Session, *, data: ProductCreate) -> Product:
    category = session.scalars(select(Category).where(Category.code == data.category_code)).first()
    if category is None:
        raise CategoryNotFound(f"unknown category {data.category_code!r}", field="category_code")
    if session.scalar(select(Product.id).where(Product.sku == data.sku)) is not None:
        raise Conflict(f"SKU {data.sku!r} already exists", field="sku")
    excluded = category.excluded_from_rewards
    product = Product(
        **data.model_dump(
            exclude={"category_code", "excluded_from_points", "excluded_from_promotions"}
        ),
        category_id=category.id,
        excluded_from_points=excluded
        if data.excluded_from_points is None
        else data.excluded_from_points,
        excluded_from_promotions=excluded
        if data.excluded_from_promotions is None
        else data.excluded_from_promotions,
    )
    session.add(product)
    session.flush()
    return product


def stores_by_code(session: Session, codes: Iterable[str]) -> dict[str, Store]:
    wanted = set(codes)
    if not wanted:
        return {}
    return {s.code: s for s in session.scalars(select(Store).where(Store.code.in_(wanted)))}


def products_by_sku(session: Session, skus: Iterable[str]) -> dict[str, Product]:
    wanted = set(skus)
    if not wanted:
        return {}
    return {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(wanted)))}


def list_stores(session: Session) -> list[Store]:
    return list(session.scalars(select(Store).order_by(Store.code)))


def list_products(session: Session, *, after_id: int = 0, limit: int = 100) -> list[Product]:
    query = select(Product).where(Product.id > after_id).order_by(Product.id).limit(limit)
    return list(session.scalars(query))
