"""`regulars surveys` from a fresh database: a survey file is checked field by field."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from regulars.cli import app
from regulars.config import get_settings

runner = CliRunner()
SURVEY = """
code = "after-visit"
title = "购物体验调查"
title_en = "How was your visit?"
trigger = "purchase"
questions = ["nps", "overall", "rating:freshness", "comment"]
points = 20
sample_percent = {percent}
"""


def test_a_survey_file_is_checked_then_the_survey_invites_after_purchases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("REGULARS_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    survey = tmp_path / "survey.toml"
    survey.write_text(SURVEY.format(percent=150), encoding="utf-8")
    refused = runner.invoke(app, ["surveys", "create", str(survey)])
    assert refused.exit_code == 1
    assert "sample_percent" in refused.output
    survey.write_text(SURVEY.format(percent=10), encoding="utf-8")
    made = runner.invoke(app, ["surveys", "create", str(survey)])
    assert made.exit_code == 0, made.output
    assert "'after-visit' (purchase) is active" in made.output
    sent = runner.invoke(app, ["surveys", "send", "--as-of", "2026-06-01"])
    assert "after-visit: 0 invited" in sent.output
    listed = runner.invoke(app, ["surveys", "list"])
    assert "after-visit" in listed.output
    assert "rating:freshness" in listed.output
    get_settings.cache_clear()
