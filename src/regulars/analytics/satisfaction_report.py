"""The report's sections on what members say: scores and their trend, what drives them,
and how promoters and detractors shopped afterwards. NPS is shown in points (−100 to 100)."""

from collections.abc import Callable

import plotly.graph_objects as go

from regulars.analytics.charts import LAYOUT
from regulars.analytics.page import Section, words
from regulars.analytics.satisfaction import Drivers, Satisfaction
from regulars.analytics.scores import Estimate
from regulars.i18n import Language


def _points(t: Language, estimate: Estimate | None) -> str:
    """An NPS as points with its interval: "23 (15 to 31)"."""
    if estimate is None:
        return ""
    value = t.number(estimate.value * 100)
    if estimate.low is None or estimate.high is None:
        return value
    low, high = t.number(estimate.low * 100), t.number(estimate.high * 100)
    return t("{value} ({low} to {high})", value=value, low=low, high=high)


def _mean(t: Language, estimate: Estimate | None) -> str:
    if estimate is None:
        return ""
    value = t.number(estimate.value, 2)
    if estimate.low is None or estimate.high is None:
        return value
    low, high = t.number(estimate.low, 2), t.number(estimate.high, 2)
    return t("{value} ({low} to {high})", value=value, low=low, high=high)


def _bars(estimates: list[Estimate | None], scale: float = 1) -> dict[str, object]:
    """Plotly error bars from the intervals (none where an estimate has no interval)."""
    above = [(e.high - e.value) * scale if e and e.high is not None else 0 for e in estimates]
    below = [(e.value - e.low) * scale if e and e.low is not None else 0 for e in estimates]
    return {"type": "data", "symmetric": False, "array": above, "arrayminus": below}


def scores_section(t: Language, found: Satisfaction) -> Section:
    months = [g for g in found.by["month"] if g.nps]
    figure = go.Figure(
        go.Scatter(
            x=[g.label for g in months], y=[g.nps.value * 100 for g in months if g.nps],
            error_y=_bars([g.nps for g in months], 100), mode="lines+markers",
        )
    )  # fmt: skip
    figure.update_layout(title=t("NPS by month, with 95% intervals"), yaxis_title="NPS", **LAYOUT)
    named: dict[str, Callable[[str], str]] = {"tier": lambda code: words(t, code), "segment": t}
    rows = "".join(
        f"<tr><td>{t(grouping)}</td><td>{named.get(grouping, str)(g.label)}</td>"
        f"<td class=num>{_points(t, g.nps)}</td><td class=num>{_mean(t, g.csat)}</td>"
        f"<td class=num>{t.number(g.nps.n if g.nps else 0)}</td></tr>"
        for grouping in ("store", "region", "tier", "segment")
        for g in found.by[grouping]
    )
    head = "".join(f"<th>{t(h)}</th>" for h in ("by", "group", "NPS", "CSAT", "answers"))
    parts = [
        t(
            "NPS is {nps} from {answers} answers.",
            nps=_points(t, found.nps), answers=t.number(found.nps.n if found.nps else 0),
        )
    ]  # fmt: skip
    if found.trend is not None:
        trend = found.trend
        steady = trend.low <= 0 <= trend.high
        parts.append(
            t(
                "Month by month it holds steady (a change of {change} points a month, "
                "{low} to {high})." if steady else
                "It moves by {change} points a month ({low} to {high}).",
                change=t.number(trend.per_month * 100, 1), low=t.number(trend.low * 100, 1),
                high=t.number(trend.high * 100, 1),
            )
        )  # fmt: skip
    stores = [g for g in found.by["store"] if g.nps and g.nps.high is not None]
    if len(stores) > 1:
        worst = min(stores, key=lambda g: g.nps.value if g.nps else 0)
        lowest = t("{store} scores lowest: {nps}.", store=worst.label, nps=_points(t, worst.nps))
        parts.append(lowest)
    body = figure.to_html(full_html=False, include_plotlyjs=False)
    return Section(
        t("Satisfaction and NPS"),
        str(body) + f"<table><tr>{head}</tr>{rows}</table>",
        " ".join(parts),
    )


def drivers_charts(t: Language, driver: Drivers) -> str:
    """Each attribute's importance with its interval, and the importance-performance grid."""
    names = [words(t, row.name) for row in driver.importance]
    bars = go.Figure(
        go.Bar(
            x=[row.importance for row in driver.importance], y=names, orientation="h",
            error_x=_bars([Estimate(r.importance, r.low, r.high, driver.answers)
                           for r in driver.importance]),
        )
    )  # fmt: skip
    bars.update_layout(
        title=t("Share of {target} explained by each attribute (LMG, 95% intervals)",
                target=t(driver.target)),
        yaxis={"autorange": "reversed"}, xaxis_tickformat=".0%", **LAYOUT,
    )  # fmt: skip
    grid = go.Figure(
        go.Scatter(
            x=[row.performance for row in driver.grid], y=[row.importance for row in driver.grid],
            text=[words(t, row.name) for row in driver.grid], mode="markers+text",
            textposition="top center",
        )
    )  # fmt: skip
    mean_x = sum(r.performance for r in driver.grid) / len(driver.grid)
    mean_y = sum(r.importance for r in driver.grid) / len(driver.grid)
    grid.add_vline(x=mean_x, line_dash="dot")
    grid.add_hline(y=mean_y, line_dash="dot")
    grid.update_layout(
        title=t("Importance and performance: act first top left"),
        xaxis_title=t("mean rating"), yaxis_title=t("importance"), **LAYOUT,
    )  # fmt: skip
    return "".join(str(f.to_html(full_html=False, include_plotlyjs=False)) for f in (bars, grid))


def drivers_section(t: Language, found: Satisfaction) -> Section:
    if not found.drivers:
        return Section(
            t("What drives satisfaction"), "",
            t("Not computed: {reason}.", reason=t("no survey rates attributes")),
        )  # fmt: skip
    driver = found.drivers[0]
    top = driver.importance[0]
    act = [words(t, row.name) for row in driver.grid if row.quadrant == "act_first"]
    finding = t(
        "{attribute} moves {target} most: {share} of what the ratings explain.",
        attribute=words(t, top.name), target=t(driver.target), share=t.percent(top.share),
    )  # fmt: skip
    if act:
        finding += " " + t(
            "Act first on {attributes}: they matter more than most and score below average.",
            attributes=t(", ").join(act),
        )
    return Section(t("What drives satisfaction"), drivers_charts(t, driver), finding)


def behaviour_section(t: Language, found: Satisfaction) -> Section:
    behaviour = found.behaviour
    if behaviour is None:
        return Section(
            t("Satisfaction and behaviour"), "",
            t("Not computed: {reason}.", reason=t("no answers old enough to follow up")),
        )  # fmt: skip
    rows = "".join(
        f"<tr><td>{t(o.group)}</td><td class=num>{t.number(o.members)}</td>"
        f"<td class=num>{_mean(t, o.spend)}</td><td class=num>{_mean(t, o.lapsed)}</td></tr>"
        for o in behaviour.outcomes
    )
    head = "".join(
        f"<th>{t(h)}</th>"
        for h in ("group", "members", "spend in the 90 days after", "share who bought nothing")
    )
    finding = t("Too few promoters or detractors to compare.")
    spend, lapsed = behaviour.spend_difference, behaviour.lapsed_difference
    if spend is not None and lapsed is not None:
        finding = t(
            "In the {days} days after answering, promoters spent {spend} more than detractors "
            "({spend_low} to {spend_high}), and {lapsed} points fewer of them bought nothing "
            "({lapsed_low} to {lapsed_high}).",
            days=behaviour.horizon_days, spend=t.number(spend.value),
            spend_low=t.number(spend.low or 0), spend_high=t.number(spend.high or 0),
            lapsed=t.number(-lapsed.value * 100), lapsed_low=t.number(-(lapsed.high or 0) * 100),
            lapsed_high=t.number(-(lapsed.low or 0) * 100),
        )  # fmt: skip
    return Section(
        t("Satisfaction and behaviour"), f"<table><tr>{head}</tr>{rows}</table>", finding
    )


def satisfaction_sections(t: Language, found: Satisfaction) -> list[Section]:
    return [scores_section(t, found), drivers_section(t, found), behaviour_section(t, found)]
