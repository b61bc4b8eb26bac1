"""The customer report: one self-contained HTML page a manager reads without help.

Every chart has a finding under it, one or two sentences computed from the numbers on
the chart, so the page says what it shows. plotly.js is embedded once, from the Plotly
package, so the page opens offline.
"""

from dataclasses import dataclass
from importlib.resources import files

import jinja2
import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
import pyarrow.compute as pc
import pyarrow.parquet as pq
from plotly.offline import get_plotlyjs

from regulars import __version__
from regulars.analytics.charts import LAYOUT, retention_chart, segment_chart
from regulars.analytics.churn import ChurnSummary
from regulars.analytics.cohorts import Retention
from regulars.analytics.kpis import ProgramKpis, StoreKpis, shown
from regulars.analytics.lifetime_value import LifetimeValue
from regulars.analytics.pipeline import Findings
from regulars.analytics.rfm import SegmentSummary
from regulars.analytics.segments import SegmentationSummary


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # HTML: a chart or a table
    finding: str


def kpi_finding(kpis: ProgramKpis) -> str:
    """The movement people ask about first: active members, and the member share of sales."""
    active, share = kpis["active_members"], kpis["member_share_of_sales"]
    parts = []
    if active.value is not None and active.previous:
        change = active.value / active.previous - 1
        parts.append(
            f"{active.value:,.0f} members bought in the period, "
            f"{abs(change):.0%} {'more' if change >= 0 else 'fewer'} than in the one before."
        )
    if share.value is not None:
        parts.append(f"Members brought {share.value:.0%} of all sales.")
    return " ".join(parts) or "There were no sales in the period."


def segment_finding(rows: list[SegmentSummary]) -> str:
    """How concentrated the revenue is: the segment with the most revenue per customer."""
    top = max(rows, key=lambda r: r.revenue_share - r.customer_share)
    at_risk = sum(r.revenue_share for r in rows if r.segment in {"At Risk", "Can't Lose Them"})
    return (
        f"{top.segment} are {top.customer_share:.0%} of customers and bring "
        f"{top.revenue_share:.0%} of revenue. Customers at risk or that the chain can't lose "
        f"brought {at_risk:.0%} of revenue: they are the first to win back."
    )


def value_finding(clv: npt.NDArray[np.float64]) -> str:
    """How much of next year's expected value sits with the best fifth of customers."""
    ordered = np.sort(clv)[::-1]
    top = ordered[: max(1, len(ordered) // 5)].sum()
    total = ordered.sum()
    share = top / total if total else 0.0
    return (
        f"The fifth of customers with the highest lifetime value hold {share:.0%} of the value "
        f"expected over the next year; the median customer is worth {np.median(clv):,.2f}."
    )


def churn_finding(churn: ChurnSummary, by_segment: dict[str, float]) -> str:
    model, baseline = churn.model, churn.baseline
    riskiest = max(by_segment, key=lambda s: by_segment[s])
    found = (
        f"{riskiest} members are the most likely to stop buying (mean risk "
        f"{by_segment[riskiest]:.0%} within {churn.horizon_days} days). Of a member who "
        f"stopped and one who stayed, the model rates the one who stopped as riskier "
        f"{model.roc_auc:.0%} of the time (ROC-AUC {model.roc_auc:.2f}); the BG/NBD chance "
        f"of no purchase in that time does so {baseline.roc_auc:.0%} of the time."
    )
    if churn.beats_baseline:
        return found
    return found + (
        " The model does not beat that simpler baseline on the test period: act on the "
        "BG/NBD figure, or give it more history."
    )


def retention_finding(found: Retention) -> str:
    """The oldest cohort's retention at the latest month observed for it."""
    observed = np.flatnonzero(~np.isnan(found.share[0]))
    last = int(observed[-1])
    finding = (
        f"Of the {found.sizes[0]:,} customers of the {found.labels[0]} cohort, "
        f"{found.share[0, last]:.0%} still bought in their month {last}."
    )
    if found.share.shape[1] > 1 and np.nanmean(found.share[:, 0]) < np.nanmean(found.share[:, 1]):
        finding += (
            " Month 0 is the month of joining, often only its last days, so fewer members "
            "buy in it than in month 1: read retention from month 1 on."
        )
    return finding


def _words(code: str) -> str:
    """A code name as a label people read: price_sensitive is "Price sensitive"."""
    return code.replace("_", " ").capitalize()


def _kpi_table(kpis: ProgramKpis) -> str:
    rows = "".join(
        f"<tr><td>{_words(k.name)}</td><td class=num>{shown(k.value, k.unit)}</td>"
        f"<td class=num>{shown(k.previous, k.unit)}</td><td>{k.reason or ''}</td></tr>"
        for k in kpis.kpis
    )
    tiers = "".join(
        f"<tr><td>{_words(t.tier)}</td><td class=num>{t.members:,}</td>"
        f"<td class=num>{t.previous:,}</td><td></td></tr>"
        for t in kpis.tiers
    )
    moves = "".join(
        f"<tr><td>{_words(m.from_tier)} → {_words(m.to_tier)}</td><td class=num>{m.changes:,}"
        f"</td><td class=num>{m.previous:,}</td><td></td></tr>"
        for m in kpis.tier_moves
    )
    head = "<tr><th>{}</th><th>period</th><th>before</th><th></th></tr>"
    return (
        f"<table>{head.format('KPI')}{rows}"
        + (f"{head.format('members by tier, at the end')}{tiers}" if tiers else "")
        + (f"{head.format('tier moves')}{moves}" if moves else "")
        + (f"<tr><td colspan=4>{kpis.tier_reason}</td></tr>" if kpis.tier_reason else "")
        + "</table>"
    )


def _figure(figure: go.Figure) -> str:
    return str(figure.to_html(full_html=False, include_plotlyjs=False))


def _churn_by_segment(findings: Findings, churn: ChurnSummary) -> dict[str, float]:
    risk = pq.read_table(churn.scores_path, columns=["customer_id", "churn_risk"])
    by_customer = dict(
        zip(risk["customer_id"].to_pylist(), risk["churn_risk"].to_pylist(), strict=True)
    )
    sums: dict[str, list[float]] = {}
    for customer, segment in zip(findings.rfm.customer_id, findings.rfm.segment, strict=True):
        if str(customer) in by_customer:
            sums.setdefault(str(segment), []).append(by_customer[str(customer)])
    return {segment: float(np.mean(values)) for segment, values in sums.items()}


def _value_section(value: LifetimeValue) -> Section:
    figure = go.Figure(go.Histogram(x=np.log10(1 + value.clv), nbinsx=40))
    figure.update_layout(
        title="Expected value over the next year (log scale)",
        xaxis={
            "title": "lifetime value",
            "tickvals": [float(np.log10(1 + v)) for v in (0, 10, 100, 1_000, 10_000)],
            "ticktext": ["0", "10", "100", "1,000", "10,000"],
        },
        yaxis_title="customers",
        **LAYOUT,
    )
    return Section("Customer lifetime value", _figure(figure), value_finding(value.clv))


def _churn_section(findings: Findings, churn: ChurnSummary) -> Section:
    by_segment = _churn_by_segment(findings, churn)
    figure = go.Figure(go.Bar(x=list(by_segment), y=list(by_segment.values())))
    figure.update_layout(title="Mean churn risk by RFM segment", yaxis_tickformat=".0%", **LAYOUT)
    return Section("Churn risk", _figure(figure), churn_finding(churn, by_segment))


CONTACT_LIST = 20  # members on the "who to contact next" list


def _contact_section(findings: Findings, value: LifetimeValue, churn: ChurnSummary) -> Section:
    """The members whose loss would cost most: expected value next year x churn risk."""
    scores = pq.read_table(churn.scores_path, columns=["customer_id", "churn_risk"]).to_pydict()
    risk = dict(zip(scores["customer_id"], scores["churn_risk"], strict=True))
    worth = dict(zip(value.summary.customer_ids.tolist(), value.clv.tolist(), strict=True))
    drivers = pq.read_table(churn.drivers_path, columns=["customer_id", "rank", "feature"])
    first = drivers.filter(pc.equal(drivers["rank"], 1)).to_pydict()
    why = dict(zip(first["customer_id"], first["feature"], strict=True))
    rfm = findings.rfm
    rows = [
        (str(c), str(segment), worth[str(c)], risk[str(c)], int(days))
        for c, segment, days in zip(rfm.customer_id, rfm.segment, rfm.recency_days, strict=True)
        if str(c) in risk and str(c) in worth
    ]
    rows.sort(key=lambda row: row[2] * row[3], reverse=True)
    chosen = rows[:CONTACT_LIST]
    table = "".join(
        f"<tr><td>{member}</td><td>{segment}</td><td class=num>{clv:,.0f}</td>"
        f"<td class=num>{p:.0%}</td><td class=num>{days:,}</td><td>{_words(why.get(member, ''))}"
        "</td></tr>"
        for member, segment, clv, p, days in chosen
    )
    at_stake = sum(clv * p for _, _, clv, p, _ in chosen)
    return Section(
        "Who to contact next",
        "<table><tr><th>member</th><th>segment</th><th>value next year</th><th>churn risk</th>"
        f"<th>days since last visit</th><th>what moves the risk most</th></tr>{table}</table>",
        f"These {len(chosen)} members stand to take the most with them: {at_stake:,.0f} of "
        "expected spend next year, weighed by their churn risk. A win-back offer or a call "
        "to them protects the most; look each one up by member id.",
    )


def _stores_section(stores: list[StoreKpis]) -> Section:
    """One row per store, for its manager: the store's sales KPIs beside the period before."""
    names = [_words(kpi.name) for kpi in stores[0].kpis]
    head = "".join(f"<th>{name}</th>" for name in names)
    rows = "".join(
        f"<tr><td>{store.store_code}</td><td>{store.region}</td>"
        + "".join(
            f"<td class=num>{shown(k.value, k.unit)}<br><small>{shown(k.previous, k.unit)}"
            "</small></td>"
            for k in store.kpis
        )
        + "</tr>"
        for store in stores
    )
    share = {
        store.store_code: store.kpis[-1].value
        for store in stores
        if store.kpis[-1].value is not None
    }
    finding = "No store sold anything in the period."
    if share:
        low, high = min(share, key=share.__getitem__), max(share, key=share.__getitem__)
        finding = (
            f"Members brought {share[high]:.0%} of the sales of {high} but {share[low]:.0%} "
            f"of those of {low}: enrolment at {low}'s tills has the most to gain. Each figure "
            "is the last 30 days, the one below it the 30 before."
        )
    return Section(
        "Stores",
        f"<table><tr><th>store</th><th>region</th>{head}</tr>{rows}</table>",
        finding,
    )


def _types_section(types: SegmentationSummary) -> Section:
    figure = go.Figure(
        go.Bar(x=[_words(t) for t in types.type_sizes], y=list(types.type_sizes.values()))
    )
    figure.update_layout(title="Shopper types", yaxis_title="members", **LAYOUT)
    clusters = "".join(
        f"<tr><td>{c.cluster}</td><td class=num>{c.members:,}</td><td>{c.description}</td></tr>"
        for c in types.clusters
    )
    largest = max(types.type_sizes, key=lambda t: types.type_sizes[t])
    return Section(
        "Shopper types and clusters",
        _figure(figure)
        + "<table><tr><th>cluster</th><th>members</th><th>what sets it apart</th></tr>"
        f"{clusters}</table>",
        f"{_words(largest)} shoppers are the largest group "
        f"({types.type_sizes[largest]:,} of {types.members:,} members with enough visits); "
        f"k-means finds {types.k} clusters.",
    )


def _skipped(title: str, reason: str) -> Section:
    return Section(title, "", f"Not computed: {reason}.")


def sections(findings: Findings) -> list[Section]:
    value, churn, types = findings.value, findings.churn, findings.types
    skipped = findings.skipped
    return [
        Section(
            "Program KPIs, last 30 days",
            _kpi_table(findings.kpis),
            kpi_finding(findings.kpis),
        ),
        *([_stores_section(findings.stores)] if findings.stores else []),
        Section(
            "RFM segments",
            _figure(segment_chart(findings.segments)),
            segment_finding(findings.segments),
        ),
        _value_section(value)
        if value
        else _skipped("Customer lifetime value", skipped["lifetime value"]),
        _churn_section(findings, churn) if churn else _skipped("Churn risk", skipped["churn risk"]),
        _contact_section(findings, value, churn)
        if value and churn
        else _skipped(
            "Who to contact next",
            skipped.get("churn risk") or skipped.get("lifetime value") or "no scores",
        ),
        Section(
            "Retention by cohort",
            _figure(retention_chart(findings.retention)),
            retention_finding(findings.retention),
        ),
        _types_section(types)
        if types
        else _skipped("Shopper types and clusters", skipped["shopper types"]),
    ]


def render_report(findings: Findings) -> str:
    """The whole page as one HTML string."""
    template = jinja2.Template(
        files("regulars.analytics").joinpath("templates/report.html.j2").read_text()
    )
    return template.render(
        plotlyjs=get_plotlyjs(),
        as_of=findings.as_of,
        customers=f"{len(findings.rfm.customer_id):,}",
        version=__version__,
        sections=sections(findings),
    )
