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

from tests.api.conftest import Api
from tests.factories import NOW

TILLS = 24


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


def test_many_tills_quote_and_sell_at_once_without_stalling(api: Api, server: str) -> None:
    cart = {"store_code": "S001", "lines": [{"sku": "RICE", "quantity": "1"}]}

    async def till(client: httpx.AsyncClient, n: int) -> tuple[int, int]:
        quoted = await client.post("/v1/checkout/quote", json=cart)
        sale = {**cart, "pos_receipt_no": f"T-{n}", "sold_at": NOW.isoformat()}
        sold = await client.post("/v1/receipts", json=sale)
        return quoted.status_code, sold.status_code

    async def all_tills() -> list[tuple[int, int]]:
        async with httpx.AsyncClient(base_url=server, headers=api.as_("pos"), timeout=20) as c:
            return await asyncio.gather(*(till(c, n) for n in range(TILLS)))

    assert asyncio.run(all_tills()) == [(200, 201)] * TILLS
