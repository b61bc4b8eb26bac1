"""`regulars warehouse` and `regulars analyze`: the analyses from the command line.

Every analysis reads either the warehouse (default) or, with ``--transactions FILE``, an
analyst's own file; the options naming the file's columns are shared by all commands.
Each command imports its analysis when it runs: `analyze rfm` does not wait for the
machine-learning libraries that churn and clustering need.
"""

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import pyarrow.parquet as pq
import typer
from rich.table import Table

from regulars.analytics.baskets.cli import baskets_command
from regulars.analytics.options import (
    AsOf,
    Out,
    TimeUnitOption,
    Warehouse,
    parse_day,
    parse_optional_day,
    reads_transactions,
    write_summary,
)
from regulars.analytics.recommend.cli import recommend_command
from regulars.analytics.rfm import rfm_table, segment_migration, segment_summary
from regulars.analytics.transactions import last_purchase_day
from regulars.analytics.warehouse import open_warehouse, sync_warehouse
from regulars.clock import utc_now
from regulars.config import get_settings
from regulars.terminal import (
    console,
    err_console,
    open_database,
    open_engine,
    reports_errors,
    row_progress,
)

if TYPE_CHECKING:
    from regulars.analytics.pipeline import Findings

warehouse_app = typer.Typer()
app = typer.Typer()
app.command("recommend")(recommend_command)
app.command("baskets")(baskets_command)


@warehouse_app.command("sync")
@reports_errors
def sync(
    warehouse: Warehouse = None,
) -> None:
    """Copy new sales, lines, refunds and ledger entries; refresh members, lots and tiers."""
    settings = get_settings()
    engine = open_engine()
    with row_progress() as progress:
        tasks: dict[str, Any] = {}

        def advance(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(table, total=total)
            progress.update(tasks[table], completed=done)

        report = sync_warehouse(engine, warehouse or settings.warehouse_dir, progress=advance)
    table = Table("table", "new rows", "snapshot rows", title="warehouse sync")
    for name, rows in report.copied.items():
        table.add_row(name, f"{rows:,}", "")
    for name, rows in report.snapshots.items():
        table.add_row(name, "", f"{rows:,}")
    console.print(table)


@app.command("rfm")
@reports_errors
@reads_transactions
def rfm(
    connection: duckdb.DuckDBPyConnection,
    out: Out = Path("var/analytics/rfm"),
    as_of: Annotated[
        str | None, typer.Option(help="Score as of this day (default: last sale).")
    ] = None,
    quantiles: Annotated[int, typer.Option(help="Score levels (5: quintiles).")] = 5,
    compare_to: Annotated[
        str | None, typer.Option(help="Also show how segments moved since this earlier day.")
    ] = None,
) -> None:
    """RFM scores and named segments; with --compare-to, the migration matrix."""
    day = parse_optional_day(as_of, "as_of") or last_purchase_day(connection)
    scored = rfm_table(connection, as_of=day, quantiles=quantiles)
    out.mkdir(parents=True, exist_ok=True)
    scored.write_parquet(out / "rfm.parquet")
    rows = segment_summary(scored)
    table = Table(
        "segment",
        "customers",
        "share",
        "revenue share",
        "mean spend",
        title=f"RFM segments on {day}",
    )
    for row in rows:
        table.add_row(
            row.segment,
            f"{row.customers:,}",
            f"{row.customer_share:.1%}",
            f"{row.revenue_share:.1%}",
            f"{row.mean_monetary:,.2f}",
        )
    console.print(table)
    summary: dict[str, object] = {
        "as_of": day,
        "quantiles": quantiles,
        "segments": [asdict(r) for r in rows],
    }
    start = parse_optional_day(compare_to, "compare_to")
    if start is not None:
        moved = segment_migration(connection, start=start, end=day, quantiles=quantiles)
        summary["migration"] = {
            "from": moved.from_labels,
            "to": moved.to_labels,
            "counts": moved.counts.tolist(),
        }
    console.print(f"written to {out}/rfm.parquet and {write_summary(out, 'rfm', summary)}")


@app.command("clv")
@reports_errors
@reads_transactions
def clv(
    connection: duckdb.DuckDBPyConnection,
    calibration_end: Annotated[str, typer.Option(help="Last day the models learn from.")],
    out: Out = Path("var/analytics/clv"),
    holdout_end: Annotated[
        str | None, typer.Option(help="Check the predictions against the days up to this one.")
    ] = None,
    time_unit: Annotated[TimeUnitOption, typer.Option(help="Unit of the parameters.")] = (
        TimeUnitOption.week
    ),
) -> None:
    """BG/NBD, Pareto/NBD and Gamma-Gamma; P(alive), expected purchases and CLV per customer."""
    from regulars.analytics.charts import holdout_chart
    from regulars.analytics.lifetime_value import lifetime_value, write_lifetime_value

    end = parse_day(calibration_end, "calibration_end")
    with console.status("fitting BG/NBD, Pareto/NBD and Gamma-Gamma"):
        result = lifetime_value(
            connection,
            calibration_end=end,
            holdout_end=parse_optional_day(holdout_end, "holdout_end"),
            time_unit=time_unit.value,
        )
    table = Table("model", "parameters", title=f"{len(result.summary):,} customers")
    for model, values in result.params.items():
        table.add_row(
            model,
            ", ".join(
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k}: {v}" for k, v in values.items()
            ),
        )
    console.print(table)
    left_out = int(result.params["gamma_gamma"].get("repeat_buyers_left_out", 0))
    if left_out:
        console.print(
            f"[yellow]note[/yellow] Gamma-Gamma left out {left_out:,} repeat buyers who spent "
            "nothing after their first purchase (paid with coupons or points)"
        )
    written = write_lifetime_value(result, out)
    if result.holdout:
        checks = Table(
            "calibration frequency",
            "customers",
            "actual",
            "BG/NBD",
            title="repeat purchases per customer in the holdout",
        )
        for bucket in result.holdout["bgnbd"].buckets:
            means = (bucket.actual_mean, bucket.predicted_mean)
            checks.add_row(
                bucket.label,
                f"{bucket.customers:,}",
                *(f"{mean:.2f}" if bucket.customers else "–" for mean in means),
            )
        console.print(checks)
        chart = out / "holdout.html"
        holdout_chart(result.holdout).write_html(chart, include_plotlyjs=True)
        written.append(chart)
    console.print("written: " + ", ".join(str(p) for p in written))


@app.command("churn")
@reports_errors
@reads_transactions
def churn(
    connection: duckdb.DuckDBPyConnection,
    out: Out = Path("var/analytics/churn"),
    horizon_days: Annotated[
        int | None,
        typer.Option(
            help="Days without a purchase that count as churn (default: from the data: "
            "the time within which nine in ten repeat purchases follow the one before)."
        ),
    ] = None,
    cutoff: Annotated[
        str | None, typer.Option(help="Score as of this day (default: last sale).")
    ] = None,
) -> None:
    """Churn risk per customer from a gradient-boosting model, checked against P(alive)."""
    from regulars.analytics.churn import churn_report

    with console.status("training and testing the churn model"):
        found = churn_report(
            connection, out, horizon_days=horizon_days, cutoff=parse_optional_day(cutoff, "cutoff")
        )
    table = Table(
        "risk score",
        "ROC-AUC",
        "PR-AUC",
        "Brier",
        title=f"churn within {found.horizon_days} days, tested on {found.test_cutoff}",
    )
    rows = (("model", found.model), ("BG/NBD: no purchase in the horizon", found.baseline))
    for name, value in rows:
        table.add_row(name, f"{value.roc_auc:.3f}", f"{value.pr_auc:.3f}", f"{value.brier:.3f}")
    console.print(table)
    if not found.beats_baseline:
        err_console.print(
            "[yellow]warning[/yellow] the model does not beat the BG/NBD baseline on the test "
            "period: rely on the baseline's figure, or give the model more history"
        )
    console.print(f"{found.scored_customers:,} customers scored; written to {out}")


@app.command("cohorts")
@reports_errors
@reads_transactions
def cohorts(
    connection: duckdb.DuckDBPyConnection,
    out: Out = Path("var/analytics/cohorts"),
) -> None:
    """Retention by join month (or first-purchase month for a plain file), with a heat map."""
    from regulars.analytics.charts import retention_chart
    from regulars.analytics.cohorts import retention

    found = retention(connection)
    out.mkdir(parents=True, exist_ok=True)
    found.write_parquet(out / "retention.parquet")
    found.write_json(out / "retention.json")
    retention_chart(found).write_html(out / "retention.html", include_plotlyjs=True)
    console.print(
        f"{len(found.cohorts)} cohorts by {found.basis}, {int(found.sizes.sum()):,} customers; "
        f"written to {out}/retention.parquet, .json and .html"
    )


@app.command("kpis")
@reports_errors
def kpis(
    start: Annotated[str, typer.Option(help="First day of the period.")],
    end: Annotated[str, typer.Option(help="Day after the period.")],
    out: Out = Path("var/analytics/kpis"),
    warehouse: Warehouse = None,
) -> None:
    """Program KPIs for a period, each beside the period of equal length before it."""
    from regulars.analytics.kpis import program_kpis, shown

    settings = get_settings()
    first, after = parse_day(start, "start"), parse_day(end, "end")
    found = program_kpis(
        open_warehouse(warehouse or settings.warehouse_dir),
        start=first,
        end=after,
        timezone=settings.timezone,
    )
    table = Table("KPI", "this period", "previous", "change", title=f"{first} to {after}")
    for kpi in found.kpis:
        table.add_row(
            kpi.name,
            shown(kpi.value, kpi.unit) if kpi.reason is None else kpi.reason,
            shown(kpi.previous, kpi.unit),
            shown(kpi.change, kpi.unit),
        )
    console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    found.write_json(out / "kpis.json")
    console.print(f"written to {out}/kpis.json")


@app.command("types")
@reports_errors
def types(
    out: Out = Path("var/analytics/types"),
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the window (default: last sale).")
    ] = None,
    window_days: Annotated[int, typer.Option(help="Days of behaviour to look at.")] = 180,
    against_demo_truth: Annotated[
        bool, typer.Option(help="On a demo database: compare with the generator's true types.")
    ] = False,
    warehouse: Warehouse = None,
) -> None:
    """Shopper types by documented rules, and k-means clusters described in words."""
    from regulars.analytics.segments import PARQUET_NAME, compare_with_demo_truth, segment_members

    settings = get_settings()
    connection = open_warehouse(warehouse or settings.warehouse_dir)
    day = parse_optional_day(as_of, "as_of") or last_purchase_day(connection)
    with console.status("typing and clustering members"):
        found = segment_members(connection, as_of=day, folder=out, window_days=window_days)
    sizes = Table("shopper type", "members", title=f"{found.members:,} members on {day}")
    for name, size in found.type_sizes.items():
        sizes.add_row(name, f"{size:,}")
    console.print(sizes)
    groups = Table("cluster", "members", "what sets it apart", title=f"k-means, k = {found.k}")
    for cluster in found.clusters:
        groups.add_row(str(cluster.cluster), f"{cluster.members:,}", cluster.description)
    console.print(groups)
    if against_demo_truth:
        typed = pq.read_table(out / PARQUET_NAME, columns=["member_id", "shopper_type"])
        agreement = compare_with_demo_truth(
            open_engine(),
            member_id=typed["member_id"].to_numpy(),
            found_types=typed["shopper_type"].to_numpy(zero_copy_only=False),
        )
        table = Table(
            "true \\ found",
            *agreement.found_labels,
            title=f"adjusted Rand index {agreement.adjusted_rand_index:.3f}",
        )
        for label, row in zip(agreement.true_labels, agreement.counts, strict=True):
            table.add_row(label, *(f"{n:,}" for n in row))
        console.print(table)
    console.print(f"written to {out}")


def _findings(warehouse: Path | None, out: Path, as_of: str | None) -> "Findings":
    from regulars.analytics.pipeline import analyse

    settings = get_settings()
    connection = open_warehouse(warehouse or settings.warehouse_dir, materialise=True)
    with console.status("analysing") as status:
        return analyse(
            connection,
            folder=out,
            as_of=parse_optional_day(as_of, "as_of"),
            timezone=settings.timezone,
            step=lambda name: status.update(f"analysing: {name}"),
        )


@app.command("score")
@reports_errors
def score(
    out: Out = Path("var/analytics/run"),
    as_of: AsOf = None,
    warehouse: Warehouse = None,
) -> None:
    """Run every analysis and store each member's segment, type, CLV, P(alive) and risk."""
    from regulars.analytics.scoring import score_members

    settings = get_settings()
    with console.status("analysing") as status:
        scored = score_members(
            open_database(),
            warehouse=warehouse or settings.warehouse_dir,
            out=out,
            zone=settings.zone,
            now=utc_now(),
            as_of=parse_optional_day(as_of, "as_of"),
            step=lambda name: status.update(f"analysing: {name}"),
        )
    for name, reason in scored.skipped.items():
        err_console.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    console.print(f"{scored.members:,} members scored by run {scored.run_id}; files in {out}")


@app.command("report")
@reports_errors
def report(
    out: Annotated[Path, typer.Option(help="The HTML page to write.")] = Path("report.html"),
    as_of: AsOf = None,
    warehouse: Warehouse = None,
    lang: Annotated[str, typer.Option(help="The page's language: en or zh-CN.")] = "en",
) -> None:
    """One self-contained HTML page: KPIs, stores, segments, value, churn, whom to contact,
    cohorts, types, and what members say: satisfaction, its drivers and behaviour."""
    from regulars.analytics.report import render_report
    from regulars.i18n import language

    language(lang)  # an unknown language is refused before the analyses run
    findings = _findings(warehouse, out.with_suffix(".files"), as_of)
    for name, reason in findings.skipped.items():
        err_console.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    out.write_text(render_report(findings, lang), encoding="utf-8")
    console.print(f"written to {out}")
