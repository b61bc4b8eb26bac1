"""A small demo chain, synced to a warehouse once per test run, for the analyses to read."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from regulars.analytics.warehouse import sync_warehouse
from regulars.db import make_engine, make_sessionmaker, upgrade_database
from regulars.demo.generator import generate
from regulars.demo.writers import write_database

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DEMO_UNTIL = date(2026, 11, 1)


@dataclass(frozen=True)
class DemoWarehouse:
    folder: Path  # the synced Parquet warehouse
    database_url: str  # the operational SQLite database it came from (with demo truth)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> DemoWarehouse:
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    chain = generate(members=800, months=9, seed=3, stores=4, until=DEMO_UNTIL)
    write_database(
        make_sessionmaker(engine),
        chain,
        seed=3,
        now=datetime(2026, 11, 1, tzinfo=UTC),
        progress=lambda name, done: None,
    )
    sync_warehouse(engine, folder / "warehouse")
    return DemoWarehouse(folder / "warehouse", url)
