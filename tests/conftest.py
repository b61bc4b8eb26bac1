"""Database fixtures: every database test runs on SQLite and on a real PostgreSQL.

`session` is a transaction rolled back after the test; `database` is a brand-new migrated
database for tests that commit (imports, concurrency, the CLI), copied from a template.
"""

import base64
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from regulars.db import make_engine, make_sessionmaker, upgrade_database
from tests.postgres_server import postgres_cluster

BACKENDS = ["sqlite", "postgresql"]

# Fixed, test-only data keys: personal data is sealed the same way in every run.
os.environ.setdefault(
    "REGULARS_DATA_KEYS",
    json.dumps(
        {
            "current": "k1",
            "keys": {"k1": base64.b64encode(b"k" * 32).decode()},
            "index_key": base64.b64encode(b"i" * 32).decode(),
        }
    ),
)
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    external = os.environ.get("REGULARS_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    with postgres_cluster() as url:
        yield url


class Template:
    """A migrated database of one backend, and a way to get fresh copies of it."""

    def __init__(self, backend: str, tmp: Path, postgres_url: str | None) -> None:
        self.backend = backend
        self.tmp = tmp
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'template.db'}"
        else:
            assert postgres_url is not None
            admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text("DROP DATABASE IF EXISTS regulars_template"))
                connection.execute(text("CREATE DATABASE regulars_template"))
            admin.dispose()
            self.admin_url = postgres_url
            self.url = (
                make_url(postgres_url).set(database="regulars_template").render_as_string(False)
            )
        self.engine = make_engine(self.url)
        upgrade_database(self.engine)

    def empty(self) -> str:
        """A database with no tables at all, for tests of the migrations themselves."""
        name = f"regulars_empty_{next(_counter)}"
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / name}.db"
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        return make_url(self.admin_url).set(database=name).render_as_string(False)

    def copy(self) -> str:
        name = f"regulars_{next(_counter)}"
        if self.backend == "sqlite":
            self.engine.dispose()
            target = self.tmp / f"{name}.db"
            shutil.copyfile(self.tmp / "template.db", target)
            return f"sqlite:///{target}"
        self.engine.dispose()
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE regulars_template"))
        admin.dispose()
        return make_url(self.admin_url).set(database=name).render_as_string(False)


@pytest.fixture(scope="session", params=BACKENDS)
def template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Template:
    pg = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Template(request.param, tmp_path_factory.mktemp(request.param), pg)


@pytest.fixture
def session(template: Template) -> Iterator[Session]:
    """A session whose work is rolled back when the test ends."""
    with template.engine.connect() as connection:
        outer = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as db_session:
            yield db_session
        outer.rollback()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)


@pytest.fixture
def database(template: Template) -> Iterator[Database]:
    """A brand-new migrated database of its own; what the test commits stays in it."""
    db = Database(template.copy())
    yield db
    db.engine.dispose()
