"""The report's section on what sells together: the strongest pairs across categories as
a matrix of lift, and the strongest rules, over the last 90 days' receipts."""

from datetime import date, timedelta
from typing import Final

import duckdb
import plotly.graph_objects as go

from regulars.analytics.baskets.findings import BasketReport, basket_report, item_categories
from regulars.analytics.baskets.readers import BasketFilter, Level, warehouse_baskets
from regulars.analytics.charts import LAYOUT
from regulars.analytics.page import Section
from regulars.i18n import Language

DAYS: Final = 90
MIN_SUPPORT: Final = "0.005"  # of baskets: goods a category manager can act on
MIN_CONFIDENCE: Final = "0.1"
PAIRS: Final = 15


def recent_baskets(connection: duckdb.DuckDBPyConnection, *, as_of: date) -> BasketReport:
    """Subcategories bought together in the 90 days to `as_of`."""
    found = warehouse_baskets(
        connection, level=Level.subcategory,
        where=BasketFilter(start=as_of - timedelta(days=DAYS - 1), end=as_of + timedelta(days=1)),
    )  # fmt: skip
    return basket_report(
        found, min_support=MIN_SUPPORT, min_confidence=MIN_CONFIDENCE, top=PAIRS,
        category_of=item_categories(connection, Level.subcategory),
    )  # fmt: skip


def baskets_section(t: Language, found: BasketReport) -> Section:
    pairs = found.pairs
    names = sorted({p.first for p in pairs} | {p.second for p in pairs})
    lift = {(p.first, p.second): p.lift for p in pairs} | {
        (p.second, p.first): p.lift for p in pairs
    }
    matrix = go.Figure(
        go.Heatmap(
            x=names, y=names, z=[[lift.get((a, b)) for b in names] for a in names],
            colorscale="Blues", colorbar_title=t("lift"),
        )
    )  # fmt: skip
    matrix.update_layout(title=t("Bought together across categories: lift"), **LAYOUT)
    rows = "".join(
        f"<tr><td>{' + '.join(r.antecedent)} → {' + '.join(r.consequent)}</td>"
        f"<td class=num>{t.number(r.count)}</td><td class=num>{t.percent(r.confidence)}</td>"
        f"<td class=num>{t.number(r.lift, 2)}</td></tr>"
        for r in found.top
    )
    head = "".join(f"<th>{t(h)}</th>" for h in ("rule", "baskets", "confidence", "lift"))
    finding = t("No two categories sell together more often than chance in the period.")
    if pairs:
        best = pairs[0]
        finding = t(
            "{first} and {second} share a basket {lift} times as often as chance would have "
            "them: the strongest pair across categories in the last {days} days, out of "
            "{baskets} baskets.",
            first=best.first, second=best.second, lift=t.number(best.lift, 1), days=DAYS,
            baskets=t.number(found.rules.baskets),
        )  # fmt: skip
    body = str(matrix.to_html(full_html=False, include_plotlyjs=False))
    return Section(
        t("What sells together"), body + f"<table><tr>{head}</tr>{rows}</table>", finding
    )
