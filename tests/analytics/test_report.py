"""The report in English and in Chinese: the same findings, every word from the catalogue."""

from pathlib import Path

import pytest

from regulars.analytics.pipeline import analyse
from regulars.analytics.report import render_report, sections
from regulars.analytics.warehouse import open_warehouse
from regulars.errors import InvalidInput
from regulars.i18n import language
from tests.analytics.conftest import DemoWarehouse


def test_the_chinese_report_leaves_no_word_untranslated(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    findings = analyse(
        open_warehouse(demo_warehouse.folder, materialise=True),
        folder=tmp_path,
        timezone="Asia/Shanghai",
    )
    assert not findings.skipped  # every section drawn, so every message is used
    chinese = language("zh-CN")
    titles = [section.title for section in sections(findings, chinese)]
    assert chinese.missing == set()
    assert titles[:2] == ["会员计划关键指标（最近 30 天）", "门店"]
    page = render_report(findings, "zh-CN")
    assert '<html lang="zh-CN">' in page
    assert "下一步该联系谁" in page
    english = render_report(findings)
    assert "Who to contact next" in english
    assert "下一步" not in english


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        language("fr")
    assert refused.value.field == "lang"
