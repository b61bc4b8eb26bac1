"""The peer of bench/api_load.py: the least a till endpoint can do, as a bare FastAPI app.

It parses the same sale body and writes the rows a member sale writes (receipt, lines,
point lot, ledger entry, receipt points, stored answer) with plain sqlite3, one transaction
a sale, with no pricing, no offers, no checks and no authentication. Served by the same
server stack as Regulars: uvicorn bench.peer_till:app with REGULARS_DATABASE_URL set.
"""

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
_local = threading.local()
PATH = os.environ["REGULARS_DATABASE_URL"].removeprefix("sqlite:///")


class Line(BaseModel):
    sku: str
    quantity: Decimal


class Sale(BaseModel):
    store_code: str
    pos_receipt_no: str
    sold_at: datetime
    member_card: str | None = None
    lines: list[Line]
    coupons: list[str] = []
    redeem_points: int = 0


def _connection() -> sqlite3.Connection:
    if not hasattr(_local, "db"):
        db = sqlite3.connect(PATH, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        _local.db = db
        _local.products = dict(db.execute("SELECT sku, id FROM product"))
        _local.members = dict(db.execute("SELECT card_number, id FROM member"))
        _local.store = db.execute("SELECT id FROM store WHERE code = 'S001'").fetchone()[0]
    return _local.db  # type: ignore[no-any-return]


@app.post("/v1/receipts", status_code=201)
def commit(sale: Sale) -> dict[str, object]:
    db = _connection()
    now = datetime.now(UTC).isoformat()
    member = _local.members.get(sale.member_card)
    total = sum(int(line.quantity * 100) for line in sale.lines)
    db.execute("BEGIN IMMEDIATE")
    (receipt,) = db.execute(
        "INSERT INTO receipt (store_id, pos_receipt_no, channel, sold_at, member_id, "
        "payment_method, total_amount, discount_amount, fingerprint, recorded_at) "
        "VALUES (?, ?, 'store', ?, ?, 'other', ?, 0, '', ?) RETURNING id",
        (_local.store, sale.pos_receipt_no, now, member, total, now),
    ).fetchone()
    db.executemany(
        "INSERT INTO receipt_line (receipt_id, line_no, product_id, quantity, unit_price, "
        "line_discount, amount) VALUES (?, ?, ?, ?, 100, 0, ?)",
        [
            (receipt, n, _local.products[line.sku], int(line.quantity * 1000), 100)
            for n, line in enumerate(sale.lines, start=1)
        ],
    )
    if member is not None:
        (lot,) = db.execute(
            "INSERT INTO point_lot (member_id, kind, points, remaining, earned_at, "
            "available_at, expires_at, matured, receipt_id) "
            "VALUES (?, 'earn', 1, 1, ?, ?, NULL, 1, ?) RETURNING id",
            (member, now, now, receipt),
        ).fetchone()
        db.execute(
            "INSERT INTO point_entry (member_id, lot_id, kind, points, created_at, receipt_id) "
            "VALUES (?, ?, 'earn', 1, ?, ?)",
            (member, lot, now, receipt),
        )
        db.execute(
            "INSERT INTO receipt_points (receipt_id, member_id, program_version, "
            "eligible_amount, refunded_eligible_amount, earned, reversed, redeemed, "
            "redeemed_value, returned, sold_at) VALUES (?, ?, 1, ?, 0, 1, 0, 0, 0, 0, ?)",
            (receipt, member, total, now),
        )
    answer = {"receipt_id": receipt, "total": total / 100}
    db.execute(
        "INSERT INTO committed_sale (receipt_id, request_fingerprint, result) VALUES (?, '', ?)",
        (receipt, json.dumps(answer)),
    )
    db.execute("COMMIT")
    return answer
