"""The whole analytics pipeline on a big generated chain: warehouse sync, then every analysis.

Ours: `sync_warehouse` from the SQLite operational database into an empty folder, then
`open_warehouse` and `analyse` (RFM, CLV fit and scoring, churn, shopper types and clusters,
cohorts and KPIs), each step timed, with the peak memory of the process. The requirement:
1,000,000 members and 20,000,000 lines in under 5 minutes and 6 GB.

Peers in the same run, over the same data: DuckDB's bare per-member aggregate of the
Parquet lines (receipts, spend, last purchase: the floor of any analysis), and the bare
`sqlite3` read of the rows the sync copies (the floor of any sync).

The operational database is built once and kept (`--reuse` times it again): stores, the
catalogue, the program and the members go through the services (`write_database` with the
sales left out); receipts, lines and refunds are bulk-inserted with the very values
`record_receipts` and `refund_receipt` would write (`--verify` checks that on a small chain).
With this generator a member brings about 19 lines a month, so 1,000,000 members and
20,000,000 lines is one month of history; `--lines-target` trims the oldest receipts.
Run: .venv/bin/python bench/pipeline.py [--members 1000000] [--months 1] [--reuse]
     .venv/bin/python bench/pipeline.py --verify   # loader == services, on 3,000 members
"""

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
from numpy.typing import NDArray

from regulars.analytics.pipeline import analyse
from regulars.analytics.warehouse import open_warehouse, sync_warehouse
from regulars.db import make_engine, make_sessionmaker, upgrade_database
from regulars.demo.generator import PAYMENTS, DemoChain, DemoSales, generate
from regulars.demo.writers import card_numbers, write_database
from regulars.sales.rules import fingerprint

UNTIL = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
CHUNK = 250_000  # receipts per bulk insert
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.000000"  # how SQLAlchemy keeps a UTC datetime in SQLite


class Memory:
    """Samples the resident set size, keeping the peak of each phase."""

    def __init__(self) -> None:
        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.note()

    def note(self) -> None:
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), self.rss())

    def enter(self, phase: str) -> None:
        self.note()
        self.phase = phase

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.note()


def gb(size: float) -> str:
    return f"{size / 2**30:.2f} GB"


@cache
def plain(units: int, scale: int) -> str:
    """The fingerprint's spelling of a number, as the sales service writes it."""
    return format(Decimal(units).scaleb(-scale).normalize(), "f")


def trimmed(chain: DemoChain, lines: int | None) -> DemoChain:
    """The chain with its oldest receipts dropped so that at most `lines` lines are left."""
    s = chain.sales
    if lines is None or lines >= len(s.line_receipt):
        return chain
    first = int(s.line_receipt[len(s.line_receipt) - lines])
    first += int(s.line_receipt[len(s.line_receipt) - lines - 1] == first)  # whole receipts
    keep_lines = s.line_receipt >= first
    keep_refunds = s.refund_receipt >= first
    return replace(
        chain,
        sales=replace(
            s,
            member=s.member[first:],
            store=s.store[first:],
            sold_at=s.sold_at[first:],
            payment=s.payment[first:],
            pos_receipt_no=s.pos_receipt_no[first:],
            line_receipt=s.line_receipt[keep_lines] - first,
            line_product=s.line_product[keep_lines],
            line_quantity_milli=s.line_quantity_milli[keep_lines],
            line_unit_price_cents=s.line_unit_price_cents[keep_lines],
            line_discount_cents=s.line_discount_cents[keep_lines],
            refund_receipt=s.refund_receipt[keep_refunds] - first,
            refund_line_no=s.refund_line_no[keep_refunds],
            refund_after_hours=s.refund_after_hours[keep_refunds],
        ),
    )


def without_sales(chain: DemoChain) -> DemoChain:
    s = chain.sales
    return replace(chain, sales=DemoSales(**{f.name: getattr(s, f.name)[:0] for f in fields(s)}))


def times(moments: NDArray[np.datetime64], form: str) -> list[str]:
    return [
        datetime.fromtimestamp(int(t), UTC).strftime(form)
        for t in moments.astype("datetime64[s]").astype(np.int64)
    ]


def receipt_rows(
    chain: DemoChain, cards: list[str], ids: dict[str, dict[str, int]], begin: int, end: int
) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    """Receipt and line rows of receipts [begin, end), as `record_receipts` would write them."""
    s, p = chain.sales, chain.products
    store_ids = np.array([ids["store"][code] for code in chain.stores.code])
    channels = [ids["channel"][code] for code in chain.stores.code]
    product_ids = np.array([ids["product"][sku] for sku in p.sku])
    member_ids = np.array([ids["member"][card] for card in cards] + [0])  # -1: anonymous
    bounds = np.searchsorted(s.line_receipt, np.arange(len(s.member) + 1))
    for start in range(begin, end, CHUNK):
        stop = min(start + CHUNK, end)
        lo, hi = int(bounds[start]), int(bounds[stop])
        quantity = s.line_quantity_milli[lo:hi]
        price = s.line_unit_price_cents[lo:hi]
        discount = s.line_discount_cents[lo:hi]
        amount = (quantity * price + 500) // 1000 - discount  # round half up, less discount
        starts = bounds[start:stop] - lo
        totals = np.add.reduceat(amount, starts)
        discounts = np.add.reduceat(discount, starts)
        line_no = np.arange(hi - lo) - np.repeat(starts, np.diff(bounds[start : stop + 1])) + 1
        skus = [p.sku[i] for i in s.line_product[lo:hi].tolist()]
        spelled = [
            [sku, plain(q, 3), plain(u, 2), plain(d, 2)]
            for sku, q, u, d in zip(
                skus, quantity.tolist(), price.tolist(), discount.tolist(), strict=True
            )
        ]
        stored = times(s.sold_at[start:stop], SQLITE_TIME)
        iso = times(s.sold_at[start:stop], "%Y-%m-%dT%H:%M:%S+00:00")
        receipts: list[tuple[object, ...]] = []
        for k, index in enumerate(range(start, stop)):
            store, member = int(s.store[index]), int(s.member[index])
            payment = PAYMENTS[s.payment[index]]
            content = {
                "store": chain.stores.code[store],
                "pos_receipt_no": s.pos_receipt_no[index],
                "sold_at": iso[k],
                "channel": channels[store],
                "member_card": cards[member] if member >= 0 else None,
                "payment_method": payment,
                "lines": spelled[starts[k] : (starts[k + 1] if k + 1 < len(starts) else None)],
            }
            receipts.append(
                (
                    index + 1,
                    int(store_ids[store]),
                    s.pos_receipt_no[index],
                    channels[store],
                    stored[k],
                    int(member_ids[member]) if member >= 0 else None,
                    payment,
                    int(totals[k]),
                    int(discounts[k]),
                    fingerprint(content),
                    NOW.strftime(SQLITE_TIME),
                )
            )
        line_rows: list[tuple[object, ...]] = list(
            zip(
                range(lo + 1, hi + 1),
                (s.line_receipt[lo:hi] + 1).tolist(),
                line_no.tolist(),
                product_ids[s.line_product[lo:hi]].tolist(),
                quantity.tolist(),
                price.tolist(),
                discount.tolist(),
                amount.tolist(),
                strict=True,
            )
        )
        yield receipts, line_rows


def refund_rows(chain: DemoChain) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Whole-line refunds as `refund_receipt` writes them for the demo's returns."""
    s = chain.sales
    refunds: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []
    line_ids = np.searchsorted(s.line_receipt, s.refund_receipt) + s.refund_line_no  # 1-based
    for number, (receipt, line_no, hours, line_id) in enumerate(
        zip(s.refund_receipt, s.refund_line_no, s.refund_after_hours, line_ids, strict=True),
        start=1,
    ):
        sold = datetime.fromtimestamp(
            int(s.sold_at[receipt].astype("datetime64[s]").astype(int)), UTC
        )
        refunded_at = min(sold + timedelta(hours=int(hours)), NOW)
        quantity = int(s.line_quantity_milli[line_id - 1])
        amount = (quantity * int(s.line_unit_price_cents[line_id - 1]) + 500) // 1000 - int(
            s.line_discount_cents[line_id - 1]
        )
        content = {
            "pos_refund_no": f"R{receipt + 1}",
            "lines": [(int(line_no), plain(quantity, 3))],
            "reason": "customer return",
        }
        refunds.append(
            (
                number,
                int(receipt) + 1,
                f"R{receipt + 1}",
                refunded_at.strftime(SQLITE_TIME),
                amount,
                "customer return",
                fingerprint(content),
            )
        )
        lines.append((number, number, int(line_id), quantity, amount))
    return refunds, lines


def build(path: Path, chain: DemoChain, seed: int) -> dict[str, float]:
    """A migrated Regulars database holding the chain; returns seconds per phase."""
    spent: dict[str, float] = {}
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    write_database(
        make_sessionmaker(engine),
        without_sales(chain),
        seed=seed,
        now=NOW,
        progress=lambda *_: None,
    )
    engine.dispose()
    spent["stores, catalogue, program, members (services)"] = time.perf_counter() - started
    started = time.perf_counter()
    cards = card_numbers(chain, seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    ids = {
        "store": dict(db.execute("SELECT code, id FROM store").fetchall()),
        "channel": dict(db.execute("SELECT code, channel FROM store").fetchall()),
        "product": dict(db.execute("SELECT sku, id FROM product").fetchall()),
        "member": dict(db.execute("SELECT card_number, id FROM member").fetchall()),
    }
    for receipts, lines in receipt_rows(chain, cards, ids, 0, len(chain.sales.member)):
        db.executemany(
            """INSERT INTO receipt (id, store_id, pos_receipt_no, channel, sold_at, member_id,
               payment_method, total_amount, discount_amount, fingerprint, recorded_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            receipts,
        )
        db.executemany(
            """INSERT INTO receipt_line (id, receipt_id, line_no, product_id, quantity,
               unit_price, line_discount, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            lines,
        )
        db.commit()
    refunds, refund_lines = refund_rows(chain)
    db.executemany(
        """INSERT INTO refund (id, receipt_id, pos_refund_no, refunded_at, amount, reason,
           fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?)""",
        refunds,
    )
    db.executemany(
        """INSERT INTO refund_line (id, refund_id, receipt_line_id, quantity, amount)
           VALUES (?, ?, ?, ?, ?)""",
        refund_lines,
    )
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    spent["receipts, lines, refunds (bulk insert)"] = time.perf_counter() - started
    return spent


SALES_TABLES = ("receipt", "receipt_line", "refund", "refund_line")


def verify(members: int, months: int, seed: int, stores: int) -> None:
    """Build a small chain through the services and through the loader; compare the rows."""
    chain = generate(members=members, months=months, seed=seed, stores=stores, until=UNTIL)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/services.db")
        upgrade_database(engine)
        started = time.perf_counter()
        write_database(
            make_sessionmaker(engine), chain, seed=seed, now=NOW, progress=lambda *_: None
        )
        engine.dispose()
        services = time.perf_counter() - started
        started = time.perf_counter()
        build(Path(folder) / "loader.db", chain, seed)
        loader = time.perf_counter() - started
        a, b = sqlite3.connect(f"{folder}/services.db"), sqlite3.connect(f"{folder}/loader.db")
        for table in SALES_TABLES:
            ours = a.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            theirs = b.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            same = "identical" if ours == theirs else "DIFFERENT"
            print(f"{table:>13}: {len(ours):,} rows through the services, loader {same}")
            if ours != theirs:
                diff = next((x, y) for x, y in zip(ours, theirs, strict=False) if x != y)
                print(f"  first difference: {diff}")
    lines = len(chain.sales.line_product)
    print(f"write_database: {services:.1f} s; services for members + bulk sales: {loader:.1f} s")
    print(f"({lines:,} lines; {lines / services:,.0f} vs {lines / loader:,.0f} lines/s)")


def build_only(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    chain = generate(
        members=args.members, months=args.months, seed=args.seed, stores=args.stores, until=UNTIL
    )
    chain = trimmed(chain, args.lines_target)
    spent = {"generate": time.perf_counter() - started}
    args.db.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    spent |= build(args.db, chain, args.seed)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    facts = {
        "members": args.members,
        "months": args.months,
        "seed": args.seed,
        "stores": args.stores,
        "lines_target": args.lines_target,
        "receipts": len(chain.sales.member),
        "lines": len(chain.sales.line_product),
        "refunds": len(chain.sales.refund_receipt),
        "seconds": spent,
        "peak_bytes": peak,
    }
    Path(f"{args.db}.json").write_text(json.dumps(facts, indent=1))


def sqlite_read(path: Path) -> float:
    """Seconds to read the receipts and the lines (with their receipt's time) with sqlite3."""
    started = time.perf_counter()
    db = sqlite3.connect(path)
    for sql in (
        """SELECT id, store_id, member_id, channel, sold_at, total_amount, discount_amount
           FROM receipt ORDER BY id""",
        """SELECT l.id, l.receipt_id, l.line_no, l.product_id, l.quantity, l.unit_price,
                  l.line_discount, l.amount, r.sold_at
           FROM receipt_line l JOIN receipt r ON r.id = l.receipt_id ORDER BY l.id""",
    ):
        cursor = db.execute(sql)
        while cursor.fetchmany(200_000):
            pass
    db.close()
    return time.perf_counter() - started


def duckdb_floor(warehouse: Path) -> tuple[float, int]:
    """Seconds for DuckDB to sum each member's receipts, spend and last purchase."""
    started = time.perf_counter()
    duck = duckdb.connect()
    [(count,)] = duck.execute(
        f"""SELECT count(*) FROM (
              SELECT r.member_id, count(DISTINCT l.receipt_id), sum(l.amount), max(r.sold_at)
              FROM read_parquet('{warehouse}/lines/*/*.parquet') l
              JOIN read_parquet('{warehouse}/receipts/*/*.parquet') r USING (receipt_id)
              WHERE r.member_id IS NOT NULL GROUP BY r.member_id)"""
    ).fetchall()
    duck.close()
    return time.perf_counter() - started, count


def measure(args: argparse.Namespace) -> None:
    facts = json.loads(Path(f"{args.db}.json").read_text())
    print(
        f"chain: {facts['members']:,} members, {facts['months']} months, "
        f"{facts['receipts']:,} receipts, {facts['lines']:,} lines, {facts['refunds']:,} refunds; "
        f"database {gb(args.db.stat().st_size)} at {args.db}"
    )
    memory = Memory()
    shutil.rmtree(args.warehouse, ignore_errors=True)
    out = Path(tempfile.mkdtemp(prefix="regulars-pipeline-"))
    spent: dict[str, float] = {}
    memory.enter("sync_warehouse")
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{args.db}")
    report = sync_warehouse(engine, args.warehouse)
    engine.dispose()
    spent["sync_warehouse"] = time.perf_counter() - started
    print(f"  synced in {spent['sync_warehouse']:.1f} s: {report.copied}", flush=True)

    marks: list[tuple[str, float]] = [("open_warehouse", time.perf_counter())]
    memory.enter("open_warehouse")

    def tell(name: str) -> None:
        now = time.perf_counter()
        print(f"  {marks[-1][0]} took {now - marks[-1][1]:.1f} s; now {name}", flush=True)
        marks.append((name, now))
        memory.enter(name)

    connection = open_warehouse(args.warehouse, materialise=True)
    tell("as_of (last purchase day)")
    findings = analyse(connection, folder=out, timezone="Asia/Shanghai", step=tell)
    tell("end")
    connection.close()
    for (name, at), (_, until) in zip(marks, marks[1:], strict=False):
        spent[name] = until - at
    memory.enter("peers")
    total = sum(spent.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    floor, members = duckdb_floor(args.warehouse)
    read = sqlite_read(args.db)
    memory.stop()
    shutil.rmtree(out, ignore_errors=True)

    valued = len(findings.value.clv) if findings.value else 0
    print(f"as_of {findings.as_of}; {valued:,} customers valued; skipped: {findings.skipped}")
    for name, seconds in spent.items():
        print(f"{name:>32}: {seconds:7.1f} s   peak RSS {gb(memory.peaks.get(name, 0))}")
    analysis = total - spent["sync_warehouse"]
    print(f"{'whole pipeline':>32}: {total:7.1f} s   (requirement: 300 s)")
    # Children are left out: the only ones are short tools (lscpu) forked by libraries, whose
    # ru_maxrss reports the parent's size at the fork, not memory of their own.
    print(f"peak memory of the run: {gb(peak)} (requirement: 6 GB)")
    print(f"peer, bare sqlite3 read of receipts and lines: {read:.1f} s")
    print(f"peer, DuckDB per-member aggregate of the Parquet lines ({members:,} members): ", end="")
    print(f"{floor:.1f} s")
    print(f"ratio (sync_warehouse / bare sqlite3 read): {spent['sync_warehouse'] / read:.1f}x")
    print(f"ratio (analysis / DuckDB aggregate): {analysis / floor:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--lines-target", type=int, default=None, help="trim the oldest receipts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None, help="default /tmp/regulars-bench/…")
    parser.add_argument("--warehouse", type=Path, default=Path("/tmp/regulars-bench/warehouse"))
    parser.add_argument("--reuse", action="store_true", help="time again on the built database")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verify", action="store_true", help="loader against the services")
    args = parser.parse_args()
    if args.verify:
        verify(min(args.members, 3000), args.months, args.seed, args.stores)
        return
    args.db = args.db or Path(
        f"/tmp/regulars-bench/chain-{args.members}-{args.months}-{args.lines_target}.db"
    )
    if args.build_only:
        build_only(args)
        return
    if not (args.reuse and Path(f"{args.db}.json").exists()):
        # A child process builds, so that the peak memory measured here is the pipeline's.
        subprocess.run([sys.executable, __file__, "--build-only", *sys.argv[1:]], check=True)
    facts = json.loads(Path(f"{args.db}.json").read_text())
    if facts["members"] != args.members or facts["months"] != args.months:
        sys.exit(f"{args.db} holds another chain; leave out --reuse to build this one")
    print(
        "built in "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in facts["seconds"].items())
        + f"; peak {gb(facts['peak_bytes'])}"
    )
    measure(args)


if __name__ == "__main__":
    main()
