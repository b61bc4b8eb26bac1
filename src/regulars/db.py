"""Engine, sessions and the column types every feature shares.

A use case runs in one transaction opened by its caller: `session_scope` commits or rolls
back, and retries the whole use case when PostgreSQL reports a serialization conflict or
SQLite reports a busy database.
"""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote, unquote

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Enum,
    Insert,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from regulars.errors import Contention, DatabaseNotReady, InvalidInput

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table(model: type[Base]) -> Table:
    """The model's table, for Core statements: they run without the ORM's work per call."""
    return cast(Table, model.__table__)


def conflict_insert(dialect: str, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, in the words of `dialect` (both speak the same)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table(model))


def bulk_insert(model: type[Base]) -> Insert:
    """A Core insert for many rows: one executemany, without the ORM's work per row."""
    return insert(table(model))


class ScaledDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as an integer count of 10**-scale units.

    SQLite has no exact decimal type; integers are exact on both databases and fast for
    analytics. Binding a value with more places than the scale is an error, never a silent
    rounding.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.scale)
        if scaled != scaled.to_integral_value():
            raise InvalidInput(f"{value} has more than {self.scale} decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).scaleb(-self.scale)


def TextEnum(kind: type[StrEnum]) -> Enum:  # noqa: N802 - reads as a column type
    """An enum stored as its plain values ('store', 'online'), readable in SQL and analytics."""
    return Enum(
        kind,
        native_enum=False,
        length=max(len(member.value) for member in kind),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def Money() -> ScaledDecimal:  # noqa: N802 - reads as a column type
    return ScaledDecimal(2)


def Quantity() -> ScaledDecimal:  # noqa: N802 - weighed goods are sold to the gram
    return ScaledDecimal(3)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite which forgets the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(wait: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is switched off so that
        # `_sqlite_begin_immediate` decides how every transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # what is deleted is overwritten with zeros
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        cursor.close()

    return on_connect


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN so two writers queue on busy_timeout instead of
    # failing later with "database is locked" when one upgrades a read lock. Work that
    # only reads (an engine with the `read_only` option) runs beside the writers instead.
    read_only = conn.get_execution_options().get("read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str, *, connections: int | None = None, wait: float = 30) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and immediate write transactions.

    With `connections` the pool holds exactly that many and a caller waits at most `wait`
    seconds for one (or for SQLite's write lock) before `DatabaseBusy`-like errors: the
    server admits as many requests as it has connections, so none waits for long.
    """
    parsed = make_url(url)
    pool: dict[str, Any] = (
        {}
        if connections is None
        else {"pool_size": connections, "max_overflow": 0, "pool_timeout": wait}
    )
    if parsed.get_backend_name() == "sqlite":
        file = _sqlite_file(parsed)
        if file is not None:  # opened read-write, never created: that is `db upgrade`'s job
            uri = f"file:{quote(str(file))}?mode=rw"
            parsed = parsed.set(database=uri, query={**parsed.query, "uri": "true"})
        engine = create_engine(parsed, connect_args={"timeout": wait}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas(wait))
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if connections is None:
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    waits = f"-c lock_timeout={int(wait * 1000)}"  # a row or table lock held too long
    return create_engine(parsed, pool_pre_ping=True, connect_args={"options": waits}, **pool)


def write_back_log(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database file and empty it, so the earlier
    versions of changed rows (an erased member's) are gone from disk, not only unreachable.
    Waits for readers up to the busy timeout; PostgreSQL needs nothing here."""
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()
    try:
        connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    finally:
        connection.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions on `engine`, with every feature's tables known: a foreign key from one
    feature's table to another's resolves even in a process that imported only one."""
    import regulars.tables  # noqa: F401, PLC0415 - the features' models import this module

    return sessionmaker(engine, expire_on_commit=False)


T = TypeVar("T")

_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock


def is_conflict(exc: Exception) -> bool:
    """A PostgreSQL serialization failure or deadlock: the work may simply run again."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _RETRYABLE_SQLSTATES


def _is_retryable(exc: OperationalError) -> bool:
    return is_conflict(exc) or "database is locked" in str(exc.orig)


def run_in_transaction(
    sessions: sessionmaker[Session], use_case: Callable[[Session], T], *, attempts: int = 5
) -> T:
    """Run `use_case` in one transaction; commit on success, run it again after a lost race."""
    for attempt in range(1, attempts + 1):
        with sessions() as session:
            try:
                result = use_case(session)
                session.commit()
                return result
            except OperationalError as exc:
                session.rollback()
                if attempt == attempts or not _is_retryable(exc):
                    raise
            except Contention:
                session.rollback()
                if attempt == attempts:
                    raise
            except BaseException:
                session.rollback()
                raise
    raise AssertionError("unreachable")


@contextmanager
def session_scope(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction for a block of work that needs no retry (reads, CLI one-offs)."""
    with sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


REQUIRED_TABLE = "alembic_version"


def ensure_migrated(engine: Engine) -> None:
    """Refuse to work on a database that `regulars db upgrade` has not prepared."""
    file = _sqlite_file(engine.url)
    if file is not None and not file.exists():
        raise DatabaseNotReady(
            f"there is no database at {file}; `regulars db upgrade` creates it "
            "(or set REGULARS_DATABASE_URL to the one you meant)"
        )
    try:
        present = inspect(engine).has_table(REQUIRED_TABLE)
    except OperationalError as exc:
        raise DatabaseNotReady(f"cannot open the database: {exc.orig}") from exc
    where = file or engine.url.render_as_string(hide_password=True)
    if not present:
        raise DatabaseNotReady(
            f"the database at {where} is not migrated; run `regulars db upgrade` first"
        )
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        current = connection.execute(text(f"SELECT version_num FROM {REQUIRED_TABLE}")).scalar()
    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    if current != head:
        raise DatabaseNotReady(
            f"the database at {where} is at migration {current}, this version needs {head}; "
            "run `regulars db upgrade` first"
        )


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite database, None for one in memory or another database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    assert url.database is not None
    if url.database.startswith("file:"):  # as make_engine opens it
        return Path(unquote(url.database.removeprefix("file:").partition("?")[0]))
    return Path(url.database).absolute()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision`; a SQLite database is created here, only."""
    from alembic import command

    file = _sqlite_file(engine.url)
    if file is not None and not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(file).close()
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    except OperationalError as exc:
        raise DatabaseNotReady(f"cannot open the database: {exc.orig}") from exc


def new_migration(engine: Engine, message: str) -> None:
    """Write a migration for the difference between the tables and the database."""
    from alembic import command

    with engine.begin() as connection:
        command.revision(_alembic_config(connection), message=message, autogenerate=True)
