"""Price-and-commit throughput of the till's service layer (no HTTP) on SQLite.

Ours: `commit_sale` — promotions, coupons, points earned and tier check — one transaction
per sale, with the demo program; it also counts the SQL statements of a member sale and of
an anonymous one (BEGIN and COMMIT not counted). Peer in the same run: `record_receipt` of
the same sales without any loyalty work, the floor set by the sales record itself.
Run: .venv/bin/python bench/checkout_throughput.py [--sales 3000]
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from regulars.checkout.schemas import CartLine, SaleIn
from regulars.checkout.service import commit_sale
from regulars.db import make_engine, make_sessionmaker, run_in_transaction, upgrade_database
from regulars.demo.generator import generate
from regulars.demo.writers import card_numbers, write_master_data, write_program
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_members
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipt

LIMITS = Limits()
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def prepared(folder: str, name: str, chain, cards: list[str]) -> sessionmaker[Session]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{folder}/{name}.db")
    upgrade_database(engine)
    sessions = make_sessionmaker(engine)
    run_in_transaction(sessions, partial(write_master_data, chain=chain))
    run_in_transaction(sessions, partial(write_program, now=NOW - timedelta(days=365)))
    members = [
        MemberCreate(phone=phone, card_number=card)
        for phone, card in zip(chain.members.phone, cards, strict=True)
    ]
    run_in_transaction(
        sessions,
        partial(
            enroll_members,
            members=members,
            now=NOW,
            source="bench",
            region="CN",
            zone=ZoneInfo("Asia/Shanghai"),
        ),
    )
    return sessions


def sales(chain, cards: list[str], count: int) -> list[SaleIn]:  # type: ignore[no-untyped-def]
    s, skus = chain.sales, chain.products.sku
    made = []
    line = 0
    for index in range(min(count, len(s.member))):
        lines = []
        while line < len(s.line_receipt) and s.line_receipt[line] == index:
            lines.append(
                CartLine(
                    sku=skus[s.line_product[line]],
                    quantity=Decimal(int(s.line_quantity_milli[line])).scaleb(-3),
                )
            )
            line += 1
        member = s.member[index]
        made.append(
            SaleIn(
                store_code=chain.stores.code[s.store[index]],
                pos_receipt_no=f"B{index}",
                sold_at=NOW - timedelta(minutes=count - index),
                lines=lines,
                member_card=cards[member] if member >= 0 else None,
            )
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=3000)
    args = parser.parse_args()
    chain = generate(members=600, months=3, seed=11, stores=8, until=date(2026, 11, 1))
    cards = card_numbers(chain, 11)
    todo = sales(chain, cards, args.sales)
    with tempfile.TemporaryDirectory() as folder:
        ours = prepared(folder, "ours", chain, cards)
        statements: list[str] = []
        engine = ours.kw["bind"]
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        counted: dict[bool, list[int]] = {True: [], False: []}  # by member or not
        started = time.perf_counter()
        for sale in todo:
            statements.clear()
            run_in_transaction(
                ours,
                lambda s, sale=sale: commit_sale(s, sale=sale, now=NOW, limits=LIMITS),
            )
            work = [text for text in statements if not text.startswith(("BEGIN", "COMMIT"))]
            counted[sale.member_card is not None].append(len(work))
        ours_rate = len(todo) / (time.perf_counter() - started)

        peer = prepared(folder, "peer", chain, cards)
        plain = [
            ReceiptIn(
                store_code=x.store_code,
                pos_receipt_no=x.pos_receipt_no,
                sold_at=x.sold_at,
                member_card=x.member_card,
                lines=[
                    ReceiptLineIn(sku=line.sku, quantity=line.quantity, unit_price=Decimal("1.00"))
                    for line in x.lines
                ],
            )
            for x in todo
        ]
        started = time.perf_counter()
        for receipt in plain:
            run_in_transaction(
                peer,
                lambda s, receipt=receipt: record_receipt(
                    s, receipt=receipt, now=NOW, limits=LIMITS
                ),
            )
        peer_rate = len(plain) / (time.perf_counter() - started)
    lines = sum(len(x.lines) for x in todo)
    print(
        f"commit_sale (pricing, coupons, points, tiers): {ours_rate:,.0f} receipts/s "
        f"({len(todo):,} receipts, {lines:,} lines)"
    )
    for member, label in ((True, "member sale"), (False, "anonymous sale")):
        counts = counted[member]
        mean, median = statistics.mean(counts), statistics.median(counts)
        print(f"SQL statements, {label}: mean {mean:.1f}, median {median:.0f}, most {max(counts)}")
    print(f"record_receipt alone (the sales record):       {peer_rate:,.0f} receipts/s")
    print(f"ratio (record alone / full commit): {peer_rate / ours_rate:.1f}x")


if __name__ == "__main__":
    main()
