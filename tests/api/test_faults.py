"""Faults at the till: a killed server, a locked database.

A server killed in the middle of a rush of sales loses none and records none twice:
`regulars serve` runs as a child process on 127.0.0.1 and is killed with SIGKILL while
tills are selling; the tills then retry every sale with its Idempotency-Key against a
restarted server. Bounded: 160 sales, each request with a 30-second timeout.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.api.conftest import Api, make_api
from tests.conftest import Database
from tests.factories import NOW

SALES = 160
KILL_AFTER = 40  # answered sales before the kill


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(api: Api, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {
        **os.environ,
        "REGULARS_DATABASE_URL": api.database.url,
        "REGULARS_ENVIRONMENT": "test",
        "REGULARS_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
    }
    command = [Path(sys.executable).parent / "regulars", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, process
    finally:
        process.kill()
        process.wait(timeout=10)


def _sale(api: Api, n: int) -> dict[str, object]:
    return {
        "store_code": "S001",
        "member_card": api.card if n % 3 else None,
        "pos_receipt_no": f"K-{n}",
        "sold_at": NOW.isoformat(),
        "lines": [{"sku": "RICE", "quantity": "1"}, {"sku": "EGGS", "quantity": str(n % 4 + 1)}],
    }


async def _sell(
    url: str, api: Api, numbers: list[int], kill: subprocess.Popen[bytes] | None = None
) -> dict[int, httpx.Response]:
    """Send the sales 16 at a time; with `kill`, kill the server after KILL_AFTER answers."""
    answered: dict[int, httpx.Response] = {}
    gate = asyncio.Semaphore(16)

    async def one(client: httpx.AsyncClient, n: int) -> None:
        async with gate:
            try:
                response = await client.post(
                    "/v1/receipts", json=_sale(api, n), headers={"Idempotency-Key": f"sale-{n}"}
                )
            except httpx.TransportError:
                return  # the till never heard back
            answered[n] = response
            if kill is not None and len(answered) == KILL_AFTER:
                kill.send_signal(signal.SIGKILL)

    async with httpx.AsyncClient(base_url=url, headers=api.as_("pos"), timeout=30) as client:
        await asyncio.gather(*(one(client, n) for n in numbers))
    return answered


def test_every_sale_is_recorded_exactly_once_across_a_kill(api: Api, tmp_path: Path) -> None:
    numbers = list(range(SALES))
    with serving(api, tmp_path) as (url, process):
        before = asyncio.run(_sell(url, api, numbers, kill=process))
        process.wait(timeout=10)
    assert KILL_AFTER <= len(before) < SALES  # the kill came in the middle
    assert {r.status_code for r in before.values()} == {201}

    with serving(api, tmp_path) as (url, _):
        after = asyncio.run(_sell(url, api, numbers))
    assert sorted(after) == numbers
    for n, response in after.items():
        assert response.status_code in (200, 201), response.text
        if n in before:  # answered before the kill: the same answer again
            assert response.headers["Idempotent-Replayed"] == "true"
            assert response.json() == before[n].json()

    with api.database.sessions() as session:
        counts = session.execute(
            text("select pos_receipt_no, count(*) from receipt group by pos_receipt_no")
        ).all()
    assert sorted(counts) == sorted((f"K-{n}", 1) for n in numbers)
    balance = api.client.get(f"/v1/members/{api.member_id}/points", headers=api.as_("admin"))
    assert balance.json()["total"] == sum(r.json()["points_earned"] for r in after.values())


def test_a_locked_database_answers_503_with_retry_after_and_then_works(
    database: Database, tmp_path: Path
) -> None:
    api = make_api(database, tmp_path, database_wait_seconds=0.5)
    sale = _sale(api, 1)
    with database.engine.connect() as blocker:
        if database.engine.dialect.name == "sqlite":
            blocker.execute(text("select 1"))  # begins immediately: holds the write lock
        else:
            blocker.execute(text("lock table receipt in exclusive mode"))
        refused = api.client.post("/v1/receipts", json=sale, headers=api.as_("pos"))
        blocker.rollback()
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["code"] == "database_busy"
    assert api.client.post("/v1/receipts", json=sale, headers=api.as_("pos")).status_code == 201
