"""Use cases of the sales record: record receipts exactly once, refund them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from regulars.batch import Outcome, Recorded
from regulars.catalog.models import Store
from regulars.catalog.service import (
    ProductInfo,
    ProductNotFound,
    StoreInfo,
    StoreNotFound,
    catalog_copy,
)
from regulars.clock import as_utc
from regulars.db import bulk_insert, table
from regulars.errors import Conflict, InvalidInput, NotFound, RegularsError
from regulars.members.models import Member
from regulars.sales import rules
from regulars.sales.models import Receipt, ReceiptLine, Refund, RefundLine
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, RefundIn


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"


class ReceiptConflict(Conflict):
    code = "receipt_conflict"


class SoldInFuture(InvalidInput):
    code = "sold_in_future"


class ImplausibleReceipt(InvalidInput):
    code = "implausible_receipt"


class UnknownMemberCard(NotFound):
    code = "unknown_member_card"


class UnknownReceiptLine(InvalidInput):
    code = "unknown_receipt_line"


class RefundExceedsPurchase(InvalidInput):
    code = "refund_exceeds_purchase"


class RefundConflict(Conflict):
    code = "refund_conflict"


def _plain(value: Decimal) -> str:
    """One spelling per number, so '2', '2.0' and '2.000' fingerprint alike."""
    return format(value.normalize(), "f")


@dataclass
class ReceiptDraft:
    key: tuple[int, str]
    receipt: dict[str, object]
    lines: list[dict[str, object]]


@dataclass(frozen=True)
class Lookups:
    """The stores, products and member cards a batch of receipts refers to."""

    stores: dict[str, StoreInfo]
    products: dict[str, ProductInfo]
    members: dict[str, int]


def _lookups(session: Session, receipts: Sequence[ReceiptIn]) -> Lookups:
    cards = {r.member_card for r in receipts if r.member_card}
    members: dict[str, int] = {}
    if cards:
        query = select(Member.card_number, Member.id).where(Member.card_number.in_(cards))
        members = dict(session.execute(query).all())
    catalog = catalog_copy(session)
    stores = {code: catalog.store(session, code) for code in {r.store_code for r in receipts}}
    return Lookups(
        stores={code: store for code, store in stores.items() if store is not None},
        products=catalog.products(session, (line.sku for r in receipts for line in r.lines)),
        members=members,
    )


def _plausible(line_no: int, quantity: Decimal, amount: Decimal, limits: Limits) -> None:
    if quantity > limits.line_quantity:
        raise ImplausibleReceipt(
            f"line {line_no} sells {quantity}, more than the {limits.line_quantity} a line may",
            field=f"lines.{line_no - 1}.quantity",
        )
    if amount > limits.line_amount:
        raise ImplausibleReceipt(
            f"line {line_no} comes to {amount}, more than the {limits.line_amount} a line may",
            field=f"lines.{line_no - 1}",
        )


def draft_receipt(
    receipt: ReceiptIn, known: Lookups, now: datetime, limits: Limits
) -> ReceiptDraft:
    """The rows a receipt becomes, checked against what is known and what is plausible;
    nothing is written."""
    store = known.stores.get(receipt.store_code)
    if store is None:
        raise StoreNotFound(f"unknown store {receipt.store_code!r}", field="store_code")
    sold_at = as_utc(receipt.sold_at, ZoneInfo(store.timezone))
    if sold_at > now + limits.future:
        raise SoldInFuture(
            f"sold_at {sold_at.isoformat()} is in the future (now {now.isoformat()})",
            field="sold_at",
        )
    member_id = None
    if receipt.member_card:
        if receipt.member_card not in known.members:
            raise UnknownMemberCard(
                f"no member has card {receipt.member_card!r}", field="member_card"
            )
        member_id = known.members[receipt.member_card]
    lines: list[dict[str, object]] = []
    amounts: list[Decimal] = []
    for line_no, line in enumerate(receipt.lines, start=1):
        product = known.products.get(line.sku)
        if product is None:
            raise ProductNotFound(f"unknown SKU {line.sku!r}", field=f"lines.{line_no - 1}.sku")
        amounts.append(rules.line_amount(line.quantity, line.unit_price, line.line_discount))
        _plausible(line_no, line.quantity, amounts[-1], limits)
        lines.append(
            {
                "line_no": line_no,
                "product_id": product.id,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_discount": line.line_discount,
                "amount": amounts[-1],
            }
        )
    if sum(amounts) > limits.receipt_amount:
        raise ImplausibleReceipt(
            f"the receipt comes to {sum(amounts)}, more than the {limits.receipt_amount} "
            "a receipt may",
            field="lines",
        )
    channel = receipt.channel or store.channel
    content = {
        "store": store.code,
        "pos_receipt_no": receipt.pos_receipt_no,
        "sold_at": sold_at.isoformat(),
        "channel": str(channel),
        "member_card": receipt.member_card,
        "payment_method": str(receipt.payment_method),
        "lines": [
            [line.sku, _plain(line.quantity), _plain(line.unit_price), _plain(line.line_discount)]
            for line in receipt.lines
        ],
    }
    return ReceiptDraft(
        key=(store.id, receipt.pos_receipt_no),
        receipt={
            "store_id": store.id,
            "pos_receipt_no": receipt.pos_receipt_no,
            "channel": channel,
            "sold_at": sold_at,
            "member_id": member_id,
            "payment_method": receipt.payment_method,
            "total_amount": sum(amounts, Decimal("0")),
            "discount_amount": sum((line.line_discount for line in receipt.lines), Decimal("0")),
            "fingerprint": rules.fingerprint(content),
            "recorded_at": now,
        },
        lines=lines,
    )


def _compare(existing_id: int, existing_fingerprint: str, draft: ReceiptDraft) -> Outcome:
    if existing_fingerprint == draft.receipt["fingerprint"]:
        return Recorded(existing_id, created=False)
    return ReceiptConflict(
        f"receipt {draft.key[1]!r} of this store was already recorded with different content",
        field="pos_receipt_no",
    )


def record_receipts(
    session: Session,
    *,
    receipts: Sequence[ReceiptIn],
    now: datetime,
    limits: Limits,
    known: Lookups | None = None,
) -> list[Outcome]:
    """Record many receipts; one outcome per input, in order.

    A receipt is identified by its store and POS receipt number: sent again with the same
    content it is reported as already recorded and nothing is written; sent with other
    content under the same number it is a `receipt_conflict`. A caller that has already
    read the stores, products and cards passes them as `known`.
    """
    known = known or _lookups(session, receipts)
    outcomes: list[Outcome | None] = [None] * len(receipts)
    drafts: dict[int, ReceiptDraft] = {}
    for index, receipt in enumerate(receipts):
        try:
            drafts[index] = draft_receipt(receipt, known, now, limits)
        except RegularsError as error:
            outcomes[index] = error

    existing = _recorded(session, [d.key for d in drafts.values()])

    first_of_key: dict[tuple[int, str], int] = {}
    repeats: dict[int, int] = {}  # the same receipt twice in one batch: index -> first index
    for index, draft in drafts.items():
        if draft.key in existing:
            outcomes[index] = _compare(*existing[draft.key], draft)
        elif draft.key in first_of_key:
            repeats[index] = first_of_key[draft.key]
        else:
            first_of_key[draft.key] = index

    to_insert = list(first_of_key.values())
    if to_insert:
        try:
            ids = _insert(session, [drafts[i] for i in to_insert])
        except IntegrityError:
            # Another transaction recorded one of these receipts at the same moment; take
            # them one at a time so each finds out what is already there.
            for index in to_insert:
                outcomes[index] = _insert_one(session, drafts[index])
        else:
            for index, receipt_id in zip(to_insert, ids, strict=True):
                outcomes[index] = Recorded(receipt_id, created=True)
    for index, first in repeats.items():
        recorded = outcomes[first]
        if isinstance(recorded, Recorded):
            outcomes[index] = _compare(
                recorded.id, str(drafts[first].receipt["fingerprint"]), drafts[index]
            )
        else:
            outcomes[index] = recorded
    return [outcome for outcome in outcomes if outcome is not None]


def _recorded(
    session: Session, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, str]]:
    """(id, fingerprint) of the receipts already recorded under these (store, POS number) keys."""
    if not keys:
        return {}
    # Two plain IN lists rather than a row-value IN: SQLite uses the unique index only then.
    query = select(Receipt.store_id, Receipt.pos_receipt_no, Receipt.id, Receipt.fingerprint)
    rows = session.execute(
        query.where(
            Receipt.pos_receipt_no.in_({pos_no for _, pos_no in keys}),
            Receipt.store_id.in_({store_id for store_id, _ in keys}),
        )
    )
    wanted = set(keys)
    return {
        (store_id, pos_no): (id_, print_)
        for store_id, pos_no, id_, print_ in rows
        if (store_id, pos_no) in wanted
    }


_NEW_RECEIPT = bulk_insert(Receipt).returning(table(Receipt).c.id)  # built once
_NEW_LINES = bulk_insert(ReceiptLine)


def write_receipt(session: Session, draft: ReceiptDraft) -> int:
    """Write one new receipt and its lines: two statements. Raises IntegrityError when its
    store and number are taken (the caller decides what a repeat means)."""
    receipt_id = session.scalar(_NEW_RECEIPT, draft.receipt)
    assert receipt_id is not None
    session.execute(_NEW_LINES, [{**line, "receipt_id": receipt_id} for line in draft.lines])
    return receipt_id


def _insert(session: Session, drafts: list[ReceiptDraft]) -> list[int]:
    with session.begin_nested():
        return [write_receipt(session, draft) for draft in drafts]


def _insert_one(session: Session, draft: ReceiptDraft) -> Outcome:
    try:
        [receipt_id] = _insert(session, [draft])
    except IntegrityError:
        found = _recorded(session, [draft.key]).get(draft.key)
        if found is None:
            raise
        return _compare(*found, draft)
    return Recorded(receipt_id, created=True)


def record_receipt(
    session: Session, *, receipt: ReceiptIn, now: datetime, limits: Limits
) -> tuple[Receipt, bool]:
    """Record one sale exactly once; returns the receipt and whether it was new."""
    [outcome] = record_receipts(session, receipts=[receipt], now=now, limits=limits)
    if isinstance(outcome, RegularsError):
        raise outcome
    return get_receipt(session, receipt_id=outcome.id), outcome.created


def get_receipt(session: Session, *, receipt_id: int) -> Receipt:
    query = select(Receipt).where(Receipt.id == receipt_id).options(selectinload(Receipt.lines))
    receipt = session.scalars(query).first()
    if receipt is None:
        raise ReceiptNotFound(f"no receipt with id {receipt_id}")
    return receipt


def refund_receipt(
    session: Session,
    *,
    receipt_id: int,
    refund: RefundIn,
    now: datetime,
    limits: Limits,
) -> tuple[Refund, bool]:
    """Refund lines of a receipt, at most what was bought; idempotent on the refund number."""
    locked = select(Receipt).where(Receipt.id == receipt_id).with_for_update()
    receipt = session.scalars(locked).first()
    if receipt is None:
        raise ReceiptNotFound(f"no receipt with id {receipt_id}")
    lines = {line.line_no: line for line in receipt.lines}
    store = session.get_one(Store, receipt.store_id)
    refunded_at = as_utc(refund.refunded_at, ZoneInfo(store.timezone))
    if refunded_at < receipt.sold_at:
        raise InvalidInput("refunded_at is before the sale", field="refunded_at")
    if refunded_at > now + limits.future:
        raise SoldInFuture(
            f"refunded_at {refunded_at.isoformat()} is in the future", field="refunded_at"
        )
    content = {
        "pos_refund_no": refund.pos_refund_no,
        "lines": sorted((r.line_no, _plain(r.quantity)) for r in refund.lines),
        "reason": refund.reason,
    }
    fingerprint = rules.fingerprint(content)
    earlier = session.scalars(
        select(Refund).where(
            Refund.receipt_id == receipt_id, Refund.pos_refund_no == refund.pos_refund_no
        )
    ).first()
    if earlier is not None:
        if earlier.fingerprint != fingerprint:
            raise RefundConflict(
                f"refund {refund.pos_refund_no!r} was already recorded with different lines",
                field="pos_refund_no",
            )
        return earlier, False

    refunded = _refunded_so_far(session, [line.id for line in lines.values()])
    refund_lines = []
    for index, asked in enumerate(refund.lines):
        line = lines.get(asked.line_no)
        if line is None:
            raise UnknownReceiptLine(
                f"receipt {receipt_id} has no line_no {asked.line_no} (its lines are numbered "
                f"1 to {len(lines)})",
                field=f"lines.{index}.line_no",
            )
        done_quantity, done_amount = refunded.get(line.id, (Decimal("0"), Decimal("0")))
        if done_quantity + asked.quantity > line.quantity:
            raise RefundExceedsPurchase(
                f"line_no {line.line_no}: refunding {asked.quantity} but only "
                f"{line.quantity - done_quantity} of {line.quantity} remain",
                field=f"lines.{index}.quantity",
            )
        amount = rules.refund_amount(
            line_quantity=line.quantity,
            line_amount=line.amount,
            refunded_quantity=done_quantity,
            refunded_amount=done_amount,
            quantity=asked.quantity,
        )
        refunded[line.id] = (done_quantity + asked.quantity, done_amount + amount)
        refund_lines.append(
            RefundLine(receipt_line_id=line.id, quantity=asked.quantity, amount=amount)
        )

    record = Refund(
        receipt_id=receipt_id,
        pos_refund_no=refund.pos_refund_no,
        refunded_at=refunded_at,
        amount=sum((r.amount for r in refund_lines), Decimal("0")),
        reason=refund.reason,
        fingerprint=fingerprint,
        lines=refund_lines,
    )
    session.add(record)
    session.flush()
    return record, True


def _refunded_so_far(session: Session, line_ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    query = select(RefundLine.receipt_line_id, RefundLine.quantity, RefundLine.amount).where(
        RefundLine.receipt_line_id.in_(line_ids)
    )
    totals: dict[int, tuple[Decimal, Decimal]] = {}
    for line_id, quantity, amount in session.execute(query):
        done_quantity, done_amount = totals.get(line_id, (Decimal("0"), Decimal("0")))
        totals[line_id] = (done_quantity + quantity, done_amount + amount)
    return totals


def member_receipts(
    session: Session, *, member_id: int, before_id: int | None = None, limit: int = 10
) -> list[tuple[Receipt, list[Refund]]]:
    """A member's receipts, newest first, with their lines and any refunds against them."""
    query = select(Receipt).where(Receipt.member_id == member_id)
    if before_id is not None:
        query = query.where(Receipt.id < before_id)
    receipts = list(
        session.scalars(
            query.options(selectinload(Receipt.lines))
            .order_by(Receipt.sold_at.desc(), Receipt.id.desc())
            .limit(limit)
        )
    )
    refunds: dict[int, list[Refund]] = {r.id: [] for r in receipts}
    found = select(Refund).where(Refund.receipt_id.in_(refunds)).options(selectinload(Refund.lines))
    for refund in session.scalars(found.order_by(Refund.id)):
        refunds[refund.receipt_id].append(refund)
    return [(r, refunds[r.id]) for r in receipts]
