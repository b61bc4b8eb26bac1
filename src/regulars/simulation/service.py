"""What-if on history: the chain's recorded receipts of a period, priced again by a proposed
program and by the active one, through the same pure pricing function as the till.

Nothing is written. Each program is replayed on its own: members start the period at the
tier they held then (one the program does not know counts as its first tier) with the
window spend recorded before it, and move up as the replayed sales reach thresholds; budgets
start full. Receipts are priced at the unit prices they were sold at, without the coupons
and points presented at the till (what a coupon or a point is worth does not depend on the
program's offers), so the comparison is of offers, earning and tiers.
"""

from collections import Counter, defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.catalog.models import Product, Store
from regulars.catalog.service import category_codes
from regulars.checkout import pricing
from regulars.errors import InvalidInput
from regulars.members.models import Member
from regulars.points import rules as points
from regulars.points.models import ReceiptPoints
from regulars.program.schema import Program
from regulars.promotions.rules import Allowance, Occasion
from regulars.sales.models import Receipt, ReceiptLine
from regulars.tiers.models import TierChange
from regulars.tiers.rules import Standing
from regulars.tiers.service import window_start

ZERO = Decimal("0.00")


@dataclass
class Offer:
    receipts: int = 0
    discount: Decimal = ZERO


@dataclass
class Outcome:
    """What one program does with the period's receipts."""

    receipts: int = 0
    member_receipts: int = 0
    discount: Decimal = ZERO
    points: int = 0
    liability: Decimal = ZERO  # the points issued, at what they pay at the till
    offers: defaultdict[str, Offer] = field(default_factory=lambda: defaultdict(Offer))
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)  # (from, to) -> upgrades
    tiers: Counter[str] = field(default_factory=Counter)  # buyers of the period, by end tier


@dataclass(frozen=True)
class Comparison:
    start: datetime
    end: datetime
    active: Outcome
    proposed: Outcome


@dataclass(frozen=True)
class _Sale:
    sold_at: datetime
    store: str
    channel: str
    zone: ZoneInfo
    member_id: int | None
    items: list[pricing.CartItem]


def _sales(session: Session, start: datetime, end: datetime) -> Iterator[_Sale]:
    stores = {s.id: s for s in session.scalars(select(Store))}
    paths = category_codes(session)
    query = (
        select(Receipt, ReceiptLine, Product)
        .join(ReceiptLine, ReceiptLine.receipt_id == Receipt.id)
        .join(Product, Product.id == ReceiptLine.product_id)
        .where(Receipt.sold_at >= start, Receipt.sold_at < end)
        .order_by(Receipt.sold_at, Receipt.id, ReceiptLine.line_no)
    )
    current: Receipt | None = None
    items: list[pricing.CartItem] = []
    for receipt, line, product in session.execute(query):
        if current is not None and receipt.id != current.id:
            yield _sale(current, stores[current.store_id], items)
            items = []
        current = receipt
        items.append(
            pricing.CartItem(
                sku=product.sku,
                categories=paths[product.category_id],
                quantity=line.quantity,
                unit_price=line.unit_price,
                excluded_from_promotions=product.excluded_from_promotions,
                excluded_from_points=product.excluded_from_points,
            )
        )
    if current is not None:
        yield _sale(current, stores[current.store_id], items)


def _sale(receipt: Receipt, store: Store, items: list[pricing.CartItem]) -> _Sale:
    return _Sale(
        receipt.sold_at,
        store.code,
        str(receipt.channel),
        ZoneInfo(store.timezone),
        receipt.member_id,
        items,
    )


_History = dict[int, list[tuple[datetime, Decimal]]]  # member -> (sold_at, eligible spend)


@dataclass
class _Member:
    tier: str  # the tier code held, as the proposed or active program names them
    birth_month: int | None
    window: deque[tuple[datetime, Decimal]]  # eligible spend of earlier sales
    earned: dict[date, int] = field(default_factory=dict)  # local day -> points


class _Replay:
    """One program's run over the period, members and budgets held in memory."""

    def __init__(self, program: Program, start_tiers: dict[int, str], history: _History) -> None:
        self.program = program
        self.outcome = Outcome()
        known = {t.code for t in program.tiers}
        first = program.tiers[0].code
        self.start_tiers = {m: c if c in known else first for m, c in start_tiers.items()}
        self.history = history
        self.members: dict[int, _Member] = {}
        self.used: dict[str, Offer] = defaultdict(Offer)
        self.units: Counter[str] = Counter()

    def member(self, member_id: int, birth_month: int | None) -> _Member:
        if member_id not in self.members:
            self.members[member_id] = _Member(
                self.start_tiers.get(member_id, self.program.tiers[0].code),
                birth_month,
                deque(self.history.get(member_id, ())),
            )
        return self.members[member_id]

    def allowances(self) -> dict[str, Allowance]:
        left = {}
        for p in self.program.promotions:
            used = self.used[p.code]
            left[p.code] = Allowance(
                receipts=None if p.budget_count is None else p.budget_count - used.receipts,
                money=None if p.budget_amount is None else p.budget_amount - used.discount,
                units=None if p.budget_units is None else p.budget_units - self.units[p.code],
            )
        return left

    def price(self, sale: _Sale, birth_month: int | None) -> None:
        program, outcome = self.program, self.outcome
        local = sale.sold_at.astimezone(sale.zone)
        shopper, held = None, None
        if sale.member_id is not None:
            held = self.member(sale.member_id, birth_month)
            start = window_start(program, sale.sold_at)
            while held.window and held.window[0][0] <= start:
                held.window.popleft()
            shopper = pricing.Member(
                standing=Standing(
                    program.tier(held.tier),
                    sum((amount for _, amount in held.window), ZERO),
                    len(held.window),
                ),
                birth_month=held.birth_month,
                spendable_points=0,
                earned_today=held.earned.get(local.date(), 0),
            )
        priced = pricing.price_cart(
            program,
            pricing.Cart(
                items=sale.items,
                occasion=Occasion(store=sale.store, channel=sale.channel, at=local),
                day=local.date(),
                member=shopper,
                allowances=self.allowances(),
            ),
        )
        outcome.receipts += 1
        outcome.discount += priced.discount
        for offer in priced.promotions:
            outcome.offers[offer.code].receipts += 1
            outcome.offers[offer.code].discount += offer.discount
            self.used[offer.code].receipts += 1
            self.used[offer.code].discount += offer.discount
            self.units[offer.code] += offer.units
        if held is None:
            return
        outcome.member_receipts += 1
        outcome.points += priced.points_earned
        held.earned[local.date()] = held.earned.get(local.date(), 0) + priced.points_earned
        if priced.eligible_amount > 0:
            held.window.append((sale.sold_at, priced.eligible_amount))
        if priced.tier is not None and priced.tier.upgraded:
            outcome.moves[(held.tier, priced.tier.tier.code)] += 1
            held.tier = priced.tier.tier.code

    def finish(self) -> Outcome:
        self.outcome.liability = points.points_value(self.program.redemption, self.outcome.points)
        self.outcome.tiers = Counter(m.tier for m in self.members.values())
        return self.outcome


def _start_tiers(session: Session, start: datetime) -> dict[int, str]:
    query = (
        select(TierChange.member_id, TierChange.to_code)
        .where(TierChange.changed_at < start)
        .order_by(TierChange.changed_at, TierChange.id)
    )
    return dict(session.execute(query).all())


def _history(session: Session, programs: Sequence[Program], start: datetime) -> _History:
    """Eligible spend recorded before the period, within the longer of the two windows."""
    since = min(window_start(p, start) for p in programs)
    query = (
        select(
            ReceiptPoints.member_id,
            ReceiptPoints.sold_at,
            ReceiptPoints.eligible_amount,
            ReceiptPoints.refunded_eligible_amount,
        )
        .where(
            ReceiptPoints.sold_at > since,
            ReceiptPoints.sold_at < start,
            ReceiptPoints.eligible_amount > 0,
        )
        .order_by(ReceiptPoints.sold_at)
    )
    history: _History = defaultdict(list)
    for member_id, sold_at, eligible, refunded in session.execute(query):
        history[member_id].append((sold_at, eligible - refunded))
    return history


def simulate(
    session: Session, *, active: Program, proposed: Program, start: datetime, end: datetime
) -> Comparison:
    """Price the receipts sold in [start, end) by both programs; nothing is written."""
    if end <= start:
        raise InvalidInput("the period ends before it starts", field="to")
    tiers = _start_tiers(session, start)
    history = _history(session, (active, proposed), start)
    months = dict(session.execute(select(Member.id, Member.birth_month)).all())
    replays = [_Replay(program, tiers, history) for program in (active, proposed)]
    for sale in _sales(session, start, end):
        birth_month = months.get(sale.member_id) if sale.member_id is not None else None
        for replay in replays:
            replay.price(sale, birth_month)
    first, second = (replay.finish() for replay in replays)
    return Comparison(start, end, first, second)
