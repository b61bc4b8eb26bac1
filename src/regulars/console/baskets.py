"""What sells together, for a category manager: rules and cross-category pairs mined from
the warehouse as asked (level, region, baskets holding a category, hours, weekdays, the
last days, the members of a shopper type as the latest scoring run typed them), with the
thresholds met exactly."""

import functools
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from regulars.analytics.baskets.findings import BasketReport, basket_report, item_categories
from regulars.analytics.baskets.readers import BasketFilter, Level, warehouse_baskets
from regulars.analytics.segments_rules import ShopperType
from regulars.analytics.transactions import last_purchase_day
from regulars.analytics.warehouse import WarehouseEmpty, open_warehouse, synced
from regulars.catalog.models import Category, CategoryLevel
from regulars.console.core import Db, allow, render
from regulars.errors import RegularsError
from regulars.insights.models import MemberInsight
from regulars.staff.models import StaffRole, StaffUser

router = APIRouter(prefix="/console/baskets", include_in_schema=False)
Readers = allow(StaffRole.ANALYST, StaffRole.MARKETING, StaffRole.STORE_MANAGER)
WEEKENDS = {"all": (), "weekdays": (1, 2, 3, 4, 5), "weekend": (6, 7)}


@functools.lru_cache(maxsize=8)
def _mined(
    folder: Path, sync: object, level: Level, days: int, where: BasketFilter,
    min_support: str, min_confidence: str,
) -> BasketReport:  # fmt: skip
    """The rules of the last ``days`` as asked; kept until the warehouse is synced again
    (``sync``), so paging back and forth does not mine again."""
    with open_warehouse(folder) as warehouse:
        end = last_purchase_day(warehouse) + timedelta(days=1)
        period = replace(where, start=end - timedelta(days=days), end=end)
        return basket_report(
            warehouse_baskets(warehouse, level=level, where=period),
            min_support=min_support, min_confidence=min_confidence, top=25,
            category_of=item_categories(warehouse, level),
        )  # fmt: skip


@router.get("")
def baskets(
    request: Request,
    session: Db,
    level: Annotated[Level, Query()] = Level.subcategory,
    days: Annotated[int, Query(ge=7, le=730)] = 90,
    region: Annotated[str, Query(max_length=60)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
    hours: Annotated[str, Query(pattern=r"^(|\d{1,2}-\d{1,2})$")] = "",
    week: Annotated[str, Query(pattern="^(all|weekdays|weekend)$")] = "all",
    shopper: Annotated[ShopperType | None, Query()] = None,
    min_support: Annotated[str, Query(max_length=12)] = "0.005",
    min_confidence: Annotated[str, Query(max_length=12)] = "0.2",
    user: StaffUser = Readers,
) -> Response:
    found, problem = None, None
    first, _, last = hours.partition("-")
    typed = (
        frozenset(session.scalars(
            select(MemberInsight.member_id).where(MemberInsight.shopper_type == shopper.value)
        ))
        if shopper
        else None
    )  # fmt: skip
    folder = request.app.state.settings.warehouse_dir
    try:
        where = BasketFilter(
            region=region or None, hours=(int(first), int(last)) if hours else None,
            weekdays=WEEKENDS[week], members=typed, category=category or None,
        )  # fmt: skip
        found = _mined(folder, synced(folder), level, days, where, min_support, min_confidence)
    except (RegularsError, WarehouseEmpty) as refused:
        problem = request.state.t.told(refused.message)
    return render(
        request, "baskets.html", found=found, problem=problem, levels=list(Level),
        shoppers=list(ShopperType),
        categories=session.execute(
            select(Category.code, Category.name)
            .where(Category.level != CategoryLevel.SUBCATEGORY)
            .order_by(Category.code)
        ).all(),
        asked={"level": level.value, "days": days, "region": region, "category": category,
               "hours": hours,
               "week": week, "shopper": shopper.value if shopper else "",
               "min_support": min_support, "min_confidence": min_confidence},
    )  # fmt: skip
