"""Stores and products, as the tills and apps read them."""

from typing import Annotated

from fastapi import Depends, Query

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import Cursor, DbSession, allow
from regulars.api.unit_of_work import routes
from regulars.catalog import service
from regulars.catalog.schemas import Product, Store

router = routes(prefix="/v1", tags=["catalog"])
Anyone = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.MEMBER, Role.POS, Role.ANALYST))]


@router.get("/stores")
def list_stores(session: DbSession, caller: Anyone) -> list[Store]:
    """All stores and digital channels of the chain."""
    return [Store.model_validate(s) for s in service.list_stores(session)]


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
