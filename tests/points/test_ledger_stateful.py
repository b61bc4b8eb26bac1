"""Random sequences of sales, retries, refunds, redemptions, adjustments, merges and expiry
runs at advancing dates; after every step the ledger's invariants must hold."""

import itertools
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.checkout.refunds import refund_sale
from regulars.checkout.schemas import CartLine, SaleIn
from regulars.checkout.service import commit_sale
from regulars.db import run_in_transaction
from regulars.errors import RegularsError
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_member
from regulars.points.models import EntryKind, PointEntry, PointLot, ReceiptPoints
from regulars.points.service import (
    adjust_points,
    balance,
    expire_points,
    ledger_discrepancies,
    mature_points,
    merge_accounts,
)
from regulars.program.service import active_program
from regulars.sales.rules import Limits
from regulars.sales.schemas import RefundIn, RefundLineIn
from tests.conftest import Database
from tests.factories import NOW, ZONE, make_product, make_program, make_store

LIMITS = Limits()
_runs = itertools.count()


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, database: Database) -> None:
        super().__init__()
        self.sessions = database.sessions
        self.run = next(_runs)
        self.now = NOW
        self.sales: list[tuple[SaleIn, int]] = []
        self.members: list[tuple[int, str]] = []
        for n in range(2):
            phone = f"1390000{self.run:02d}{n:02d}"
            member = run_in_transaction(
                self.sessions,
                lambda s, phone=phone: enroll_member(
                    s,
                    data=MemberCreate(phone=phone),
                    now=NOW,
                    source="test",
                    region="CN",
                    zone=ZONE,
                ),
            )
            self.members.append((member.id, member.card_number))
        self.merged: set[int] = set()

    def _do(self, use_case):  # type: ignore[no-untyped-def]
        try:
            return run_in_transaction(self.sessions, use_case)
        except RegularsError:
            return None  # a refused operation must leave everything as it was

    @rule(
        who=st.integers(0, 1),
        rice=st.integers(1, 30),
        tobacco=st.integers(0, 2),
        redeem=st.sampled_from([0, 0, 100, 250, 1000]),
    )
    def sell(self, who: int, rice: int, tobacco: int, redeem: int) -> None:
        lines = [CartLine(sku="RICE", quantity=Decimal(rice))]
        if tobacco:
            lines.append(CartLine(sku="CIGS", quantity=Decimal(tobacco)))
        sale = SaleIn(
            store_code="S001",
            pos_receipt_no=f"{self.run}-{len(self.sales)}",
            sold_at=self.now,
            member_card=self.members[who][1],
            lines=lines,
            redeem_points=redeem,
        )
        result = self._do(lambda s: commit_sale(s, sale=sale, now=self.now, limits=LIMITS))
        if result is not None:
            self.sales.append((sale, result.receipt_id))

    @precondition(lambda self: self.sales)
    @rule(pick=st.integers(0, 10**6))
    def retry_a_sale(self, pick: int) -> None:
        sale, receipt_id = self.sales[pick % len(self.sales)]
        before = self._entries()
        result = run_in_transaction(  # a retry must be answered, never refused
            self.sessions,
            lambda s: commit_sale(s, sale=sale, now=self.now, limits=LIMITS),
        )
        assert result.receipt_id == receipt_id
        assert not result.created
        assert self._entries() == before

    @precondition(lambda self: self.sales)
    @rule(pick=st.integers(0, 10**6), line=st.integers(1, 2), quantity=st.integers(1, 12))
    def refund(self, pick: int, line: int, quantity: int) -> None:
        _, receipt_id = self.sales[pick % len(self.sales)]
        refund = RefundIn(
            pos_refund_no=f"R{self._entries()}",
            refunded_at=self.now,
            lines=[RefundLineIn(line_no=line, quantity=Decimal(quantity))],
        )
        self._do(
            lambda s: refund_sale(
                s, receipt_id=receipt_id, refund=refund, now=self.now, limits=LIMITS
            )
        )

    @rule(who=st.integers(0, 1), points=st.integers(-300, 300).filter(bool))
    def adjust(self, who: int, points: int) -> None:
        def use_case(session: Session) -> int:
            _, program = active_program(session)
            return adjust_points(
                session,
                member_id=self.members[who][0],
                points=points,
                reason="stateful test",
                actor="hypothesis",
                now=self.now,
                program=program,
            )

        self._do(use_case)

    @precondition(lambda self: not self.merged)
    @rule()
    def merge(self) -> None:
        (keep, _), (leave, _) = self.members
        total = self._total(keep) + self._total(leave)
        moved = self._do(
            lambda s: merge_accounts(s, source_id=leave, target_id=keep, actor="test", now=self.now)
        )
        self.merged.add(leave)
        if moved is not None:
            assert self._total(keep) + self._total(leave) == total
            assert self._total(leave) == 0

    @rule(days=st.sampled_from([1, 3, 10, 60, 200]))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)
        self._do(lambda s: (mature_points(s, as_of=self.now), expire_points(s, as_of=self.now)))

    def _entries(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(PointEntry)) or 0

    def _total(self, member_id: int) -> int:
        with self.sessions() as session:
            return balance(session, member_id=member_id, now=self.now).total

    @invariant()
    def ledger_holds(self) -> None:
        with self.sessions() as session:
            assert ledger_discrepancies(session) == []
            for member_id, _ in self.members:
                entries = session.scalar(
                    select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                        PointEntry.member_id == member_id
                    )
                )
                lots = session.scalar(
                    select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                        PointLot.member_id == member_id
                    )
                )
                assert entries == lots
            spent_late = session.scalar(
                select(func.count())
                .select_from(PointEntry)
                .join(PointLot)
                .where(
                    PointEntry.kind == EntryKind.BURN,
                    (PointEntry.created_at >= PointLot.expires_at)
                    | (PointEntry.created_at < PointLot.available_at),
                )
            )
            assert spent_late == 0, "points were spent while expired or still pending"
            earned_twice = session.scalar(
                select(func.count()).select_from(
                    select(PointLot.receipt_id)
                    .where(PointLot.kind == EntryKind.EARN, PointLot.receipt_id.is_not(None))
                    .group_by(PointLot.receipt_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            assert earned_twice == 0
            over = session.scalar(
                select(func.count())
                .select_from(ReceiptPoints)
                .where(
                    (ReceiptPoints.reversed > ReceiptPoints.earned)
                    | (ReceiptPoints.returned > ReceiptPoints.redeemed)
                )
            )
            assert over == 0, "a refund reversed more than the sale earned or was paid"


def test_the_ledger_holds_under_random_sequences(database: Database) -> None:
    def shop(session: Session) -> None:
        make_store(session, "S001")
        make_product(session, sku="RICE", price="9.90")
        make_product(session, sku="CIGS", price="30.00", subcategory="TOBACCO", excluded=True)
        make_program(session, pending_days=3)

    run_in_transaction(database.sessions, shop)
    run_state_machine_as_test(
        lambda: LedgerMachine(database),
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    with database.sessions() as session:
        kinds = dict(
            session.execute(select(PointEntry.kind, func.count()).group_by(PointEntry.kind)).all()
        )
    # The random walk really went through every kind of movement it is meant to test.
    assert set(kinds) >= {
        EntryKind.EARN,
        EntryKind.BURN,
        EntryKind.REVERSE,
        EntryKind.EXPIRE,
        EntryKind.ADJUST,
        EntryKind.TRANSFER,
        EntryKind.MATURE,
    }
