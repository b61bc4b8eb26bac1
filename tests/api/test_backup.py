"""A backup restored into a fresh database holds exactly what the original held."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from regulars.db import make_engine, make_sessionmaker
from regulars.errors import RegularsError
from regulars.members.models import Member
from regulars.operations.backup import backup, restore
from regulars.points.models import PointEntry
from regulars.sales.models import Receipt
from tests.api.conftest import Api
from tests.conftest import Template
from tests.factories import NOW


def _totals(url: str) -> tuple[object, ...]:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        found = (
            session.scalar(select(func.count()).select_from(Member)),
            session.scalar(select(func.count()).select_from(Receipt)),
            session.scalar(select(func.sum(Receipt.total_amount))),
            session.scalar(select(func.sum(PointEntry.points))),
        )
    engine.dispose()
    return found


def test_a_restored_backup_holds_every_total(api: Api, template: Template, tmp_path: Path) -> None:
    for number in range(3):
        sale = {
            "store_code": "S001",
            "pos_receipt_no": f"B-{number}",
            "sold_at": NOW.isoformat(),
            "member_card": api.card,
            "lines": [{"sku": "RICE", "quantity": str(number + 1)}],
        }
        assert api.client.post("/v1/receipts", json=sale, headers=api.as_("pos")).status_code == 201
    original = _totals(api.database.url)
    assert original[1] == 3
    file = tmp_path / "shop.backup"
    backup(api.database.url, file)
    fresh = template.empty()
    restore(fresh, file)
    assert _totals(fresh) == original


def test_a_file_that_is_no_backup_is_refused(template: Template, tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("not a backup at all")
    with pytest.raises(RegularsError) as refused:
        restore(template.empty(), file)
    expected = "invalid_input" if template.backend == "sqlite" else "database_not_ready"
    assert refused.value.code == expected
    assert "notes.txt" in refused.value.message or "valid archive" in refused.value.message
