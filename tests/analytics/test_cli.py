"""The analyze commands end to end: files written, scores stored, errors in one line."""

import json
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from regulars.analytics.warehouse import open_warehouse
from regulars.cli import app
from regulars.config import get_settings
from regulars.db import make_engine, make_sessionmaker
from regulars.insights.models import MemberInsight, ModelRun
from tests.analytics.conftest import SHARED_DATA, DemoWarehouse

runner = CliRunner()


@pytest.fixture
def demo_copy(
    demo_warehouse: DemoWarehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The demo database copied, so scores written here stay out of the shared one."""
    database = tmp_path / "demo.db"
    shutil.copy(demo_warehouse.database_url.removeprefix("sqlite:///"), database)
    monkeypatch.setenv("REGULARS_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("REGULARS_WAREHOUSE_DIR", str(demo_warehouse.folder))
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def test_score_stores_every_analysed_member_stamped_with_the_run(
    demo_copy: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["analyze", "score", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rfm = pq.read_table(tmp_path / "run" / "rfm" / "rfm.parquet").to_pydict()
    segment_of = dict(zip(rfm["customer_id"], rfm["segment"], strict=True))
    with make_sessionmaker(make_engine(f"sqlite:///{demo_copy}"))() as session:
        rows = session.scalars(select(MemberInsight)).all()
        runs = session.scalar(select(func.count()).select_from(ModelRun))
    assert len(rows) == len(segment_of)
    assert runs == 1
    assert all(row.rfm_segment == segment_of[str(row.member_id)] for row in rows)
    typed = [r for r in rows if r.shopper_type is not None]
    assert typed
    assert all(r.cluster for r in typed)
    assert all(0 <= (r.churn_risk or 0) <= 1 and (r.clv or 0) >= 0 for r in rows)


def test_the_report_is_one_offline_page_with_a_finding_under_each_chart(
    demo_copy: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["analyze", "report", "--out", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert html.count('<p class="finding">') == html.count("<h2>") == 13
    assert "<h2>Stores</h2>" in html  # a row per store for its manager
    assert "<h2>What drives satisfaction</h2>" in html  # and what members say
    assert "<h2>What sells together</h2>" in html
    assert html.count("plotly.js v") == 1  # embedded once, no network needed
    assert "<script src=" not in html
    assert "ROC-AUC" in html
    page_text = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert "NaN" not in page_text
    assert "%{customdata:.0%} of revenue" in html  # the tree map's revenue, not its colour
    active = re.search(r"<td>Active members</td><td class=num>([\d,.]+)</td>", html)
    assert active is not None
    assert "." not in active.group(1)  # members are counted, not measured
    assert "members by tier, at the end" in html
    assert "price_sensitive" not in page_text
    assert '"ticktext":["0","10","100","1,000","10,000"]' in html
    contacts = html.split("<h2>Who to contact next</h2>")[1].split("</table>")[0]
    assert contacts.count("<tr>") == 1 + 20  # the header and twenty members


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the reference data sets are absent")
def test_clv_from_a_plain_file_reproduces_the_published_cdnow_parameters(tmp_path: Path) -> None:
    out = tmp_path / "clv"
    result = runner.invoke(
        app,
        [
            "analyze",
            "clv",
            "--transactions",
            str(SHARED_DATA / "CDNOW_sample.txt"),
            "--no-header",
            "--separator",
            "whitespace",
            "--customer-col",
            "column0",
            "--date-col",
            "column2",
            "--amount-col",
            "column4",
            "--date-format",
            "%Y%m%d",
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1998-06-30",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    params = json.loads((out / "params.json").read_text())
    assert params["bgnbd"]["r"] == pytest.approx(0.243, rel=0.01)
    assert params["pareto_nbd"]["s"] == pytest.approx(0.606, rel=0.01)
    assert params["gamma_gamma"]["p"] == pytest.approx(6.25, rel=0.01)
    holdout = json.loads((out / "holdout.json").read_text())["bgnbd"]
    assert len(holdout["by_calibration_frequency"]) == 8
    assert (out / "holdout.html").stat().st_size > 1_000_000  # plotly.js inside


def test_empty_holdout_groups_are_null_in_valid_json(tmp_path: Path) -> None:
    out = tmp_path / "clv"
    cdnow = ["--transactions", str(SHARED_DATA / "CDNOW_sample.txt"), "--no-header"]
    cdnow += ["--separator", "whitespace", "--customer-col", "column0", "--date-col", "column2"]
    cdnow += ["--amount-col", "column4", "--date-format", "%Y%m%d"]
    # Two weeks of history: nobody bought 3 times or more yet.
    dates = ["--calibration-end", "1997-01-15", "--holdout-end", "1997-06-30"]
    result = runner.invoke(app, ["analyze", "clv", *cdnow, *dates, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "holdout.json").read_text()
    buckets = json.loads(text, parse_constant=pytest.fail)["bgnbd"]["by_calibration_frequency"]
    empty = [b for b in buckets if b["customers"] == 0]
    assert empty
    assert all(b["actual_mean"] is None for b in empty)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--customer-col", "who", "--date-col", "day", "--amount-col", "paid"], "no column 'who'"),
        (["--date-col", "day", "--amount-col", "paid"], "--customer-col is needed"),
        (
            [
                "--customer-col",
                "cust",
                "--date-col",
                "day",
                "--amount-col",
                "paid",
                "--as-of",
                "31/12/2025",
            ],
            "is not a date",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_1(
    tmp_path: Path, arguments: list[str], words: str
) -> None:
    source = tmp_path / "sales.csv"
    source.write_text("cust,day,paid\nA,2026-01-01,5\n")
    result = runner.invoke(
        app, ["analyze", "rfm", "--transactions", str(source), "--out", str(tmp_path), *arguments]
    )
    assert result.exit_code == 1
    assert words in result.output
    assert "Traceback" not in result.output


def test_a_young_chain_gets_the_report_with_reasons_for_what_needs_more_history(
    demo_copy: Path, demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    [(first,)] = (
        open_warehouse(demo_warehouse.folder)
        .execute("SELECT CAST(min(purchased_at) AS DATE) FROM transactions")
        .fetchall()
    )
    two_days_in = (first + timedelta(days=2)).isoformat()
    page = tmp_path / "early.html"
    result = runner.invoke(app, ["analyze", "report", "--as-of", two_days_in, "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert "skipped churn risk" in result.output
    html = page.read_text()
    assert html.count("Not computed:") >= 1
    assert html.count("<h2>") == 11  # satisfaction, recommendations, baskets: each says why not yet
    assert "<h2>Who to contact next</h2>" in html  # with the reason it could not be drawn up
    assert "Not computed: no survey answers up to" in html


def test_a_report_in_an_unknown_language_is_refused_at_once(demo_copy: Path) -> None:
    result = runner.invoke(app, ["analyze", "report", "--lang", "fr"])
    assert result.exit_code == 1
    assert "no 'fr' translation; choose one of en, zh-CN" in result.output
