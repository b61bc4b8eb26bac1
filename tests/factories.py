"""Small factories for test data: call them with what matters to the test, nothing more."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.catalog.models import Category, CategoryLevel, Channel, Product, Store
from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.catalog.service import add_category, add_product, add_store
from regulars.coupons.models import Coupon, CouponKind, CouponStatus, CouponTemplate
from regulars.insights.models import ModelRun
from regulars.members.models import Member
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_member
from regulars.program.service import apply_program

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # noon in Shanghai
ZONE = ZoneInfo("Asia/Shanghai")


def make_store(session: Session, code: str = "S001", channel: Channel = Channel.STORE) -> Store:
    return add_store(
        session,
        data=StoreCreate(
            code=code,
            name=f"Store {code}",
            region="East",
            channel=channel,
            timezone="Asia/Shanghai",
        ),
    )


def _category(
    session: Session, code: str, level: CategoryLevel, parent: str | None, excluded: bool = False
) -> None:
    if session.scalar(select(Category.id).where(Category.code == code)) is None:
        add_category(
            session,
            data=CategoryCreate(
                code=code,
                name=code.title(),
                level=level,
                parent_code=parent,
                excluded_from_rewards=excluded,
            ),
        )


def make_product(
    session: Session,
    sku: str = "NOODLE-1",
    price: str = "4.50",
    subcategory: str = "NOODLES",
    excluded: bool = False,
) -> Product:
    _category(session, "GROCERY", CategoryLevel.DEPARTMENT, None)
    _category(session, "GROCERY.CAT", CategoryLevel.CATEGORY, "GROCERY")
    _category(session, subcategory, CategoryLevel.SUBCATEGORY, "GROCERY.CAT", excluded)
    return add_product(
        session,
        data=ProductCreate(
            sku=sku,
            name=sku.title(),
            brand="Acme",
            category_code=subcategory,
            regular_price=Decimal(price),
        ),
    )


def make_member(session: Session, phone: str = "13800138000", **fields: object) -> Member:
    return enroll_member(
        session,
        data=MemberCreate(phone=phone, **fields),  # type: ignore[arg-type]
        now=NOW,
        source="test",
        region="CN",
        zone=ZONE,
    )


PROGRAM = """
name = "Test program"
[earning]
points_per_yuan = 1
pending_days = {pending_days}
excluded_categories = ["TOBACCO"]
[expiry]
policy = "rolling"
months = 12
[[tiers]]
code = "regular"
name = "Regular"
[[tiers]]
code = "silver"
name = "Silver"
min_spend = 1000
earn_multiplier = 2
[redemption]
points_per_yuan = 100
min_points = 100
max_share = 0.5
"""


def make_program(session: Session, pending_days: int = 0, text: str | None = None) -> int:
    """Apply a small program (1 point a yuan, silver from 1,000 yuan, 12-month expiry)."""
    source = text or PROGRAM.format(pending_days=pending_days)
    return apply_program(session, text=source, now=NOW, actor="test").id


def make_model_run(session: Session) -> int:
    """A scoring run for stored scores and lists to name."""
    made = ModelRun(scored_at=NOW, data_until=NOW, description="{}")
    session.add(made)
    session.flush()
    return made.id


coupon_numbers = count()


def make_coupon_template(session: Session, code: str, **fields: object) -> CouponTemplate:
    made = CouponTemplate(
        code=code, name=f"{code} coupon", kind=CouponKind.AMOUNT_OFF, amount=Decimal(5),
        created_at=NOW - timedelta(days=90), **fields,
    )  # fmt: skip
    session.add(made)
    session.flush()
    return made


def give_coupons(
    session: Session,
    member: Member,
    made: CouponTemplate,
    status: CouponStatus,
    times: int = 1,
    *,
    valid_for_days: int = -2,
) -> None:
    """``times`` coupons of ``made`` given a month ago, now in ``status``, valid until
    ``valid_for_days`` from now (by default two days ago)."""
    for _ in range(times):
        session.add(
            Coupon(
                template_id=made.id, code=f"C{next(coupon_numbers):08d}", member_id=member.id,
                status=status, issued_at=NOW - timedelta(days=30),
                valid_from=NOW - timedelta(days=30),
                valid_until=NOW + timedelta(days=valid_for_days),
                redeemed_at=NOW - timedelta(days=20) if status == CouponStatus.REDEEMED else None,
                source="test",
            )
        )  # fmt: skip
    session.flush()
