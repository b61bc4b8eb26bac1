"""Use cases of coupons: templates, issuing, the wallet, voiding, expiry, redemption."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from regulars.coupons import codes
from regulars.coupons.models import Coupon, CouponKind, CouponStatus, CouponTemplate
from regulars.coupons.rules import PresentedCoupon
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.errors import Conflict, NotFound
from regulars.points.service import lock_member


class CouponTemplateNotFound(NotFound):
    code = "coupon_template_not_found"


class CouponNotFound(NotFound):
    code = "coupon_not_found"


class CouponsSoldOut(Conflict):
    code = "coupons_sold_out"


class CouponLimitReached(Conflict):
    code = "coupon_limit_reached"


class CouponNotRedeemable(Conflict):
    code = "coupon_not_redeemable"


def add_template(session: Session, *, data: CouponTemplateCreate, now: datetime) -> CouponTemplate:
    if session.scalar(select(CouponTemplate.id).where(CouponTemplate.code == data.code)):
        raise Conflict(f"coupon template {data.code!r} already exists", field="code")
    template = CouponTemplate(**data.model_dump(), issued_count=0, created_at=now)
    session.add(template)
    session.flush()
    return template


def list_templates(
    session: Session, *, after_id: int = 0, limit: int = 100
) -> list[CouponTemplate]:
    """Coupon templates in id order, a page at a time."""
    query = select(CouponTemplate).where(CouponTemplate.id > after_id)
    return list(session.scalars(query.order_by(CouponTemplate.id).limit(limit)))


@dataclass(frozen=True)
class TemplateUse:
    """How a template's coupons fared: issued, redeemed, still usable, and what is left."""

    template: CouponTemplate
    issued: int
    redeemed: int
    expired: int

    @property
    def left(self) -> int | None:
        quantity = self.template.total_quantity
        return None if quantity is None else quantity - self.template.issued_count

    @property
    def redemption_rate(self) -> float | None:
        return self.redeemed / self.issued if self.issued else None


def template_use(session: Session) -> list[TemplateUse]:
    """Every template with the fate of its coupons."""
    counts = {
        template_id: (issued, redeemed, expired)
        for template_id, issued, redeemed, expired in session.execute(
            select(
                Coupon.template_id,
                func.count(),
                func.count().filter(Coupon.status == CouponStatus.REDEEMED),
                func.count().filter(Coupon.status == CouponStatus.EXPIRED),
            ).group_by(Coupon.template_id)
        )
    }
    return [
        TemplateUse(template, *counts.get(template.id, (0, 0, 0)))
        for template in session.scalars(select(CouponTemplate).order_by(CouponTemplate.id))
    ]


def get_template(session: Session, *, code: str) -> CouponTemplate:
    template = session.scalars(select(CouponTemplate).where(CouponTemplate.code == code)).first()
    if template is None:
        raise CouponTemplateNotFound(f"no coupon template {code!r}", field="template")
    return template


HELD_BATCH = 10_000  # members whose coupons one statement counts


def _held(session: Session, template_id: int, members: list[int]) -> dict[int, int]:
    """How many coupons of the template each member holds already."""
    held: dict[int, int] = {}
    for start in range(0, len(members), HELD_BATCH):
        query = (
            select(Coupon.member_id, func.count())
            .where(
                Coupon.template_id == template_id,
                Coupon.member_id.in_(members[start : start + HELD_BATCH]),
            )
            .group_by(Coupon.member_id)
        )
        held |= {member_id: count for member_id, count in session.execute(query) if member_id}
    return held


def issue_coupons(
    session: Session,
    *,
    template_code: str,
    member_ids: Sequence[int | None],
    now: datetime,
    source: str,
    rng: Random | None = None,
) -> list[Coupon]:
    """Issue one coupon to each member listed (None: a bearer coupon anyone may use).

    All or nothing when the template runs out. Members are locked first, in id order, and
    the template's counter last, the same order a sale takes them, so the two never deadlock.
    """
    template = get_template(session, code=template_code)
    members = sorted({m for m in member_ids if m is not None})
    for member_id in members:
        lock_member(session, member_id)
    if template.per_member_limit is not None:
        asked = Counter(m for m in member_ids if m is not None)
        held = _held(session, template.id, members)
        for member_id in members:
            holds = held.get(member_id, 0) + asked[member_id]
            if holds > template.per_member_limit:
                raise CouponLimitReached(
                    f"member {member_id} would hold {holds} {template.code} coupons "
                    f"(limit {template.per_member_limit})"
                )
    taken = session.execute(
        update(CouponTemplate)
        .where(CouponTemplate.id == template.id)
        .where(
            (CouponTemplate.total_quantity.is_(None))
            | (CouponTemplate.issued_count + len(member_ids) <= CouponTemplate.total_quantity)
        )
        .values(issued_count=CouponTemplate.issued_count + len(member_ids))
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise CouponsSoldOut(f"{template.code}: fewer than {len(member_ids)} coupons left")
    session.refresh(template)
    valid_from = max(template.valid_from or now, now)
    until = template.valid_until
    if template.valid_days is not None:
        by_days = now + timedelta(days=template.valid_days)
        until = min(until, by_days) if until else by_days
    issued = [
        Coupon(
            template_id=template.id,
            code=codes.new_code(rng),
            member_id=member_id,
            status=CouponStatus.ISSUED,
            issued_at=now,
            valid_from=valid_from,
            valid_until=until,
            source=source,
        )
        for member_id in member_ids
    ]
    session.add_all(issued)
    session.flush()
    return issued


class WalletView(StrEnum):
    USABLE = "usable"
    USED = "used"
    EXPIRED = "expired"  # also those past their validity that the nightly job has not marked
    VOIDED = "voided"
    ALL = "all"


def wallet(
    session: Session, *, member_id: int, now: datetime, view: WalletView = WalletView.USABLE
) -> list[Coupon]:
    """A member's coupons of one kind (by default those that can still be used), soonest to
    expire first."""
    lapsed = Coupon.valid_until.is_not(None) & (Coupon.valid_until <= now)
    shown = {
        WalletView.USABLE: (Coupon.status == CouponStatus.ISSUED) & ~lapsed,
        WalletView.USED: Coupon.status == CouponStatus.REDEEMED,
        WalletView.EXPIRED: (Coupon.status == CouponStatus.EXPIRED)
        | ((Coupon.status == CouponStatus.ISSUED) & lapsed),
        WalletView.VOIDED: Coupon.status == CouponStatus.VOIDED,
        WalletView.ALL: Coupon.id.is_not(None),
    }[view]
    query = (
        select(Coupon)
        .where(Coupon.member_id == member_id, shown)
        .order_by(Coupon.valid_until.is_(None), Coupon.valid_until, Coupon.id)
    )
    return list(session.scalars(query))


def void_coupon(session: Session, *, code: str) -> Coupon:
    coupon = _by_code(session, code)
    if coupon.status is not CouponStatus.ISSUED:
        raise CouponNotRedeemable(f"coupon {code} is {coupon.status}, it cannot be voided")
    coupon.status = CouponStatus.VOIDED
    session.flush()
    return coupon


def expire_coupons(session: Session, *, as_of: datetime) -> int:
    result = session.execute(
        update(Coupon)
        .where(Coupon.status == CouponStatus.ISSUED, Coupon.valid_until <= as_of)
        .values(status=CouponStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _by_code(session: Session, code: str) -> Coupon:
    coupon = session.scalars(select(Coupon).where(Coupon.code == codes.normalise(code))).first()
    if coupon is None:
        raise CouponNotFound(f"no coupon {code!r}", field="coupons")
    return coupon


def _problem(
    code: str, coupon: Coupon | None, member_id: int | None, now: datetime
) -> tuple[str, str] | None:
    if coupon is None and not codes.is_well_formed(code):
        return "coupon_check_failed", "this is no coupon code as printed: check what was typed"
    if coupon is None:
        return "coupon_unknown", "no such coupon"
    if coupon.status is CouponStatus.REDEEMED:
        return "coupon_redeemed", "this coupon was already used"
    if coupon.status is CouponStatus.VOIDED:
        return "coupon_voided", "this coupon was withdrawn"
    if coupon.status is CouponStatus.EXPIRED or (coupon.valid_until and coupon.valid_until <= now):
        return "coupon_expired", "this coupon has expired"
    if coupon.valid_from > now:
        return "coupon_not_yet_valid", f"valid from {coupon.valid_from:%Y-%m-%d %H:%M} UTC"
    if coupon.member_id is not None and coupon.member_id != member_id:
        return "coupon_other_member", "this coupon belongs to another member"
    return None


def presented(
    session: Session, *, coupon_codes: Sequence[str], member_id: int | None, now: datetime
) -> list[PresentedCoupon]:
    """The coupons shown at the till, with their terms and what is wrong with each."""
    wanted = [codes.normalise(code) for code in coupon_codes]
    if not wanted:
        return []
    found = {c.code: c for c in session.scalars(select(Coupon).where(Coupon.code.in_(wanted)))}
    templates = {
        t.id: t
        for t in session.scalars(
            select(CouponTemplate).where(
                CouponTemplate.id.in_({c.template_id for c in found.values()})
            )
        )
    }
    shown = []
    for code in wanted:
        coupon = found.get(code)
        template = templates.get(coupon.template_id) if coupon else None
        problem = _problem(code, coupon, member_id, now)
        if template is None:  # unknown code: rejected for its problem, the terms never read
            shown.append(
                PresentedCoupon(
                    code=code, template="", name="", kind=CouponKind.AMOUNT_OFF, problem=problem
                )
            )
            continue
        shown.append(
            PresentedCoupon(
                code=code,
                template=template.code,
                name=template.name,
                kind=template.kind,
                amount=template.amount,
                percent=template.percent,
                max_discount=template.max_discount,
                free_sku=template.free_sku,
                min_spend=template.min_spend,
                skus=tuple(template.skus),
                categories=tuple(template.categories),
                stores=tuple(template.stores),
                problem=problem,
            )
        )
    return shown


def redeem_coupon(session: Session, *, code: str, now: datetime) -> int:
    """Mark a coupon used; exactly one of any number of concurrent tries succeeds."""
    result = session.execute(
        update(Coupon)
        .where(Coupon.code == code, Coupon.status == CouponStatus.ISSUED)
        .values(status=CouponStatus.REDEEMED, redeemed_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CouponNotRedeemable(f"coupon {code} was used at the same moment", field="coupons")
    return int(session.scalar(select(Coupon.id).where(Coupon.code == code)) or 0)
