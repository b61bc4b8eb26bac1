"""Stores, categories and products: read by tills and apps, kept up to date by admins."""

from typing import Annotated

from fastapi import Depends, Query, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import Cursor, DbSession, allow
from regulars.api.unit_of_work import routes
from regulars.catalog import service
from regulars.catalog.schemas import (
    Category,
    CategoryCreate,
    Product,
    ProductCreate,
    ProductUpdate,
    Store,
    StoreCreate,
    StoreUpdate,
)

router = routes(prefix="/v1", tags=["catalog"])
Anyone = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.MEMBER, Role.POS, Role.ANALYST))]
Admin = Annotated[Principal, Depends(allow())]


@router.get("/stores")
def list_stores(session: DbSession, caller: Anyone) -> list[Store]:
    """All stores and digital channels of the chain."""
    return [Store.model_validate(s) for s in service.list_stores(session)]


@router.post("/stores", status_code=status.HTTP_201_CREATED)
def add_store(data: StoreCreate, session: DbSession, caller: Admin) -> Store:
    """Open a store or a channel; its code must be new."""
    return Store.model_validate(service.add_store(session, data=data))


@router.patch("/stores/{code}")
def change_store(code: str, data: StoreUpdate, session: DbSession, caller: Admin) -> Store:
    """Rename a store or move it to another region."""
    return Store.model_validate(service.update_store(session, code=code, changes=data))


@router.get("/categories")
def list_categories(session: DbSession, caller: Anyone) -> list[Category]:
    """The category tree, parents before their children."""
    return [
        Category.model_validate(c).model_copy(update={"parent_code": parent})
        for c, parent in service.list_categories(session)
    ]


@router.post("/categories", status_code=status.HTTP_201_CREATED)
def add_category(data: CategoryCreate, session: DbSession, caller: Admin) -> Category:
    """Add a department, category or subcategory under its parent."""
    added = service.add_category(session, data=data)
    return Category.model_validate(added).model_copy(update={"parent_code": data.parent_code})


@router.get("/products")
def list_products(
    session: DbSession,
    caller: Anyone,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Product]:
    """Products in id order, a page at a time."""
    return [
        Product.model_validate(p)
        for p in service.list_products(session, after_id=after, limit=limit)
    ]


@router.post("/products", status_code=status.HTTP_201_CREATED)
def add_product(data: ProductCreate, session: DbSession, caller: Admin) -> Product:
    """List a new product in its category."""
    return Product.model_validate(service.add_product(session, data=data))


@router.patch("/products/{sku}")
def change_product(sku: str, data: ProductUpdate, session: DbSession, caller: Admin) -> Product:
    """Change a product: its price counts from the next sale; receipts keep theirs."""
    return Product.model_validate(service.update_product(session, sku=sku, changes=data))
