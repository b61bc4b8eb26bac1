"""The real server under concurrent tills: quotes and sales never wait on each other for long.

A uvicorn server on 127.0.0.1 (a free port), started and stopped by the test; a bounded
number of requests, each with a bounded timeout.
"""

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import event

from tests.api.conftest import Api
from tests.factories import NOW

TILLS = 64


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(api: Api) -> Iterator[str]:
    port = _free_port()
    app = api.client.app
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(100):
        if running.started:
            break
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def test_64_tills_selling_to_members_at_once_get_no_server_error(api: Api, server: str) -> None:
    """Each request holds one connection, and the pool has one for each request admitted."""

    async def till(client: httpx.AsyncClient, n: int) -> tuple[int, int, int]:
        cart = {
            "store_code": "S001",
            "member_card": api.card if n % 2 else None,
            "lines": [
                {"sku": "RICE", "quantity": "1"},
                {"sku": "EGGS", "quantity": str(n % 3 + 1)},
            ],
        }
        quoted = await client.post("/v1/checkout/quote", json=cart)
        sale = {**cart, "pos_receipt_no": f"T-{n}", "sold_at": NOW.isoformat()}
        sold = await client.post("/v1/receipts", json=sale, headers={"Idempotency-Key": f"k{n}"})
        return quoted.status_code, sold.status_code, sold.json().get("points_earned", 0)

    async def all_tills() -> list[tuple[int, int, int]]:
        async with httpx.AsyncClient(base_url=server, headers=api.as_("pos"), timeout=60) as c:
            return await asyncio.gather(*(till(c, n) for n in range(TILLS)))

    engine = api.client.app.state.sessions.kw["bind"]  # type: ignore[attr-defined]
    held, peak = [0], [0]

    def checked_out(*_: object) -> None:
        held[0] += 1
        peak[0] = max(peak[0], held[0])

    def checked_in(*_: object) -> None:
        held[0] -= 1

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)
    answers = asyncio.run(all_tills())
    assert peak[0] <= api.client.app.state.settings.max_concurrent_requests  # type: ignore[attr-defined]
    assert [(quoted, sold) for quoted, sold, _ in answers] == [(200, 201)] * TILLS
    balance = api.client.get(f"/v1/members/{api.member_id}/points", headers=api.as_("admin"))
    assert balance.json()["total"] == sum(points for _, _, points in answers) > 0
