"""A throw-away PostgreSQL cluster from the machine's own binaries, on loopback only."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server binaries")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> dict[str, object]:
    """PostgreSQL refuses to run as root; drop to its own account (or nobody) when we are root."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": account.pw_uid, "group": account.pw_gid}
    raise RuntimeError("running as root and no unprivileged account to run PostgreSQL")


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Yield the URL of a fresh cluster's `postgres` database; stop and remove it afterwards."""
    account = _run_as()
    # Its own folder directly under the temp dir: the server's account must reach it.
    base = Path(tempfile.mkdtemp(prefix="regulars-pg-"))
    data = base / "data"
    if account:
        os.chmod(base, 0o700)
        os.chown(base, account["user"], account["group"])  # type: ignore[arg-type]
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True, **account}
    subprocess.run(
        [
            _bin("initdb"),
            "-D",
            str(data),
            "-U",
            "regulars",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ],
        **quiet,
    )  # type: ignore[call-overload]
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=200"
    subprocess.run(
        [
            _bin("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        **quiet,
    )  # type: ignore[call-overload]
    try:
        yield f"postgresql+psycopg://regulars@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            **{**quiet, "check": False},
        )  # type: ignore[call-overload]
        shutil.rmtree(base, ignore_errors=True)
