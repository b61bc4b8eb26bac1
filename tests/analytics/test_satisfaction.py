"""Satisfaction on the demo chain: the drivers its answers were drawn from are found again,
the scores by store are the ones the answers give, and promoters keep shopping."""

import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from regulars.analytics.rfm import rfm_table
from regulars.analytics.satisfaction import NoSurveyAnswers, Satisfaction, satisfaction
from regulars.analytics.warehouse import open_warehouse
from regulars.cli import app
from regulars.config import get_settings
from tests.analytics.conftest import DEMO_UNTIL, DemoWarehouse

AS_OF = DEMO_UNTIL - timedelta(days=1)


@pytest.fixture(scope="module")
def found(demo_warehouse: DemoWarehouse) -> Satisfaction:
    warehouse = open_warehouse(demo_warehouse.folder, materialise=True)
    return satisfaction(warehouse, as_of=AS_OF, rfm=rfm_table(warehouse, as_of=AS_OF))


def demo_database(demo_warehouse: DemoWarehouse) -> sqlite3.Connection:
    return sqlite3.connect(demo_warehouse.database_url.removeprefix("sqlite:///"))


def test_the_drivers_the_answers_were_drawn_from_are_ranked_as_they_were(
    found: Satisfaction, demo_warehouse: DemoWarehouse
) -> None:
    truth = dict(
        demo_database(demo_warehouse).execute("SELECT attribute, weight FROM demo_driver_truth")
    )
    (overall,) = [d for d in found.drivers if d.target == "overall"]
    assert {row.name for row in overall.importance} == set(truth)
    measured = [row.importance for row in overall.importance]
    assert spearmanr(measured, [truth[row.name] for row in overall.importance]).statistic >= 0.9
    assert sum(measured) == pytest.approx(overall.r2)
    top = overall.importance[0]
    assert top.low is not None
    assert top.high is not None
    assert top.low <= top.importance <= top.high
    act_first = [row.name for row in overall.grid if row.quadrant == "act_first"]
    assert act_first
    assert act_first[0] in {"freshness", "checkout_speed"}


def test_nps_by_store_is_what_the_stores_answers_give(
    found: Satisfaction, demo_warehouse: DemoWarehouse
) -> None:
    rows = (
        demo_database(demo_warehouse)
        .execute(
            """SELECT s.code, r.nps FROM survey_response r JOIN store s ON s.id = r.store_id
           WHERE r.nps IS NOT NULL AND r.answered_at < ?""",
            [str(AS_OF + timedelta(days=1))],
        )
        .fetchall()
    )
    by_store: dict[str, list[int]] = {}
    for store, score in rows:
        by_store.setdefault(store, []).append(score)
    shown = {g.label: g.nps for g in found.by["store"] if g.nps is not None}
    assert set(shown) == set(by_store)
    for store, scores in by_store.items():
        promoters = sum(s >= 9 for s in scores) / len(scores)
        detractors = sum(s <= 6 for s in scores) / len(scores)
        estimate = shown[store]
        assert (estimate.n, estimate.value) == (len(scores), pytest.approx(promoters - detractors))
        assert estimate.low is not None
        assert estimate.high is not None
        assert estimate.low < estimate.value < estimate.high
    assert sum(g.nps.n for g in found.by["month"] if g.nps) == found.nps.n  # type: ignore[union-attr]


def test_promoters_keep_shopping_more_than_detractors(found: Satisfaction) -> None:
    behaviour = found.behaviour
    assert behaviour is not None
    groups = {o.group: o for o in behaviour.outcomes}
    assert groups["promoter"].lapsed.value < groups["detractor"].lapsed.value
    assert behaviour.lapsed_difference is not None
    assert behaviour.lapsed_difference.high is not None
    assert behaviour.lapsed_difference.high < 0


def test_a_warehouse_without_answers_says_so(demo_warehouse: DemoWarehouse) -> None:
    warehouse = open_warehouse(demo_warehouse.folder)
    with pytest.raises(NoSurveyAnswers):
        satisfaction(warehouse, as_of=date(2020, 1, 1))


def test_scores_are_read_from_the_warehouse_only(demo_warehouse: DemoWarehouse) -> None:
    assert Path(demo_warehouse.folder, "survey_answers.parquet").exists()
    columns = (
        open_warehouse(demo_warehouse.folder)
        .execute("SELECT * FROM survey_answers LIMIT 0")
        .description
    )
    assert "comment" not in {c[0] for c in columns}


def test_the_command_shows_the_drivers_beside_the_demo_truth(
    demo_warehouse: DemoWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_DATABASE_URL", demo_warehouse.database_url)
    get_settings.cache_clear()
    shown = CliRunner().invoke(
        app,
        ["surveys", "results", "--warehouse", str(demo_warehouse.folder),
         "--as-of", str(AS_OF), "--against-demo-truth"],
    )  # fmt: skip
    get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    found = re.search(r"Spearman with the demo's true drivers: ([\d.]+)", shown.output)
    assert found is not None
    assert float(found[1]) >= 0.9
    assert "what drives overall" in shown.output
