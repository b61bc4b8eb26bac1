"""`regulars analyze recommend`: check the recommenders on a time split, write the lists.
The models load when the command runs, so the rest of `analyze` starts without SciPy."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import duckdb
import pyarrow.parquet as pq
import typer
from rich.table import Table

from regulars.analytics.options import Out, parse_optional_day, reads_transactions, write_summary
from regulars.terminal import console, err_console, reports_errors


@reports_errors
@reads_transactions
def recommend_command(
    connection: duckdb.DuckDBPyConnection,
    out: Out = Path("var/analytics/recommend"),
    as_of: Annotated[
        str | None, typer.Option(help="Recommend as of this day (default: last sale).")
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(help="Learn up to this day for the check (default: --weeks before --as-of)."),
    ] = None,
    weeks: Annotated[int, typer.Option(help="Weeks after the cut-off to check against.")] = 4,
    top: Annotated[int, typer.Option(help="Products per member's list.")] = 10,
) -> None:
    """Buy-again and also-like lists per member, checked against two baselines."""
    from regulars.analytics.recommend.evaluation import evaluate_recommendations
    from regulars.analytics.recommend.run import member_recommendations, recommendation_day

    day = recommendation_day(connection, parse_optional_day(as_of, "as_of"))
    learnt_to = parse_optional_day(cutoff, "cutoff") or day - timedelta(weeks=weeks)
    with console.status("checking the recommenders on a time split"):
        found = evaluate_recommendations(connection, cutoff=learnt_to, weeks=weeks, k=top)
    table = Table(
        "model",
        f"precision@{top}",
        f"recall@{top}",
        f"NDCG@{top}",
        f"MAP@{top}",
        "coverage",
        "novelty",
        title=f"learned up to {found.cutoff}, checked to {found.test_end}, "
        f"{found.members_judged:,} members",
    )
    for name, quality in found.quality.items():
        table.add_row(
            name,
            *(f"{v:.3f}" for v in (quality.precision, quality.recall, quality.ndcg, quality.map)),
            f"{quality.coverage:.1%}",
            f"{quality.novelty:.2f}",
        )
    console.print(table)
    console.print(f"blend chosen on the {weeks} weeks before the cut-off: {found.blend}")
    for note in found.notes:
        err_console.print(f"[yellow]note[/yellow] {note}")
    if not found.beats_baselines("precision"):
        err_console.print("[yellow]warning[/yellow] the blend does not beat both baselines")
    with console.status("recommending"):
        lists = member_recommendations(connection, as_of=day, k=top, weeks=weeks)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(lists, out / "recommendations.parquet")
    summary = write_summary(out, "evaluation", found.as_dict())
    console.print(f"written to {out}/recommendations.parquet and {summary}")
