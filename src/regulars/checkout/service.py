"""Use cases of the till: quote a cart, commit a sale exactly once, refund it.

Quote and sale are priced by the same function (pricing.price_cart) on the same data, so
they never disagree. A committed sale's answer is stored: a till that retries gets it back
and nothing moves twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from regulars.batch import Outcome, Recorded
from regulars.catalog.models import Store
from regulars.catalog.service import (
    Catalog,
    ProductInfo,
    ProductNotFound,
    StoreInfo,
    StoreNotFound,
    catalog_copy,
)
from regulars.checkout import pricing
from regulars.checkout.events import SaleCommitted, publish
from regulars.checkout.models import CommittedSale
from regulars.checkout.pricing import Cart
from regulars.checkout.schemas import (
    CartIn,
    CartLine,
    ConsideredOfferOut,
    OfferOut,
    PricedLineOut,
    Quote,
    RejectedCouponOut,
    SaleIn,
    SaleResult,
    TierProgressOut,
)
from regulars.clock import as_utc
from regulars.coupons.models import Coupon
from regulars.coupons.service import (
    CouponNotRedeemable,
    presented,
    redeem_coupon,
)
from regulars.db import bulk_insert, table
from regulars.errors import Conflict, Contention
from regulars.members.models import Member, MemberStatus
from regulars.members.service import MemberNotActive
from regulars.points import rules
from regulars.points.models import EntryKind, ReceiptPoints
from regulars.points.service import (
    add_points,
    balance,
    take_points,
)
from regulars.program.schema import Program
from regulars.program.service import NoProgram, active_program
from regulars.promotions.rules import Allowance, Occasion
from regulars.promotions.service import allowances, take_budget
from regulars.sales.models import Receipt
from regulars.sales.rules import Limits, fingerprint, line_amount
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import (
    Lookups,
    UnknownMemberCard,
    draft_receipt,
    record_receipts,
    write_receipt,
)
from regulars.tiers.models import MemberTier
from regulars.tiers.rules import TierOutcome
from regulars.tiers.service import before_sale


class PointsNotRedeemable(Conflict):
    code = "points_not_redeemable"


class SaleAlreadyRecorded(Conflict):
    code = "receipt_conflict"


_ANSWER = bulk_insert(CommittedSale)  # the till's inserts, built once
_RECEIPT_POINTS = bulk_insert(ReceiptPoints)


def _member_by_card(lock: bool) -> Select[Member, MemberTier]:
    """The member and their tier: what a sale needs only, the sealed personal data is not
    opened. `lock` for a sale, whose first lock is always the member's."""
    needs = (
        Member.id,
        Member.card_number,
        Member.status,
        Member.birth_month,
        Member.referred_by_id,
    )
    query = (
        select(Member, MemberTier)
        .outerjoin(MemberTier, MemberTier.member_id == Member.id)
        .where(Member.card_number == bindparam("card"))
        .options(load_only(*needs))
        .execution_options(populate_existing=True)
    )
    return query.with_for_update(of=Member, key_share=True) if lock else query


_MEMBER_BY_CARD = {lock: _member_by_card(lock) for lock in (False, True)}  # built once


@dataclass(frozen=True)
class _Setting:
    """Everything about a cart the pricing function needs, read from the database."""

    cart: Cart
    store: StoreInfo
    channel: str
    sold_at: datetime
    member: Member | None
    products: dict[str, ProductInfo]
    owes_points: bool  # the member owes points from a refund: their earnings pay it first


def _setting(
    session: Session,
    cart: CartIn,
    program: Program,
    now: datetime,
    *,
    catalog: Catalog,
    lock: bool = False,
) -> _Setting:
    """Read the cart's store, products and member; `lock` takes the member's lock for a sale."""
    store = catalog.store(session, cart.store_code)
    if store is None:
        raise StoreNotFound(f"unknown store {cart.store_code!r}", field="store_code")
    zone = ZoneInfo(store.timezone)
    sold_at = as_utc(cart.sold_at, zone) if cart.sold_at else now
    products = catalog.products(session, (line.sku for line in cart.lines))
    items = []
    for index, line in enumerate(cart.lines):
        product = products.get(line.sku)
        if product is None:
            raise ProductNotFound(f"unknown SKU {line.sku!r}", field=f"lines.{index}.sku")
        items.append(
            pricing.CartItem(
                sku=product.sku,
                categories=catalog.categories_of(session, product),
                quantity=line.quantity,
                unit_price=product.regular_price if line.unit_price is None else line.unit_price,
                excluded_from_promotions=product.excluded_from_promotions,
                excluded_from_points=product.excluded_from_points,
            )
        )
    member = None
    shopper = None
    owes_points = False
    if cart.member_card:
        found = session.execute(_MEMBER_BY_CARD[lock], {"card": cart.member_card}).first()
        if found is None:
            raise UnknownMemberCard(f"no member has card {cart.member_card!r}", field="member_card")
        member, held = found
        if member.status is not MemberStatus.ACTIVE:
            raise MemberNotActive(f"member card is {member.status}", field="member_card")
        day_start = datetime.combine(sold_at.astimezone(zone).date(), time.min, tzinfo=zone)
        context = before_sale(
            session,
            member_id=member.id,
            held=held,
            program=program,
            sold_at=sold_at,
            day_start=day_start,
        )
        shopper = pricing.Member(
            standing=context.standing,
            birth_month=member.birth_month,
            spendable_points=balance(session, member_id=member.id, now=now).spendable
            if cart.redeem_points
            else 0,
            earned_today=context.earned_today,
        )
        owes_points = context.owes_points
    local = sold_at.astimezone(zone)
    channel = str(cart.channel or store.channel)
    return _Setting(
        cart=pricing.Cart(
            items=items,
            occasion=Occasion(store=store.code, channel=channel, at=local),
            day=local.date(),
            member=shopper,
            coupons=presented(
                session, coupon_codes=cart.coupons, member_id=member.id if member else None, now=now
            ),
            points_wanted=cart.redeem_points,
        ),
        store=store,
        channel=channel,
        sold_at=sold_at,
        member=member,
        products=products,
        owes_points=owes_points,
    )


def _quote(priced: pricing.PricedCart) -> dict[str, object]:
    return {
        "lines": [
            PricedLineOut(
                line_no=line.line_no,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                amount=line.left,
                offers=line.offers,
            )
            for line in priced.lines
        ],
        "promotions": [
            OfferOut(code=o.code, name=o.name, discount=o.discount) for o in priced.promotions
        ],
        "considered": [
            ConsideredOfferOut(code=o.code, name=o.name, applied=True, discount=o.discount)
            for o in priced.promotions
        ]
        + [
            ConsideredOfferOut(
                code=o.code,
                name=o.name,
                applied=False,
                discount=Decimal("0.00"),
                reason=o.reason,
                message=o.message,
            )
            for o in priced.skipped_promotions
        ],
        "coupons": [
            OfferOut(code=o.code, name=o.name, discount=o.discount) for o in priced.coupons
        ],
        "rejected_coupons": [
            RejectedCouponOut(code=r.code, reason=r.reason, message=r.message)
            for r in priced.rejected_coupons
        ],
        "gross": priced.gross,
        "discount": priced.discount,
        "total": priced.total,
        "points_redeemed": priced.points_redeemed,
        "redeemed_value": priced.redeemed_value,
        "to_pay": priced.to_pay,
        "points_problem": priced.points_problem,
        "points_earned": priced.points_earned,
        "earn_reasons": priced.earn_reasons,
        "tier": _tier_out(priced.tier) if priced.tier else None,
    }


def _tier_out(outcome: TierOutcome) -> TierProgressOut:
    return TierProgressOut(
        tier=outcome.tier.code,
        next_tier=outcome.next_tier.code if outcome.next_tier else None,
        spend_to_next=outcome.spend_to_next,
        visits_to_next=outcome.visits_to_next,
        review_on=outcome.review_on,
        message=outcome.message,
    )


def quote(session: Session, *, cart: CartIn, now: datetime) -> Quote:
    """Price a cart exactly as a sale would be priced now; nothing is written."""
    _, program = active_program(session)
    setting = _setting(session, cart, program, now, catalog=catalog_copy(session))
    return Quote.model_validate(_quote(_priced(session, program, setting.cart)))


_RECEIPT, _STORE = table(Receipt).c, table(Store).c
_RECORDED = (
    select(_RECEIPT.id)
    .join_from(table(Receipt), table(Store), _STORE.id == _RECEIPT.store_id)
    .where(_STORE.code == bindparam("store"), _RECEIPT.pos_receipt_no == bindparam("number"))
)


def _replay(session: Session, sale: SaleIn, request: str) -> SaleResult | None:
    """The answer already given for this store and receipt number, if any."""
    receipt_id = session.scalar(
        _RECORDED, {"store": sale.store_code, "number": sale.pos_receipt_no}
    )
    if receipt_id is None:
        return None
    committed = session.get(CommittedSale, receipt_id)
    if committed is None or committed.request_fingerprint != request:
        raise SaleAlreadyRecorded(
            f"receipt {sale.pos_receipt_no!r} of store {sale.store_code} was already recorded "
            "with different content",
            field="pos_receipt_no",
        )
    return SaleResult.model_validate_json(committed.result).model_copy(update={"created": False})


def commit_sale(session: Session, *, sale: SaleIn, now: datetime, limits: Limits) -> SaleResult:
    """Price and record a sale: take budgets, coupons and points; credit the points it earns.

    The same sale sent again (same store, receipt number and content) gets the first answer
    and changes nothing, also when the copies arrive at the same moment.
    """
    request = fingerprint(sale.model_dump(mode="json"))
    replayed = _replay(session, sale, request)
    if replayed is not None:
        return replayed
    version, program = active_program(session)
    try:
        return _commit(session, sale, request, version, program, now, limits)
    except (CouponNotRedeemable, IntegrityError) as race:
        # Another till took the coupon, or recorded this very receipt, since it was read.
        raise Contention(str(race)) from race


def _commit(
    session: Session,
    sale: SaleIn,
    request: str,
    version: int,
    program: Program,
    now: datetime,
    limits: Limits,
) -> SaleResult:
    setting = _setting(session, sale, program, now, catalog=catalog_copy(session), lock=True)
    priced = _price_within_budgets(session, program, setting.cart)
    if priced.points_problem:
        raise PointsNotRedeemable(priced.points_problem, field="redeem_points")
    coupon_ids = [redeem_coupon(session, code=c.code, now=now) for c in priced.coupons]
    draft = draft_receipt(
        ReceiptIn(
            store_code=sale.store_code,
            pos_receipt_no=sale.pos_receipt_no,
            sold_at=setting.sold_at,
            channel=sale.channel,
            member_card=sale.member_card,
            payment_method=sale.payment_method,
            lines=[
                ReceiptLineIn(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    line_discount=line.discount,
                )
                for line in priced.lines
            ],
        ),
        Lookups(
            stores={setting.store.code: setting.store},
            products=setting.products,
            members={sale.member_card: setting.member.id}
            if setting.member and sale.member_card
            else {},
        ),
        now,
        limits,
    )
    receipt_id = write_receipt(session, draft)
    if coupon_ids:
        session.execute(
            update(Coupon)
            .where(Coupon.id.in_(coupon_ids))
            .values(receipt_id=receipt_id)
            .execution_options(synchronize_session=False)
        )
    upgraded = None
    if setting.member is not None:
        # A till clock a little ahead still counts this sale when the upgrade is dated.
        at = max(now, setting.sold_at)
        upgraded = _move_points(session, setting, priced, receipt_id, version, program, now, at)
    result = SaleResult.model_validate(
        {
            **_quote(priced),
            "receipt_id": receipt_id,
            "created": True,
            "program_version": version,
            "sold_at": setting.sold_at,
            "upgraded_to": upgraded,
        }
    )
    answer = result.model_dump_json()
    session.execute(
        _ANSWER, {"receipt_id": receipt_id, "request_fingerprint": request, "result": answer}
    )
    return result


def _priced(session: Session, program: Program, cart: Cart) -> pricing.PricedCart:
    """Price the cart with what is left of the budgets of the offers it would use: only
    those are read, and none when the cart uses no budgeted offer."""
    by_code = {p.code: p for p in program.promotions}
    known: dict[str, Allowance] = {}
    while True:
        priced = pricing.price_cart(program, replace(cart, allowances=known))
        unread = [by_code[o.code] for o in priced.promotions if o.code not in known]
        found = allowances(session, unread)
        if not found:  # no offer it uses has a budget left unread: the price stands
            return priced
        known |= {p.code: found.get(p.code, Allowance()) for p in unread}


def _price_within_budgets(session: Session, program: Program, cart: Cart) -> pricing.PricedCart:
    """Price, then take each promotion's budget; when another till used it up since it was
    read, the unit of work runs again and prices the sale without that offer."""
    priced = _priced(session, program, cart)
    by_code = {p.code: p for p in program.promotions}
    for offer in priced.promotions:
        if not take_budget(session, by_code[offer.code], offer):
            raise Contention(f"the budget of {offer.code} was used up meanwhile")
    return priced


def _move_points(
    session: Session,
    setting: _Setting,
    priced: pricing.PricedCart,
    receipt_id: int,
    version: int,
    program: Program,
    now: datetime,
    at: datetime,
) -> str | None:
    """Take the points paid with, credit the points earned, then announce the sale to its
    follow-ups (see events.py); returns the tier the sale reached, if any.

    `now` is when this is written, `at` when a tier reached by the sale is held from.
    """
    member = setting.member
    assert member is not None
    zone = ZoneInfo(setting.store.timezone)
    if priced.points_redeemed:
        take_points(
            session,
            member_id=member.id,
            points=priced.points_redeemed,
            kind=EntryKind.BURN,
            now=now,
            receipt_id=receipt_id,
            reason="paid with points",
        )
    add_points(
        session,
        member_id=member.id,
        points=priced.points_earned,
        kind=EntryKind.EARN,
        now=now,
        earned_at=setting.sold_at,
        available_at=rules.available_from(setting.sold_at, program.earning.pending_days),
        expires_at=rules.expiry_of(program, setting.sold_at, zone),
        receipt_id=receipt_id,
        reason="; ".join(priced.earn_reasons),
        may_owe=setting.owes_points,
    )
    eligible = priced.eligible_amount
    session.execute(
        _RECEIPT_POINTS,
        {
            "receipt_id": receipt_id,
            "member_id": member.id,
            "program_version": version,
            "eligible_amount": eligible,
            "refunded_eligible_amount": Decimal(0),
            "earned": priced.points_earned,
            "reversed": 0,
            "redeemed": priced.points_redeemed,
            "redeemed_value": priced.redeemed_value,
            "returned": 0,
            "sold_at": setting.sold_at,
        },
    )
    publish(
        session,
        SaleCommitted(
            receipt_id=receipt_id,
            member_id=member.id,
            eligible=eligible,
            tier=priced.tier,
            program=program,
            program_version=version,
            now=now,
            at=at,
        ),
    )
    return priced.tier.tier.code if priced.tier and priced.tier.upgraded else None


def credit_recorded(
    session: Session, *, receipts: Sequence[tuple[int, ReceiptIn]], now: datetime
) -> None:
    """Earn the points and tier progress of receipts recorded outside the till (imports).

    The receipts carry their discounts already, so only the earning and tier rules of the
    active program apply, in the order the purchases were made and dated when they were made.
    Receipts of a closed or frozen account, and all receipts before any program was applied,
    earn nothing.
    """
    member_receipts = [pair for pair in receipts if pair[1].member_card is not None]
    if not member_receipts:
        return
    try:
        version, program = active_program(session)
    except NoProgram:
        return
    history = program.model_copy(update={"promotions": []})  # priced at the till already
    catalog = catalog_copy(session)
    for receipt_id, receipt in sorted(member_receipts, key=lambda pair: pair[1].sold_at):
        cart = CartIn.model_construct(
            store_code=receipt.store_code,
            channel=receipt.channel,
            member_card=receipt.member_card,
            sold_at=receipt.sold_at,
            lines=[
                CartLine.model_construct(
                    sku=line.sku,
                    quantity=Decimal(1),
                    unit_price=line_amount(line.quantity, line.unit_price, line.line_discount),
                )
                for line in receipt.lines
            ],
            coupons=[],
            redeem_points=0,
        )
        try:
            setting = _setting(session, cart, history, now, catalog=catalog, lock=True)
        except MemberNotActive:
            continue
        priced = pricing.price_cart(history, setting.cart)
        at = setting.sold_at  # the points moved when the purchase was made
        _move_points(session, setting, priced, receipt_id, version, program, at, at)


def record_and_credit(
    session: Session,
    *,
    receipts: Sequence[ReceiptIn],
    now: datetime,
    limits: Limits,
    earn: bool = True,
) -> list[Outcome]:
    """Record receipts from outside the till; with `earn`, credit what the new ones earn."""
    outcomes = record_receipts(session, receipts=receipts, now=now, limits=limits)
    if earn:
        new = [
            (outcome.id, receipt)
            for outcome, receipt in zip(outcomes, receipts, strict=True)
            if isinstance(outcome, Recorded) and outcome.created
        ]
        credit_recorded(session, receipts=new, now=now)
    return outcomes
