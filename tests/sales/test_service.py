from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.db import run_in_transaction
from regulars.sales import service
from regulars.sales.models import Receipt, ReceiptLine
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn, RefundIn, RefundLineIn
from tests.conftest import Database
from tests.factories import NOW, make_member, make_product, make_store

LIMITS = Limits()


def a_receipt(number: str = "0001", **changes: object) -> ReceiptIn:
    receipt = ReceiptIn(
        store_code="S001",
        pos_receipt_no=number,
        sold_at=datetime(2026, 6, 15, 11, 30),
        lines=[
            ReceiptLineIn(
                sku="NOODLE-1",
                quantity=Decimal("3"),
                unit_price=Decimal("4.50"),
                line_discount=Decimal("1.00"),
            ),
            ReceiptLineIn(sku="EGGS-1", quantity=Decimal("1"), unit_price=Decimal("15.80")),
        ],
    )
    return receipt.model_copy(update=changes)


def shop(session: Session) -> None:
    make_store(session, "S001")
    make_product(session, sku="NOODLE-1", price="4.50")
    make_product(session, sku="EGGS-1", price="15.80")


def counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Receipt)) or 0,
        session.scalar(select(func.count()).select_from(ReceiptLine)) or 0,
    )


def test_a_receipt_is_recorded_with_its_totals_in_utc(session: Session) -> None:
    shop(session)
    member = make_member(session)
    receipt, created = service.record_receipt(
        session,
        receipt=a_receipt(member_card=member.card_number),
        now=NOW,
        limits=LIMITS,
    )
    assert created
    assert receipt.total_amount == Decimal("28.30")
    assert receipt.discount_amount == Decimal("1.00")
    assert [line.amount for line in receipt.lines] == [Decimal("12.50"), Decimal("15.80")]
    assert receipt.sold_at.isoformat() == "2026-06-15T03:30:00+00:00"  # 11:30 in Shanghai
    assert receipt.member_id == member.id


def test_the_same_receipt_sent_again_writes_nothing(session: Session) -> None:
    shop(session)
    first, _ = service.record_receipt(session, receipt=a_receipt(), now=NOW, limits=LIMITS)
    before = counts(session)
    # The same sale, sent again with the time spelled in UTC and quantities with decimals.
    again = a_receipt(sold_at=datetime.fromisoformat("2026-06-15T03:30:00+00:00"))
    again.lines[0].quantity = Decimal("3.000")
    second, created = service.record_receipt(session, receipt=again, now=NOW, limits=LIMITS)
    assert (second.id, created) == (first.id, False)
    assert counts(session) == before


def test_another_receipt_under_a_used_number_is_a_conflict(session: Session) -> None:
    shop(session)
    service.record_receipt(session, receipt=a_receipt(), now=NOW, limits=LIMITS)
    before = counts(session)
    with pytest.raises(service.ReceiptConflict):
        service.record_receipt(
            session, receipt=a_receipt(payment_method="cash"), now=NOW, limits=LIMITS
        )
    assert counts(session) == before


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"store_code": "S999"}, "unknown_store", "store_code"),
        ({"member_card": "800000000000000000"}, "unknown_member_card", "member_card"),
        ({"sold_at": NOW + timedelta(hours=1)}, "sold_in_future", "sold_at"),
        (
            {"lines": [ReceiptLineIn(sku="EGGS-1", quantity="999999", unit_price="6.50")]},
            "implausible_receipt",
            "lines.0.quantity",
        ),
        (
            {"lines": [ReceiptLineIn(sku="EGGS-1", quantity="1", unit_price="50000.01")]},
            "implausible_receipt",
            "lines.0",
        ),
        (
            {"lines": [ReceiptLineIn(sku="EGGS-1", quantity="900", unit_price="50")] * 5},
            "implausible_receipt",
            "lines",
        ),
    ],
)
def test_bad_receipts_are_refused_with_the_field_named(
    session: Session, changes: dict[str, object], code: str, field: str
) -> None:
    shop(session)
    with pytest.raises(service.RegularsError) as caught:
        service.record_receipt(session, receipt=a_receipt(**changes), now=NOW, limits=LIMITS)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert counts(session) == (0, 0)


def test_an_unknown_sku_refuses_the_whole_receipt(session: Session) -> None:
    shop(session)
    receipt = a_receipt()
    receipt.lines[1].sku = "GHOST"
    with pytest.raises(service.ProductNotFound) as caught:
        service.record_receipt(session, receipt=receipt, now=NOW, limits=LIMITS)
    assert caught.value.field == "lines.1.sku"
    assert counts(session) == (0, 0)


def test_refunds_return_a_proportional_share_and_never_more_than_was_bought(
    session: Session,
) -> None:
    shop(session)
    receipt, _ = service.record_receipt(session, receipt=a_receipt(), now=NOW, limits=LIMITS)
    later = NOW + timedelta(days=1)

    def refund(number: str, quantity: str) -> tuple[object, bool]:
        return service.refund_receipt(
            session,
            receipt_id=receipt.id,
            now=later,
            limits=LIMITS,
            refund=RefundIn(
                pos_refund_no=number,
                refunded_at=later,
                lines=[RefundLineIn(line_no=1, quantity=Decimal(quantity))],
            ),
        )

    first, created = refund("R1", "1")
    assert created
    assert first.amount == Decimal("4.17")
    again, created = refund("R1", "1")
    assert (again.id, created) == (first.id, False)
    with pytest.raises(service.RefundConflict):
        refund("R1", "2")
    with pytest.raises(service.RefundExceedsPurchase) as caught:
        refund("R2", "2.5")
    assert caught.value.field == "lines.0.quantity"
    rest, _ = refund("R3", "2")
    assert first.amount + rest.amount == Decimal("12.50")
    with pytest.raises(service.RefundExceedsPurchase):
        refund("R4", "0.001")


def test_a_refund_of_a_line_the_receipt_lacks_is_refused(session: Session) -> None:
    shop(session)
    receipt, _ = service.record_receipt(session, receipt=a_receipt(), now=NOW, limits=LIMITS)
    with pytest.raises(service.UnknownReceiptLine) as caught:
        service.refund_receipt(
            session,
            receipt_id=receipt.id,
            now=NOW,
            limits=LIMITS,
            refund=RefundIn(
                pos_refund_no="R",
                refunded_at=NOW,
                lines=[RefundLineIn(line_no=9, quantity=Decimal(1))],
            ),
        )
    # The field is the refund's first line (paths count from 0); line_no counts from 1.
    assert caught.value.field == "lines.0.line_no"
    assert "has no line_no 9 (its lines are numbered 1 to 2)" in caught.value.message


def test_a_batch_holding_the_same_receipt_twice_records_it_once(session: Session) -> None:
    shop(session)
    outcomes = service.record_receipts(
        session,
        receipts=[a_receipt(), a_receipt(), a_receipt(payment_method="cash")],
        now=NOW,
        limits=LIMITS,
    )
    assert outcomes[0].created
    assert not outcomes[1].created
    assert outcomes[0].id == outcomes[1].id  # type: ignore[union-attr]
    assert isinstance(outcomes[2], service.ReceiptConflict)
    assert counts(session) == (1, 2)


def test_a_receipt_sent_by_sixteen_tills_at_once_is_recorded_once(database: Database) -> None:
    run_in_transaction(database.sessions, shop)

    def send(_: int) -> tuple[int, bool]:
        def use_case(session: Session) -> tuple[int, bool]:
            receipt, created = service.record_receipt(
                session, receipt=a_receipt(), now=NOW, limits=LIMITS
            )
            return receipt.id, created

        return run_in_transaction(database.sessions, use_case)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, range(16)))
    assert len({receipt_id for receipt_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with database.sessions() as session:
        assert counts(session) == (1, 2)


def test_the_batch_path_records_each_receipt_once_when_sent_from_many_threads(
    database: Database,
) -> None:
    run_in_transaction(database.sessions, shop)
    batch = [a_receipt(f"B{n}") for n in range(5)]

    def send(_: int) -> list[tuple[int, bool]]:
        outcomes = run_in_transaction(
            database.sessions,
            lambda session: service.record_receipts(
                session, receipts=batch, now=NOW, limits=LIMITS
            ),
        )
        return [(o.id, o.created) for o in outcomes]  # type: ignore[union-attr]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(24)))
    for position in range(5):
        seen = [result[position] for result in results]
        assert len({receipt_id for receipt_id, _ in seen}) == 1
        assert sum(created for _, created in seen) == 1
    with database.sessions() as session:
        assert counts(session) == (5, 10)


def test_concurrent_refunds_never_return_more_than_was_bought(database: Database) -> None:
    run_in_transaction(database.sessions, shop)
    receipt, _ = run_in_transaction(
        database.sessions,
        lambda session: service.record_receipt(
            session, receipt=a_receipt(), now=NOW, limits=LIMITS
        ),
    )

    def refund(number: int) -> Decimal | None:
        def use_case(session: Session) -> Decimal:
            record, _ = service.refund_receipt(
                session,
                receipt_id=receipt.id,
                now=NOW,
                limits=LIMITS,
                refund=RefundIn(
                    pos_refund_no=f"R{number}",
                    refunded_at=NOW,
                    lines=[RefundLineIn(line_no=1, quantity=Decimal(1))],
                ),
            )
            return record.amount

        try:
            return run_in_transaction(database.sessions, use_case)
        except service.RefundExceedsPurchase:
            return None

    with ThreadPoolExecutor(8) as pool:
        amounts = [a for a in pool.map(refund, range(12)) if a is not None]
    assert len(amounts) == 3  # three units were bought
    assert sum(amounts) == Decimal("12.50")
