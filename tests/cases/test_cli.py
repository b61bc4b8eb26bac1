"""`regulars cases report` on a fresh database and after a case."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from regulars.cli import app
from regulars.config import get_settings

runner = CliRunner()


def test_the_report_counts_the_cases_of_the_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    empty = runner.invoke(app, ["cases", "report", "--as-of", "2026-06-01"])
    assert empty.exit_code == 0, empty.output
    assert "0 cases in the 90 days to 2026-06-01" in empty.output
    refused = runner.invoke(app, ["cases", "report", "--days", "0"])
    assert refused.exit_code != 0
    get_settings.cache_clear()
