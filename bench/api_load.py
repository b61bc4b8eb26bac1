"""Load on the HTTP API: quote + commit of demo carts at rising rates, from this process.

Starts `regulars serve` on 127.0.0.1 (a free port) over a fresh demo database, creates a
till key, then for each target rate sends sales open-loop for a few seconds and reports
the committed receipts/s and the p50/p95/p99 latency of a quote+commit pair. Bounded: at
most `--seconds` per rate, and the server is stopped at the end.
Peer in the same run: GET /health, the floor of the server and client themselves.
Run: .venv/bin/python bench/api_load.py [--database sqlite|postgresql-url] [--rates 25,50,100]
     [--workers N]
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from regulars.demo.generator import generate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout


def carts(count: int) -> list[dict[str, object]]:
    chain = generate(members=300, months=2, seed=5, stores=8, until=datetime.now(UTC).date())
    s, skus = chain.sales, chain.products.sku
    made, line = [], 0
    for index in range(count):
        lines = []
        while line < len(s.line_receipt) and s.line_receipt[line] == index:
            quantity = s.line_quantity_milli[line] / 1000
            lines.append({"sku": skus[s.line_product[line]], "quantity": f"{quantity:.3f}"})
            line += 1
        made.append({"store_code": "S001", "lines": lines})
    return made


async def drive(client: httpx.AsyncClient, rate: int, seconds: float, work, start: int):  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0

    async def one(n: int) -> None:
        nonlocal errors
        began = time.perf_counter()
        try:
            ok = await work(client, start + n)
        except httpx.TransportError:  # a timeout counts as a failure, the run goes on
            ok = False
        if ok:
            latencies.append(time.perf_counter() - began)
        else:
            errors += 1

    tasks = []
    began = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, errors


def summary(name: str, rate: int, done: float, latencies: list[float], errors: int) -> str:
    if not latencies:
        return f"{name} at {rate}/s: nothing succeeded ({errors} errors)"
    q = statistics.quantiles(latencies, n=100)
    return (
        f"{name} at {rate:>4}/s: {done:7.1f}/s done, p50 {q[49] * 1000:6.1f} ms, "
        f"p95 {q[94] * 1000:6.1f} ms, p99 {q[98] * 1000:6.1f} ms, errors {errors}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--rates", default="25,50,100,200")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    folder = tempfile.mkdtemp()
    url = f"sqlite:///{folder}/load.db" if args.database == "sqlite" else args.database
    env = {
        **os.environ,
        "REGULARS_DATABASE_URL": url,
        "REGULARS_ENVIRONMENT": "development",
        "REGULARS_SECRET_KEY_FILE": f"{folder}/secret",
        "REGULARS_DATA_KEYS_FILE": f"{folder}/keys.json",
        "REGULARS_RATE_LIMIT_PER_MINUTE": "10000000",
    }
    regulars = str(Path(sys.executable).with_name("regulars"))
    run([regulars, "db", "upgrade"], env)
    run([regulars, "demo", "generate", "--members", "300", "--months", "1", "--stores", "8"], env)
    key = run([regulars, "keys", "create", "--role", "pos", "--store", "S001"], env)
    key = next(line for line in key.splitlines() if line.startswith("rgl_"))
    port = free_port()
    server = subprocess.Popen(
        [
            regulars,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base,
            timeout=30,
            headers={"Authorization": f"Bearer {key}"},
            limits=httpx.Limits(max_connections=200),
        ) as client:
            for _ in range(100):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            pool = carts(sum(int(r * args.seconds) for r in rates) + 10)

            async def health(c: httpx.AsyncClient, n: int) -> bool:
                return (await c.get("/health")).status_code == 200

            async def sale(c: httpx.AsyncClient, n: int) -> bool:
                cart = pool[n % len(pool)]
                quoted = await c.post("/v1/checkout/quote", json=cart)
                sold = await c.post(
                    "/v1/receipts",
                    json={
                        **cart,
                        "pos_receipt_no": f"L{n}",
                        "sold_at": datetime.now(UTC).isoformat(),
                    },
                )
                return quoted.status_code == 200 and sold.status_code == 201

            start = 0
            for rate in rates:
                done, latencies, errors = await drive(client, rate, args.seconds, health, 0)
                print(summary("GET /health   ", rate, done, latencies, errors), flush=True)
                done, latencies, errors = await drive(client, rate, args.seconds, sale, start)
                start += int(rate * args.seconds)
                print(summary("quote + commit", rate, done, latencies, errors), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    asyncio.run(main())
