"""Use cases of the shop's master data."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from regulars.batch import Outcome, Recorded
from regulars.catalog.models import Category, CategoryLevel, Channel, Product, Store
from regulars.catalog.schemas import (
    CategoryCreate,
    ProductCreate,
    ProductUpdate,
    StoreCreate,
    StoreUpdate,
)
from regulars.errors import Conflict, InvalidInput, NotFound, RegularsError, a
from regulars.stamps.service import copy_of, renew

CATALOG = "catalog"  # the stamp every change to stores, categories or products renews


T = TypeVar("T", Store, Product)


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


def _store_values(session: Session, data: StoreCreate) -> dict[str, object]:
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {data.timezone!r}", field="timezone") from exc
    return data.model_dump()


def _category_values(session: Session, data: CategoryCreate) -> dict[str, object]:
    """The stored form of a category: its parent one level up, exclusion inherited."""
    expected_parent = _PARENT_LEVEL[data.level]
    parent = None
    if data.parent_code is not None:
        parent = session.scalars(select(Category).where(Category.code == data.parent_code)).first()
        if parent is None:
            raise CategoryNotFound(f"unknown category {data.parent_code!r}", field="parent_code")
    if (parent.level if parent else None) != expected_parent:
        under = a(expected_parent) if expected_parent else "nothing"
        raise InvalidInput(
            f"{a(data.level).capitalize()} must sit under {under}",
            field="parent_code",
        )
    return {
        "code": data.code,
        "name": data.name,
        "level": data.level,
        "parent_id": parent.id if parent else None,
        "excluded_from_rewards": data.excluded_from_rewards
        or bool(parent and parent.excluded_from_rewards),
    }


def _product_values(session: Session, data: ProductCreate) -> dict[str, object]:
    """The stored form of a product: its category's id, exclusions defaulting to the category's."""
    category = session.scalars(select(Category).where(Category.code == data.category_code)).first()
    if category is None:
        raise CategoryNotFound(f"unknown category {data.category_code!r}", field="category_code")
    excluded = category.excluded_from_rewards
    values = data.model_dump(exclude={"category_code"})
    for flag in ("excluded_from_points", "excluded_from_promotions"):
        if values[flag] is None:
            values[flag] = excluded
    return {**values, "category_id": category.id}


_FORMS: dict[
    type, tuple[type[Store | Category | Product], str, Callable[..., dict[str, object]]]
] = {
    StoreCreate: (Store, "code", _store_values),
    CategoryCreate: (Category, "code", _category_values),
    ProductCreate: (Product, "sku", _product_values),
}

CatalogRecord = StoreCreate | CategoryCreate | ProductCreate


def add_catalog_record(session: Session, *, data: CatalogRecord) -> Store | Category | Product:
    """Add a store, category or product; its code must be new."""
    model, key, values_of = _FORMS[type(data)]
    values = values_of(session, data)
    if session.scalar(select(model.id).where(getattr(model, key) == values[key])) is not None:
        raise Conflict(f"{key} {values[key]!r} already exists", field=key)
    record = model(**values)
    session.add(record)
    session.flush()
    renew(session, CATALOG)
    return record


def add_store(session: Session, *, data: StoreCreate) -> Store:
    return cast(Store, add_catalog_record(session, data=data))


def add_category(session: Session, *, data: CategoryCreate) -> Category:
    return cast(Category, add_catalog_record(session, data=data))


def add_product(session: Session, *, data: ProductCreate) -> Product:
    return cast(Product, add_catalog_record(session, data=data))


def update_store(session: Session, *, code: str, changes: StoreUpdate) -> Store:
    store = stores_by_code(session, [code]).get(code)
    if store is None:
        raise StoreNotFound(f"unknown store {code!r}", field="code")
    return _changed(session, store, changes)


def update_product(session: Session, *, sku: str, changes: ProductUpdate) -> Product:
    """Change a product; a new price counts from the next sale, receipts keep theirs."""
    product = products_by_sku(session, [sku]).get(sku)
    if product is None:
        raise ProductNotFound(f"unknown SKU {sku!r}", field="sku")
    return _changed(session, product, changes)


def _changed(session: Session, record: T, changes: BaseModel) -> T:
    for name, value in changes.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"{name} cannot be emptied", field=name)
        setattr(record, name, value)
    session.flush()
    renew(session, CATALOG)  # every process's copy of the catalogue is set aside
    return record


def list_categories(session: Session) -> list[tuple[Category, str | None]]:
    """Every category with its parent's code, in the order they were added (parents first)."""
    parent = aliased(Category)
    query = select(Category, parent.code).outerjoin(parent, parent.id == Category.parent_id)
    return [(c, code) for c, code in session.execute(query.order_by(Category.id))]


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
    query = select(Category.id, Category.code, Category.parent_id)
    rows = {category_id: (code, parent) for category_id, code, parent in session.execute(query)}
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


@dataclass(frozen=True)
class StoreInfo:
    """What a sale needs to know about a store."""

    id: int
    code: str
    channel: Channel
    timezone: str


@dataclass(frozen=True)
class ProductInfo:
    """What a sale needs to know about a product."""

    id: int
    sku: str
    category_id: int
    regular_price: Decimal
    excluded_from_points: bool
    excluded_from_promotions: bool


class Catalog:
    """Stores, products and category paths as this process has read them.

    One copy serves every unit of work that sees the same catalogue stamp. Catalogue
    records are never overwritten once added, so the copy only grows: what it lacks is read
    on first use.
    """

    def __init__(self) -> None:
        self._stores: dict[str, StoreInfo] = {}
        self._products: dict[str, ProductInfo] = {}
        self._paths: dict[int, frozenset[str]] = {}

    def store(self, session: Session, code: str) -> StoreInfo | None:
        if code not in self._stores:
            for s in stores_by_code(session, [code]).values():
                self._stores[s.code] = StoreInfo(s.id, s.code, s.channel, s.timezone)
        return self._stores.get(code)

    def products(self, session: Session, skus: Iterable[str]) -> dict[str, ProductInfo]:
        wanted = set(skus)
        for p in products_by_sku(session, wanted - self._products.keys()).values():
            self._products[p.sku] = ProductInfo(
                p.id,
                p.sku,
                p.category_id,
                p.regular_price,
                p.excluded_from_points,
                p.excluded_from_promotions,
            )
        return {sku: self._products[sku] for sku in wanted if sku in self._products}

    def categories_of(self, session: Session, product: ProductInfo) -> frozenset[str]:
        """The product's category code and its ancestors' codes."""
        if product.category_id not in self._paths:
            self._paths = category_codes(session)
        return self._paths[product.category_id]


def catalog_copy(session: Session) -> Catalog:
    """The process's catalogue copy for the catalogue this transaction sees."""
    return copy_of(session, CATALOG, lambda _: Catalog())


def list_stores(session: Session) -> list[Store]:
    return list(session.scalars(select(Store).order_by(Store.code)))


def list_products(session: Session, *, after_id: int = 0, limit: int = 100) -> list[Product]:
    query = select(Product).where(Product.id > after_id).order_by(Product.id).limit(limit)
    return list(session.scalars(query))


def add_catalog_records(session: Session, *, records: Sequence[CatalogRecord]) -> list[Outcome]:
    """Add stores, categories or products in order; a record already there is never overwritten.

    One whose stored form (parents and inherited exclusions included) is identical counts
    as unchanged, one that differs is a conflict, so loading the same file twice changes
    nothing.
    """
    outcomes: list[Outcome] = []
    for record in records:
        model, key, values_of = _FORMS[type(record)]
        value = getattr(record, key)
        existing = session.scalars(select(model).where(getattr(model, key) == value)).first()
        try:
            with session.begin_nested():
                if existing is None:
                    added = add_catalog_record(session, data=record)
                    outcomes.append(Recorded(added.id, created=True))
                else:
                    stored = values_of(session, record)
                    outcomes.append(_compare(existing, stored, f"{key} {value!r}"))
        except RegularsError as error:
            outcomes.append(error)
    return outcomes


def _compare(existing: object, stored: dict[str, object], label: str) -> Outcome:
    differing = [name for name, value in stored.items() if getattr(existing, name) != value]
    if differing:
        shown = [
            {"parent_id": "parent_code", "category_id": "category_code"}.get(n, n)
            for n in differing
        ]
        return Conflict(
            f"{label} already exists with a different {', '.join(shown)}; "
            "an import never overwrites",
            field=shown[0],
        )
    return Recorded(existing.id, created=False)  # type: ignore[attr-defined]
