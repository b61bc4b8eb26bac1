"""The dashboard: the program's KPIs for a period against the one before, with trends."""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import plotly.graph_objects as go
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from regulars.analytics.kpis import (
    ProgramKpis,
    Sales,
    Week,
    last_sale_day,
    program_kpis,
    shown,
    weekly_trend,
)
from regulars.analytics.warehouse import WarehouseEmpty, open_warehouse
from regulars.catalog.models import Channel, Store
from regulars.catalog.service import list_stores
from regulars.console.core import EVERYONE, Db, allow, render
from regulars.i18n import Language
from regulars.staff.models import StaffRole, StaffUser

router = APIRouter(prefix="/console", include_in_schema=False)
PERIODS = (7, 30, 90)
TREND_WEEKS = 13


def chart_html(t: Language, figure: go.Figure, title: str) -> str:
    """A chart in the console's look and the user's number format; plotly.js comes from
    the page."""
    figure.update_layout(
        title=title,
        height=320,
        margin={"l": 50, "r": 50, "t": 50, "b": 40},
        legend={"orientation": "h"},
        separators=t.locale.number_symbols["latn"]["decimal"]
        + t.locale.number_symbols["latn"]["group"],
    )
    return figure.to_html(include_plotlyjs=False, full_html=False, config={"displaylogo": False})


def trend_charts(t: Language, weeks: list[Week]) -> list[str]:
    """Weekly sales with active members, and the members' share of sales with receipts."""
    days = [w.start.isoformat() for w in weeks]
    sales = go.Figure()
    sales.add_bar(x=days, y=[w.sales for w in weeks], name=t("Sales"))
    sales.add_scatter(
        x=days, y=[w.active_members for w in weeks], name=t("Active members"), yaxis="y2"
    )
    sales.update_layout(
        yaxis={"title": t("Sales")},
        yaxis2={"title": t("Active members"), "overlaying": "y", "side": "right"},
    )
    share = go.Figure()
    share.add_bar(x=days, y=[w.receipts for w in weeks], name=t("Receipts"))
    share.add_scatter(
        x=days, y=[w.member_share for w in weeks], name=t("Member share of sales"), yaxis="y2"
    )
    share.update_layout(
        yaxis={"title": t("Receipts")},
        yaxis2={"title": t("Member share of sales"), "overlaying": "y", "side": "right",
                "tickformat": ".0%", "rangemode": "tozero"},
    )  # fmt: skip
    return [
        chart_html(t, sales, t("Sales and active members by week")),
        chart_html(t, share, t("Receipts and the members' share of sales by week")),
    ]


@dataclass(frozen=True)
class Figures:
    """What the dashboard shows for one choice of period and sales."""

    start: date
    end: date  # the day after the last one
    kpis: ProgramKpis
    chain: ProgramKpis | None  # the chain's, beside a store's, region's or channel's
    trend: list[Week]


def figures(folder: Path, days: int, where: Sales, timezone: str) -> Figures:
    """The figures for the last `days` days of sales, worked out once per warehouse sync:
    the warehouse changes only when it is synced, and a dashboard is asked for often."""
    state = folder / "_state.json"
    if not state.exists():
        raise WarehouseEmpty(f"no warehouse at {folder}", field="warehouse")
    return _figures(folder, state.stat().st_mtime_ns, days, where, timezone)


@lru_cache(maxsize=128)
def _figures(folder: Path, _synced: int, days: int, where: Sales, timezone: str) -> Figures:
    with open_warehouse(folder) as warehouse:
        end = last_sale_day(warehouse, timezone=timezone) + timedelta(days=1)
        start = end - timedelta(days=days)
        kpis = program_kpis(warehouse, start=start, end=end, timezone=timezone, sales=where)
        trend = weekly_trend(warehouse, end=end, weeks=TREND_WEEKS, timezone=timezone, sales=where)
    chain = None if where == Sales() else _figures(folder, _synced, days, Sales(), timezone).kpis
    return Figures(start, end, kpis, chain, trend)


@router.get("")
def dashboard(
    request: Request,
    session: Db,
    days: Annotated[int, Query()] = 30,
    store: Annotated[str | None, Query(max_length=32)] = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    channel: Annotated[Channel | None, Query()] = None,
    user: StaffUser = allow(*EVERYONE),
) -> Response:
    t: Language = request.state.t
    settings = request.app.state.settings
    stores = list_stores(session)
    by_code = {s.code: s for s in stores}
    days = days if days in PERIODS else 30
    own = next((s for s in stores if s.id == user.store_id), None)
    if user.role is StaffRole.STORE_MANAGER:
        store, region = (own.code if own else None), None  # a manager's figures are their store's
    chosen = by_code.get(store or "")
    where = Sales(
        store_id=chosen.id if chosen else None,
        region=region or None,
        channel=str(channel) if channel else None,
    )
    try:
        found = figures(settings.warehouse_dir, days, where, settings.timezone)
    except WarehouseEmpty:
        return render(
            request, "dashboard.html", empty=True, **_filters(stores, days, store, region, channel)
        )
    return render(
        request,
        "dashboard.html",
        empty=False,
        kpis=found.kpis,
        chain=found.chain,
        shown=lambda value, unit: shown(value, unit, t),
        charts=trend_charts(t, found.trend),
        start=found.start,
        last_day=found.end - timedelta(days=1),
        **_filters(stores, days, store, region, channel),
    )


def _filters(
    stores: list[Store], days: int, store: str | None, region: str | None, channel: Channel | None
) -> dict[str, Any]:
    return {
        "stores": stores,
        "regions": sorted({s.region for s in stores}),
        "channels": list(Channel),
        "periods": PERIODS,
        "chosen": {"days": days, "store": store, "region": region, "channel": channel},
    }
