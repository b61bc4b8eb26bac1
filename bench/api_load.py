"""Load on the till's HTTP endpoint, with a bare peer measured by the same client.

Starts `regulars serve` on 127.0.0.1 over a fresh demo database (points, tiers, coupons
from the demo) and commits sales to POST /v1/receipts with an Idempotency-Key each, as
tills do: seven in ten by members, of which about one in ten hands over a coupon the
member holds and one in ten pays part with points. Two measures:

- saturation: `--clients` tills send back to back for `--seconds`: committed receipts/s;
- open loop: sales arrive at each of `--rates` a second: p50/p95/p99 latency, answers.

Peer in the same run: bench/peer_till.py, a bare FastAPI endpoint that parses the same body
and writes the same rows with sqlite3, served by the same uvicorn, on a copy of the same
database. The client is a minimal keep-alive HTTP/1.1 client, so it is not the bottleneck.
Run: .venv/bin/python bench/api_load.py [--database sqlite|postgresql://…] [--rates 50,500]
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from regulars.demo.generator import generate

ROOT = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole response."""

    def __init__(self, port: int) -> None:
        self.port = port

    @classmethod
    async def open(cls, port: int) -> "Connection":
        connection = cls(port)
        connection.reader, connection.writer = await asyncio.open_connection("127.0.0.1", port)
        return connection

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n".encode()
            + body
        )
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:  # the server closed the connection while it sat idle: again,
            self.close()  # with the same Idempotency-Key, so the sale counts once
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(request)
            status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def sale_bodies(url: str, count: int, seed: int) -> list[bytes]:
    """Demo carts at store S001, members and their coupons and points in realistic shares."""
    engine = create_engine(url)
    with engine.connect() as db:
        cards = [row[0] for row in db.execute(text("SELECT card_number FROM member"))]
        coupons = list(
            db.execute(
                text(
                    "SELECT m.card_number, c.code FROM coupon c JOIN member m ON m.id = c.member_id"
                    " WHERE c.status = 'issued'"
                )
            )
        )
        rich = [
            row[0]
            for row in db.execute(
                text(
                    "SELECT m.card_number FROM member m JOIN point_lot l ON l.member_id = m.id "
                    "GROUP BY m.card_number HAVING sum(l.remaining) >= 2000"
                )
            )
        ]
    engine.dispose()
    rng = random.Random(seed)
    chain = generate(members=300, months=2, seed=seed, stores=8, until=datetime.now(UTC).date())
    s, skus = chain.sales, chain.products.sku
    bodies, line = [], 0
    for index in range(count):
        lines = []
        while line < len(s.line_receipt) and s.line_receipt[line] == index % s.line_receipt[-1]:
            quantity = s.line_quantity_milli[line] / 1000
            lines.append({"sku": skus[s.line_product[line]], "quantity": f"{quantity:.3f}"})
            line += 1
        sale: dict[str, object] = {
            "store_code": "S001",
            "pos_receipt_no": f"L{seed}-{index}",
            "sold_at": datetime.now(UTC).isoformat(),
            "lines": lines or [{"sku": skus[0], "quantity": "1"}],
        }
        draw = rng.random()
        if draw < 0.07 and coupons:
            sale["member_card"], code = coupons.pop()
            sale["coupons"] = [code]
        elif draw < 0.14 and rich:
            sale["member_card"] = rng.choice(rich)
            sale["redeem_points"] = 100
        elif draw < 0.7:
            sale["member_card"] = rng.choice(cards)
        bodies.append(json.dumps(sale).encode())
    return bodies


def start_server(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the server did not start")


async def saturate(port: int, bodies: list[bytes], key: str, clients: int, seconds: float):  # type: ignore[no-untyped-def]
    queue = iter(enumerate(bodies))
    statuses: Counter[int] = Counter()
    deadline = time.perf_counter() + seconds

    async def till() -> None:
        connection = await Connection.open(port)
        for n, body in queue:
            if time.perf_counter() > deadline:
                break
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"k{n}"}
            statuses[await connection.post("/v1/receipts", body, headers)] += 1
        connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(till() for _ in range(clients)))
    return statuses[201] / (time.perf_counter() - began), statuses


async def open_loop(port: int, bodies: list[bytes], key: str, rate: int, seconds: float):  # type: ignore[no-untyped-def]
    idle: list[Connection] = []
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def one(n: int, body: bytes) -> None:
        connection = idle.pop() if idle else await Connection.open(port)
        began = time.perf_counter()
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"r{rate}-{n}"}
        statuses[await connection.post("/v1/receipts", body, headers)] += 1
        latencies.append(time.perf_counter() - began)
        idle.append(connection)

    tasks = []
    began = time.perf_counter()
    for n, body in enumerate(bodies[: int(rate * seconds)]):
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, body)))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.close()
    q = statistics.quantiles(latencies, n=100)
    return q[49] * 1000, q[94] * 1000, q[98] * 1000, statuses


def measure(name: str, server: Callable[[], subprocess.Popen[bytes]], port: int, bodies, key, args):  # type: ignore[no-untyped-def]
    process = server()
    try:
        half = len(bodies) // 2
        rate, statuses = asyncio.run(saturate(port, bodies[:half], key, args.clients, args.seconds))
        print(
            f"{name}: saturated by {args.clients} tills: {rate:,.0f} receipts/s "
            f"(answers {dict(statuses)})"
        )
        left = bodies[half:]
        for offered in (int(r) for r in args.rates.split(",")):
            p50, p95, p99, statuses = asyncio.run(open_loop(port, left, key, offered, args.seconds))
            left = left[int(offered * args.seconds) :]
            print(
                f"{name}: at {offered}/s offered: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                f"p99 {p99:.1f} ms (answers {dict(statuses)})",
                flush=True,
            )
        return rate
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--rates", default="50,500", help="open-loop rates, comma-separated")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1, help="server processes, both servers")
    args = parser.parse_args()
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
    run([regulars, "demo", "generate", "--members", "300", "--months", "2", "--stores", "8"], env)
    key = run([regulars, "keys", "create", "--role", "pos", "--store", "S001"], env)
    key = next(line for line in key.splitlines() if line.startswith("rgl_"))
    rates = [int(r) for r in args.rates.split(",")]
    wanted = int((3000 + sum(rates)) * args.seconds * 2)
    bodies = sale_bodies(url, wanted, seed=5)
    port = free_port()
    workers = ["--workers", str(args.workers)]
    serve = [regulars, "serve", "--host", "127.0.0.1", "--port", str(port), *workers]
    ours = measure("regulars", lambda: start_server(serve, env, port), port, bodies, key, args)
    if args.database != "sqlite":
        return
    shutil.copy(f"{folder}/load.db", f"{folder}/peer.db")
    peer_env = {**env, "REGULARS_DATABASE_URL": f"sqlite:///{folder}/peer.db"}
    uvicorn = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT), "peer_till:app"]
    peer_serve = [*uvicorn, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    peer_serve += workers
    peer_bodies = [b.replace(b'"L5-', b'"P5-') for b in bodies]
    peer = measure(
        "bare peer", lambda: start_server(peer_serve, peer_env, port), port, peer_bodies, key, args
    )
    print(f"ratio regulars / bare peer: {ours / peer:.2f}")


if __name__ == "__main__":
    main()
