"""Plotly charts of the analyses, for the CLI's HTML files and the report page."""

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from regulars.analytics.clv_summary import HoldoutComparison
from regulars.analytics.cohorts import Retention
from regulars.analytics.rfm import SegmentSummary

LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def holdout_chart(holdout: Mapping[str, HoldoutComparison]) -> go.Figure:
    """Mean holdout purchases by calibration frequency: what happened and what was predicted."""
    first = next(iter(holdout.values()))
    labels = [b.label for b in first.buckets]
    figure = go.Figure(go.Bar(x=labels, y=[b.actual_mean for b in first.buckets], name="actual"))
    for name, comparison in holdout.items():
        figure.add_scatter(
            x=labels,
            y=[b.predicted_mean for b in comparison.buckets],
            name=name,
            mode="lines+markers",
        )
    figure.update_layout(
        title="Repeat purchases in the holdout, by purchases in the calibration period",
        xaxis_title="repeat purchases in the calibration period",
        yaxis_title="mean purchases per customer",
        **LAYOUT,
    )
    return figure


def retention_chart(found: Retention) -> go.Figure:
    """The cohort heat map: share of each cohort buying in each month since it started."""
    share = np.round(found.share * 100, 1)  # NaN: not observed yet, left blank
    figure = go.Figure(
        go.Heatmap(
            z=share.tolist(),
            x=["month 0 (joining)"] + [f"month {k}" for k in range(1, found.share.shape[1])],
            y=[
                f"{label} ({size:,})" for label, size in zip(found.labels, found.sizes, strict=True)
            ],
            colorscale="Blues",
            colorbar={"title": "% active"},
            texttemplate="%{z}",
        )
    )
    figure.update_layout(
        title=f"Retention by {found.basis.replace('_', ' ')}",
        yaxis={"autorange": "reversed"},
        **LAYOUT,
    )
    return figure


def segment_chart(rows: Sequence[SegmentSummary]) -> go.Figure:
    """Segments as a tree map sized by customers, coloured by their share of revenue."""
    figure = go.Figure(
        go.Treemap(
            labels=[str(r.segment) for r in rows],
            parents=[""] * len(rows),
            values=[r.customers for r in rows],
            marker={"colors": [r.revenue_share for r in rows], "colorscale": "Greens"},
            customdata=[r.revenue_share for r in rows],
            texttemplate="%{label}<br>%{value:,} customers<br>%{customdata:.0%} of revenue",
        )
    )
    figure.update_layout(title="RFM segments: size and share of revenue", **LAYOUT)
    return figure
