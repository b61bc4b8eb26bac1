"""Use cases of the shop's master data."""

from collections.abc import Iterable, Sequence
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.batch import Outcome, Recorded
from regulars.catalog.models import Category, CategoryLevel, Product, Store
from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.errors import Conflict, InvalidInput, NotFound, RegularsError


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


def category_codes(session: Session) -> dict[int, frozenset[str]]:
    """For every category id, its own code and its ancestors' codes."""
    rows = {c.id: (c.code, c.parent_id) for c in session.scalars(select(Category))}
    paths: dict[int, frozenset[str]] = {}
    for category_id in rows:
        codes: set[str] = set()
        current: int | None = category_id
        while current is not None:
            code, parent = rows[current]
            codes.add(code)
            current = parent
        paths[category_id] = frozenset(codes)
    return paths


def list_stores(session: Session) -> list[Store]:
    return list(session.scalars(select(Store).order_by(Store.code)))


def list_products(session: Session, *, after_id: int = 0, limit: int = 100) -> list[Product]:
    query = select(Product).where(Product.id > after_id).order_by(Product.id).limit(limit)
    return list(session.scalars(query))


CatalogRecord = StoreCreate | CategoryCreate | ProductCreate
_KEYED: dict[type, tuple[type[Store | Category | Product], str]] = {
    StoreCreate: (Store, "code"),
    CategoryCreate: (Category, "code"),
    ProductCreate: (Product, "sku"),
}


def add_catalog_records(session: Session, *, records: Sequence[CatalogRecord]) -> list[Outcome]:
    """Add stores, categories or products in order; a record already there is never overwritten.

    One with identical fields counts as unchanged, one with other fields is a conflict, so
    loading the same catalogue file twice changes nothing.
    """
    adders = {StoreCreate: add_store, CategoryCreate: add_category, ProductCreate: add_product}
    outcomes: list[Outcome] = []
    for record in records:
        model, key = _KEYED[type(record)]
        value = getattr(record, key)
        existing = cast(
            Store | Category | Product | None,
            session.scalars(select(model).where(getattr(model, key) == value)).first(),
        )
        if existing is not None:
            outcomes.append(_compare(existing, record, f"{key} {value!r}"))
            continue
        try:
            with session.begin_nested():
                added = adders[type(record)](session, data=record)  # type: ignore[operator]
            outcomes.append(Recorded(added.id, created=True))
        except RegularsError as error:
            outcomes.append(error)
    return outcomes


def _compare(existing: Store | Category | Product, record: CatalogRecord, label: str) -> Outcome:
    differing = [
        name
        for name, value in record.model_dump(exclude_none=True).items()
        if hasattr(existing, name) and getattr(existing, name) != value
    ]
    if differing:
        return Conflict(
            f"{label} already exists with a different {', '.join(differing)}; "
            "an import never overwrites",
            field=differing[0],
        )
    return Recorded(existing.id, created=False)
