"""The customer report: one self-contained HTML page a manager reads without help.

Every chart has a finding under it, one or two sentences computed from the numbers on
the chart, so the page says what it shows. plotly.js is embedded once, from the Plotly
package, so the page opens offline. The page speaks English or Chinese (`regulars.i18n`):
every word on it goes through the language's catalogue, numbers through its locale.
"""

import json
from dataclasses import asdict
from importlib.resources import files
from pathlib import Path

import jinja2
import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
import pyarrow.compute as pc
import pyarrow.parquet as pq
from plotly.offline import get_plotlyjs

from regulars import __version__
from regulars.analytics.baskets.report import baskets_section
from regulars.analytics.charts import LAYOUT, retention_chart, segment_chart
from regulars.analytics.churn import ChurnSummary
from regulars.analytics.cohorts import Retention
from regulars.analytics.kpis import EARLIER, Kpi, ProgramKpis, StoreKpis, shown
from regulars.analytics.lifetime_value import LifetimeValue
from regulars.analytics.page import Section, words
from regulars.analytics.pipeline import Findings
from regulars.analytics.recommend.report import recommendations_section
from regulars.analytics.rfm import SegmentSummary
from regulars.analytics.satisfaction_report import satisfaction_sections
from regulars.analytics.segments import SegmentationSummary
from regulars.i18n import LANGUAGES, Language, language

CONTACT_LIST = 20  # members on the "who to contact next" list


def traits(t: Language, description: str) -> str:
    """A cluster's description ("large baskets, frequent visits"), trait by trait."""
    return t(", ").join(t(trait) for trait in description.split(", "))


def reason_text(t: Language, reason: str | None) -> str:
    if not reason:
        return ""
    if reason.startswith(EARLIER):
        return t("previous period: {reason}", reason=t(reason.removeprefix(EARLIER)))
    return t(reason)


def kpi_finding(t: Language, kpis: ProgramKpis) -> str:
    """The movement people ask about first: active members, and the member share of sales."""
    active, share = kpis["active_members"], kpis["member_share_of_sales"]
    parts = []
    if active.value is not None and active.previous:
        change = active.value / active.previous - 1
        more = (
            "{members} members bought in the period, {change} more than in the one before."
            if change >= 0
            else "{members} members bought in the period, {change} fewer than in the one before."
        )
        parts.append(t(more, members=t.number(active.value), change=t.percent(abs(change))))
    if share.value is not None:
        parts.append(t("Members brought {share} of all sales.", share=t.percent(share.value)))
    return " ".join(parts) or t("There were no sales in the period.")


def segment_finding(t: Language, rows: list[SegmentSummary]) -> str:
    """How concentrated the revenue is: the segment with the most revenue per customer."""
    top = max(rows, key=lambda r: r.revenue_share - r.customer_share)
    at_risk = sum(r.revenue_share for r in rows if r.segment in {"At Risk", "Can't Lose Them"})
    return t(
        "{segment} are {customers} of customers and bring {revenue} of revenue. Customers at "
        "risk or that the chain can't lose brought {at_risk} of revenue: they are the first to "
        "win back.",
        segment=t(str(top.segment)),
        customers=t.percent(top.customer_share),
        revenue=t.percent(top.revenue_share),
        at_risk=t.percent(at_risk),
    )


def value_finding(t: Language, clv: npt.NDArray[np.float64]) -> str:
    """How much of next year's expected value sits with the best fifth of customers."""
    ordered = np.sort(clv)[::-1]
    top = ordered[: max(1, len(ordered) // 5)].sum()
    total = ordered.sum()
    return t(
        "The fifth of customers with the highest lifetime value hold {share} of the value "
        "expected over the next year; the median customer is worth {median}.",
        share=t.percent(top / total if total else 0.0),
        median=t.number(float(np.median(clv)), 2),
    )


def churn_finding(t: Language, churn: ChurnSummary, by_segment: dict[str, float]) -> str:
    model, baseline = churn.model, churn.baseline
    riskiest = max(by_segment, key=lambda s: by_segment[s])
    found = t(
        "{segment} members are the most likely to stop buying (mean risk {risk} within {days} "
        "days). Of a member who stopped and one who stayed, the model rates the one who "
        "stopped as riskier {model} of the time (ROC-AUC {auc}); the BG/NBD chance of no "
        "purchase in that time does so {baseline} of the time.",
        segment=t(riskiest),
        risk=t.percent(by_segment[riskiest]),
        days=t.number(churn.horizon_days),
        model=t.percent(model.roc_auc),
        auc=t.number(model.roc_auc, 2),
        baseline=t.percent(baseline.roc_auc),
    )
    if churn.beats_baseline:
        return found
    return f"{found} " + t(
        "The model does not beat that simpler baseline on the test period: act on the "
        "BG/NBD figure, or give it more history."
    )


def retention_finding(t: Language, found: Retention) -> str:
    """The oldest cohort's retention at the latest month observed for it."""
    observed = np.flatnonzero(~np.isnan(found.share[0]))
    last = int(observed[-1])
    finding = t(
        "Of the {customers} customers of the {cohort} cohort, {share} still bought in their "
        "month {month}.",
        customers=t.number(found.sizes[0]),
        cohort=found.labels[0],
        share=t.percent(found.share[0, last]),
        month=last,
    )
    if found.share.shape[1] > 1 and np.nanmean(found.share[:, 0]) < np.nanmean(found.share[:, 1]):
        finding += " " + t(
            "Month 0 is the month of joining, often only its last days, so fewer members buy "
            "in it than in month 1: read retention from month 1 on."
        )
    return finding


def _kpi_rows(t: Language, kpis: tuple[Kpi, ...]) -> str:
    return "".join(
        f"<tr><td>{words(t, k.name)}</td><td class=num>{shown(k.value, k.unit, t)}</td>"
        f"<td class=num>{shown(k.previous, k.unit, t)}</td><td>{reason_text(t, k.reason)}</td></tr>"
        for k in kpis
    )


def _kpi_table(t: Language, kpis: ProgramKpis) -> str:
    tiers = "".join(
        f"<tr><td>{words(t, c.tier)}</td><td class=num>{t.number(c.members)}</td>"
        f"<td class=num>{t.number(c.previous)}</td><td></td></tr>"
        for c in kpis.tiers
    )
    moves = "".join(
        f"<tr><td>{words(t, m.from_tier)} → {words(t, m.to_tier)}</td>"
        f"<td class=num>{t.number(m.changes)}</td><td class=num>{t.number(m.previous)}</td>"
        "<td></td></tr>"
        for m in kpis.tier_moves
    )
    head = f"<tr><th>{{}}</th><th>{t('period')}</th><th>{t('before')}</th><th></th></tr>"
    return (
        f"<table>{head.format(t('KPI'))}{_kpi_rows(t, kpis.kpis)}"
        + (f"{head.format(t('members by tier, at the end'))}{tiers}" if tiers else "")
        + (f"{head.format(t('tier moves'))}{moves}" if moves else "")
        + (
            f"<tr><td colspan=4>{reason_text(t, kpis.tier_reason)}</td></tr>"
            if kpis.tier_reason
            else ""
        )
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


def _segments_section(t: Language, rows: list[SegmentSummary]) -> Section:
    figure = segment_chart(rows)
    figure.update_traces(
        labels=[t(str(r.segment)) for r in rows],
        texttemplate=t("%{label}<br>%{value:,} customers<br>%{customdata:.0%} of revenue"),
    )
    figure.update_layout(title=t("RFM segments: size and share of revenue"))
    return Section(t("RFM segments"), _figure(figure), segment_finding(t, rows))


def _value_section(t: Language, value: LifetimeValue) -> Section:
    figure = go.Figure(go.Histogram(x=np.log10(1 + value.clv), nbinsx=40))
    figure.update_layout(
        title=t("Expected value over the next year (log scale)"),
        xaxis={
            "title": t("lifetime value"),
            "tickvals": [float(np.log10(1 + v)) for v in (0, 10, 100, 1_000, 10_000)],
            "ticktext": [t.number(v) for v in (0, 10, 100, 1_000, 10_000)],
        },
        yaxis_title=t("customers"),
        **LAYOUT,
    )
    return Section(t("Customer lifetime value"), _figure(figure), value_finding(t, value.clv))


def _churn_section(t: Language, findings: Findings, churn: ChurnSummary) -> Section:
    by_segment = _churn_by_segment(findings, churn)
    figure = go.Figure(go.Bar(x=[t(s) for s in by_segment], y=list(by_segment.values())))
    figure.update_layout(
        title=t("Mean churn risk by RFM segment"), yaxis_tickformat=".0%", **LAYOUT
    )
    return Section(t("Churn risk"), _figure(figure), churn_finding(t, churn, by_segment))


def _contact_section(
    t: Language, findings: Findings, value: LifetimeValue, churn: ChurnSummary
) -> Section:
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
        f"<tr><td>{member}</td><td>{t(segment)}</td><td class=num>{t.number(clv)}</td>"
        f"<td class=num>{t.percent(p)}</td><td class=num>{t.number(days)}</td>"
        f"<td>{words(t, why[member]) if member in why else ''}</td></tr>"
        for member, segment, clv, p, days in chosen
    )
    head = "".join(
        f"<th>{t(name)}</th>"
        for name in (
            "member",
            "segment",
            "value next year",
            "churn risk",
            "days since last visit",
            "what moves the risk most",
        )
    )
    at_stake = sum(clv * p for _, _, clv, p, _ in chosen)
    return Section(
        t("Who to contact next"),
        f"<table><tr>{head}</tr>{table}</table>",
        t(
            "These {members} members stand to take the most with them: {value} of expected "
            "spend next year, weighed by their churn risk. A win-back offer or a call to them "
            "protects the most; look each one up by member id.",
            members=len(chosen),
            value=t.number(at_stake),
        ),
    )


def _stores_section(t: Language, stores: list[StoreKpis]) -> Section:
    """One row per store, for its manager: the store's sales KPIs beside the period before."""
    head = "".join(f"<th>{words(t, kpi.name)}</th>" for kpi in stores[0].kpis)
    rows = "".join(
        f"<tr><td>{store.store_code}</td><td>{store.region}</td>"
        + "".join(
            f"<td class=num>{shown(k.value, k.unit, t)}<br>"
            f"<small>{shown(k.previous, k.unit, t)}</small></td>"
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
    finding = t("No store sold anything in the period.")
    if share:
        low, high = min(share, key=share.__getitem__), max(share, key=share.__getitem__)
        finding = t(
            "Members brought {high_share} of the sales of {high} but {low_share} of those of "
            "{low}: enrolment at {low}'s tills has the most to gain. Each figure is the last "
            "30 days, the one below it the 30 before.",
            high=high,
            low=low,
            high_share=t.percent(share[high]),
            low_share=t.percent(share[low]),
        )
    return Section(
        t("Stores"),
        f"<table><tr><th>{t('store')}</th><th>{t('region')}</th>{head}</tr>{rows}</table>",
        finding,
    )


def _retention_section(t: Language, found: Retention) -> Section:
    figure = retention_chart(found)
    months = found.share.shape[1]
    figure.update_traces(
        x=[t("month 0 (joining)")] + [t("month {month}", month=k) for k in range(1, months)],
        colorbar_title=t("% active"),
    )
    title = {
        "join": "Retention by join month",
        "first_purchase": "Retention by first purchase",
    }
    figure.update_layout(title=t(title.get(found.basis, "Retention by cohort")))
    return Section(t("Retention by cohort"), _figure(figure), retention_finding(t, found))


def _types_section(t: Language, types: SegmentationSummary) -> Section:
    figure = go.Figure(
        go.Bar(x=[words(t, k) for k in types.type_sizes], y=list(types.type_sizes.values()))
    )
    figure.update_layout(title=t("Shopper types"), yaxis_title=t("members"), **LAYOUT)
    clusters = "".join(
        f"<tr><td>{c.cluster}</td><td class=num>{t.number(c.members)}</td>"
        f"<td>{traits(t, c.description)}</td></tr>"
        for c in types.clusters
    )
    largest = max(types.type_sizes, key=lambda k: types.type_sizes[k])
    head = "".join(f"<th>{t(name)}</th>" for name in ("cluster", "members", "what sets it apart"))
    return Section(
        t("Shopper types and clusters"),
        _figure(figure) + f"<table><tr>{head}</tr>{clusters}</table>",
        t(
            "{kind} shoppers are the largest group ({members} of {all} members with enough "
            "visits); k-means finds {k} clusters.",
            kind=words(t, largest),
            members=t.number(types.type_sizes[largest]),
            all=t.number(types.members),
            k=types.k,
        ),
    )


def _skipped(t: Language, title: str, reason: str) -> Section:
    return Section(t(title), "", t("Not computed: {reason}.", reason=t(reason)))


def sections(findings: Findings, t: Language) -> list[Section]:
    value, churn, types = findings.value, findings.churn, findings.types
    skipped = findings.skipped
    return [
        Section(
            t("Program KPIs, last 30 days"),
            _kpi_table(t, findings.kpis),
            kpi_finding(t, findings.kpis),
        ),
        *([_stores_section(t, findings.stores)] if findings.stores else []),
        _segments_section(t, findings.segments),
        _value_section(t, value)
        if value
        else _skipped(t, "Customer lifetime value", skipped["lifetime value"]),
        _churn_section(t, findings, churn)
        if churn
        else _skipped(t, "Churn risk", skipped["churn risk"]),
        _contact_section(t, findings, value, churn)
        if value and churn
        else _skipped(
            t,
            "Who to contact next",
            skipped.get("churn risk") or skipped.get("lifetime value") or "no scores",
        ),
        _retention_section(t, findings.retention),
        _types_section(t, types)
        if types
        else _skipped(t, "Shopper types and clusters", skipped["shopper types"]),
        *(
            satisfaction_sections(t, findings.satisfaction)
            if findings.satisfaction
            else [_skipped(t, "Satisfaction and NPS", skipped["satisfaction"])]
        ),
        recommendations_section(t, findings.recommendations)
        if findings.recommendations
        else _skipped(t, "Recommendations", skipped["recommendations"]),
        baskets_section(t, findings.baskets)
        if findings.baskets
        else _skipped(t, "What sells together", skipped["baskets"]),
    ]


def render_report(findings: Findings, lang: str = "en") -> str:
    """The whole page as one HTML string, in the language `lang` (`en`, `zh-CN`)."""
    t = language(lang)
    template = jinja2.Template(
        files("regulars.analytics").joinpath("templates/report.html.j2").read_text()
    )
    return template.render(
        lang=lang,
        plotlyjs=get_plotlyjs(),
        title=t("Customer report {day}", day=findings.as_of),
        heading=t("Customers of the chain, {day}", day=findings.as_of),
        subtitle=t(
            "{members} members with purchases. Generated by Regulars {version}.",
            members=t.number(len(findings.rfm.customer_id)),
            version=__version__,
        ),
        sections=sections(findings, t),
    )


def write_sections(findings: Findings, folder: Path) -> None:
    """Keep the report's sections in every language beside a run's files, for the console."""
    for tag in LANGUAGES:
        found = [asdict(section) for section in sections(findings, language(tag))]
        (folder / f"report-{tag}.json").write_text(json.dumps(found, ensure_ascii=False))


def read_sections(folder: Path, tag: str) -> list[Section]:
    """The sections a run kept in `folder`, in the language `tag`; none if it kept none."""
    path = folder / f"report-{tag}.json"
    if not path.exists():
        return []
    return [Section(**section) for section in json.loads(path.read_text())]
