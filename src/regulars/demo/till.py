"""The demo chain's loyalty life, made through the same services a chain uses.

Before the period the chain ran another loyalty system: members who joined earlier carry a
balance over, with expiry dates inside the period. The last week is sold through the till:
the program's offers price the carts, members hand over the coupons they hold and pay with
points. At the end the nightly jobs run for each month, so points mature and expire.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from random import Random

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from regulars.checkout.schemas import CartLine, SaleIn
from regulars.checkout.service import PointsNotRedeemable, commit_sale
from regulars.coupons.models import Coupon, CouponStatus
from regulars.coupons.service import expire_coupons, issue_coupons, wallet
from regulars.demo.generator import ZONE, DemoChain, as_utc_datetime
from regulars.points.models import EntryKind, PointEntry
from regulars.points.opening import open_balances
from regulars.points.schemas import OpeningBalanceIn
from regulars.points.service import balance, expire_points, mature_points
from regulars.promotions.models import PromotionUsage
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn
from regulars.tiers.models import TierChange

TILL_DAYS = 7  # the last week goes through the till
CARRIED_OVER = 0.5  # share of earlier members with a balance from the previous system
COUPON_USE = 0.6  # a member holding a coupon hands it over
PAYS_WITH_POINTS = 0.15  # a member with spendable points uses some
WELCOME_COUPON = "WELCOME10"


def till_start(chain: DemoChain) -> datetime:
    """When the till takes over: the last week of sales (of the history, if none were made)."""
    if len(chain.sales.sold_at):
        last = as_utc_datetime(chain.sales.sold_at[-1])
    else:
        last = datetime.combine(chain.until, time.min, tzinfo=ZONE).astimezone(UTC)
    return last - timedelta(days=TILL_DAYS)


def _month_starts(start: date, until: date) -> list[date]:
    firsts = []
    year, month = start.year, start.month
    while (first := date(year, month, 1)) <= until:
        if first > start:
            firsts.append(first)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return firsts


def carry_balances_over(
    session: Session, *, chain: DemoChain, cards: Sequence[str], rng: Random
) -> None:
    """Opening balances of members who joined before the period, expiring at month starts."""
    start = datetime.combine(chain.start, time.min, ZONE)
    expiries = _month_starts(chain.start, chain.until)[1:] or [chain.until]
    rows = [
        OpeningBalanceIn(
            member_card=card,
            points=rng.randrange(100, 3000, 10),
            expires_at=datetime.combine(rng.choice(expiries), time.min),
        )
        for card, joined in zip(cards, chain.members.joined_at, strict=True)
        if as_utc_datetime(joined) < start and rng.random() < CARRIED_OVER
    ]
    open_balances(session, balances=rows, now=start, zone=ZONE)


def welcome_campaign(
    session: Session, *, chain: DemoChain, member_ids: Sequence[int], at: datetime
) -> None:
    """Members who joined during the period get a welcome coupon when the till weeks begin."""
    joined = [
        member
        for member, moment in zip(member_ids, chain.members.joined_at, strict=True)
        if chain.start <= as_utc_datetime(moment).date()
    ]
    issue_coupons(session, template_code=WELCOME_COUPON, member_ids=joined, now=at, source="demo")


def _sale(session: Session, receipt: ReceiptIn, member_id: int | None, rng: Random) -> SaleIn:
    coupons: list[str] = []
    points = 0
    if member_id is not None:
        held = wallet(session, member_id=member_id, now=receipt.sold_at)
        if held and rng.random() < COUPON_USE:
            coupons = [held[0].code]
        if rng.random() < PAYS_WITH_POINTS:
            spendable = balance(session, member_id=member_id, now=receipt.sold_at).spendable
            gross = sum(line.quantity * line.unit_price for line in receipt.lines)
            points = min(spendable, int(gross * 25)) // 100 * 100  # up to a quarter of it
    return SaleIn(
        store_code=receipt.store_code,
        pos_receipt_no=receipt.pos_receipt_no,
        sold_at=receipt.sold_at,
        member_card=receipt.member_card,
        payment_method=receipt.payment_method,
        lines=[
            CartLine(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
            for line in receipt.lines
        ],
        coupons=coupons,
        redeem_points=points if points >= 100 else 0,
    )


def sell(
    session: Session,
    *,
    receipts: Sequence[ReceiptIn],
    member_ids: dict[str, int],
    rng: Random,
    limits: Limits,
) -> list[int]:
    """Commit receipts at the till, each at its own moment; returns their ids."""
    ids = []
    for receipt in receipts:
        sale = _sale(session, receipt, member_ids.get(receipt.member_card or ""), rng)
        try:
            result = commit_sale(session, sale=sale, now=receipt.sold_at, limits=limits)
        except PointsNotRedeemable:  # the offers left less to pay than the points offered
            result = commit_sale(
                session,
                sale=sale.model_copy(update={"redeem_points": 0}),
                now=receipt.sold_at,
                limits=limits,
            )
        ids.append(result.receipt_id)
    return ids


def run_nightly_jobs(session: Session, *, chain: DemoChain, now: datetime) -> None:
    """Mature and expire points and coupons at every month start, then as of now."""
    moments = [
        datetime.combine(day, time.min, ZONE) for day in _month_starts(chain.start, chain.until)
    ]
    for moment in [*moments, now]:
        expire_points(session, as_of=moment)
        expire_coupons(session, as_of=moment)
    mature_points(session, as_of=now)


def loyalty_figures(session: Session) -> dict[str, int]:
    """What the program did, as the demo's summary shows it."""

    def points(kind: EntryKind) -> int:
        moved = select(func.coalesce(func.sum(PointEntry.points), 0))
        return abs(int(session.scalar(moved.where(PointEntry.kind == kind)) or 0))

    def count(query: Select[int]) -> int:
        return int(session.scalar(query) or 0)

    return {
        "points earned": points(EntryKind.EARN),
        "points carried over": points(EntryKind.OPENING),
        "points paid with": points(EntryKind.BURN),
        "points expired": points(EntryKind.EXPIRE),
        "tier upgrades": count(select(func.count()).select_from(TierChange)),
        "coupons redeemed": count(
            select(func.count()).where(Coupon.status == CouponStatus.REDEEMED)
        ),
        "receipts with an offer": count(select(func.sum(PromotionUsage.receipts))),
    }
