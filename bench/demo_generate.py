"""How long `regulars demo generate` takes to write about 1,000,000 receipt lines to SQLite.

Peer in the same run: SQLite's own bulk insert of the same lines through the bare
`sqlite3` module (no validation, no idempotency), the floor any loader can reach.
Run: .venv/bin/python bench/demo_generate.py [--members 11500] [--months 6]
"""

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from regulars.demo.generator import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=11500)
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    until = date(2026, 11, 1)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        env = {"REGULARS_DATABASE_URL": url, "PATH": str(Path(sys.executable).parent)}
        regulars = str(Path(sys.executable).parent / "regulars")
        subprocess.run([regulars, "db", "upgrade"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        subprocess.run(
            [
                regulars,
                "demo",
                "generate",
                "--members",
                str(args.members),
                "--months",
                str(args.months),
                "--until",
                until.isoformat(),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        ours = time.perf_counter() - started
        lines = (
            sqlite3.connect(f"{folder}/bench.db")
            .execute("select count(*) from receipt_line")
            .fetchone()[0]
        )

        chain = generate(members=args.members, months=args.months, seed=7, stores=8, until=until)
        s = chain.sales
        rows = list(
            zip(
                s.line_receipt.tolist(),
                s.line_product.tolist(),
                s.line_quantity_milli.tolist(),
                s.line_unit_price_cents.tolist(),
                s.line_discount_cents.tolist(),
                strict=True,
            )
        )
        started = time.perf_counter()
        raw = sqlite3.connect(f"{folder}/raw.db")
        raw.execute("pragma journal_mode=wal")
        raw.execute(
            "create table line (receipt int, product int, quantity int, price int, discount int)"
        )
        raw.executemany("insert into line values (?, ?, ?, ?, ?)", rows)
        raw.commit()
        floor = time.perf_counter() - started
    print(f"regulars demo generate: {lines:,} lines in {ours:.1f} s ({lines / ours:,.0f} lines/s)")
    print(f"bare sqlite3 executemany of the same lines: {floor:.1f} s")
    print(f"ratio (regulars / bare insert): {ours / floor:.1f}x")


if __name__ == "__main__":
    main()
