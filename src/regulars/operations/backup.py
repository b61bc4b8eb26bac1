"""Backups of the operational database and their restore.

SQLite is copied page by page with its online backup API, so the server may keep selling
while it runs; PostgreSQL is dumped with `pg_dump` in its custom format and restored with
`pg_restore`. A restore replaces everything in the target database.
"""

import glob
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from regulars.errors import DatabaseNotReady, InvalidInput


def backup(database_url: str, target: Path) -> None:
    """Write a consistent copy of the database to `target`."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_file(database_url)
        if not source.exists():
            raise DatabaseNotReady(f"there is no database at {source}")
        _copy_sqlite(source, target)
        return
    _postgres_tool("pg_dump", database_url, "--format=custom", "--no-owner", f"--file={target}")


def restore(database_url: str, source: Path) -> None:
    """Replace the database's content with the backup in `source`."""
    if not source.is_file():
        raise InvalidInput(f"there is no backup at {source}", field="file")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        target = _sqlite_file(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(source, target)
        return
    replace = ("--clean", "--if-exists", "--no-owner", "--single-transaction")
    _postgres_tool("pg_restore", database_url, *replace, str(source))


def _copy_sqlite(source: Path, target: Path) -> None:
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as reading:
            writing = sqlite3.connect(target)
            try:
                reading.backup(writing)
            finally:
                writing.close()
    except sqlite3.DatabaseError as error:
        raise InvalidInput(f"{source} is not a SQLite database: {error}", field="file") from error


def _sqlite_file(database_url: str) -> Path:
    database = make_url(database_url).database
    assert database, "a SQLite database in a file"
    return Path(database).absolute()


def _postgres_tool(name: str, database_url: str, *arguments: str) -> None:
    """Run pg_dump or pg_restore on the database, named in the form libpq reads."""
    url = make_url(database_url).set(drivername="postgresql")
    libpq = url.render_as_string(hide_password=False)
    program = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if program is None:
        raise DatabaseNotReady(f"{name} is not installed; PostgreSQL's client tools are needed")
    done = subprocess.run(
        [program, f"--dbname={libpq}", *arguments], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        cause = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        raise DatabaseNotReady(f"{name} failed: {cause}")
