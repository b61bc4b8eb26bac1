"""Write a generated chain into the database through the services, or as Parquet files.

The Parquet files use the import layouts, so `regulars import members/receipts` loads them.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from random import Random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from regulars.batch import Recorded
from regulars.catalog.models import CategoryLevel, Channel
from regulars.catalog.schemas import CategoryCreate, ProductCreate, StoreCreate
from regulars.catalog.service import add_category, add_product, add_store
from regulars.checkout.refunds import refund_sale
from regulars.checkout.service import record_and_credit
from regulars.coupons.models import CouponKind, CouponTemplate
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.coupons.service import add_template
from regulars.db import bulk_insert, run_in_transaction
from regulars.demo import assortment as A
from regulars.demo import till
from regulars.demo.generator import PAYMENTS, ZONE, DemoChain, as_utc_datetime
from regulars.demo.marketing import SENT_BEFORE_THE_END, WINDOW, write_marketing
from regulars.demo.models import DemoMemberTruth
from regulars.demo.voice import write_voice
from regulars.errors import RegularsError
from regulars.members.models import ConsentChannel, Gender
from regulars.members.rules import new_card_number
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_members
from regulars.program.models import ProgramVersion
from regulars.program.service import apply_program
from regulars.sales.models import PaymentMethod
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn, RefundIn, RefundLineIn
from regulars.staff.models import StaffRole
from regulars.staff.service import create_user

GENDERS = (Gender.FEMALE, Gender.MALE, Gender.UNSPECIFIED)
CHANNELS = tuple(ConsentChannel)  # sms, email, push, wechat: the generator's column order
DEMO_SOURCE = "demo"
# The demo's console accounts, one per role; the store manager runs the first store.
DEMO_STAFF = {
    StaffRole.ADMIN: "admin",
    StaffRole.SUPPORT: "support",
    StaffRole.ANALYST: "analyst",
    StaffRole.MARKETING: "marketing",
    StaffRole.STORE_MANAGER: "manager",
}
DEMO_STAFF_PASSWORD = "regulars-demo"  # a demo database only; real accounts choose their own
BATCH = 4000

Progress = Callable[[str, int], None]


def card_numbers(chain: DemoChain, seed: int) -> list[str]:
    rng = Random(seed)
    return [new_card_number(rng) for _ in range(len(chain.members.phone))]


def _categories() -> list[CategoryCreate]:
    made: dict[str, CategoryCreate] = {}
    for sub in A.SUBCATEGORIES:
        department = sub.department.upper().replace(" ", "_")
        category = f"{department}.{sub.category.upper().replace(' ', '_').replace('&', 'AND')}"[:32]
        made.setdefault(
            department,
            CategoryCreate(
                code=department,
                name=sub.department,
                level=CategoryLevel.DEPARTMENT,
                excluded_from_rewards=sub.department == "Tobacco",
            ),
        )
        made.setdefault(
            category,
            CategoryCreate(
                code=category,
                name=sub.category,
                level=CategoryLevel.CATEGORY,
                parent_code=department,
                excluded_from_rewards=sub.category == "Infant formula",
            ),
        )
        made[sub.code] = CategoryCreate(
            code=sub.code, name=sub.name, level=CategoryLevel.SUBCATEGORY, parent_code=category
        )
    return list(made.values())


def _stores(chain: DemoChain) -> list[StoreCreate]:
    s = chain.stores
    return [
        StoreCreate(code=c, name=n, region=r, channel=Channel(ch), timezone=ZONE.key)
        for c, n, r, ch in zip(s.code, s.name, s.region, s.channel, strict=True)
    ]


def _products(chain: DemoChain) -> list[ProductCreate]:
    p = chain.products
    return [
        ProductCreate(
            sku=p.sku[i],
            name=p.name[i],
            brand=p.brand[i],
            category_code=A.SUBCATEGORIES[p.subcategory[i]].code,
            regular_price=Decimal(int(p.price_cents[i])).scaleb(-2),
            private_label=bool(p.private_label[i]),
            premium=bool(p.premium[i]),
            fresh=A.SUBCATEGORIES[p.subcategory[i]].fresh,
        )
        for i in range(len(p.sku))
    ]


def _member_records(chain: DemoChain, cards: list[str]) -> list[MemberCreate]:
    m = chain.members
    return [
        MemberCreate.model_construct(
            phone=m.phone[i],
            email=m.email[i],
            name=m.name[i],
            gender=GENDERS[m.gender[i]],
            birth_date=m.birth_date[i],
            join_store_code=chain.stores.code[m.home_store[i]],
            card_number=cards[i],
            joined_at=as_utc_datetime(m.joined_at[i]),
            referred_by_code=None,
            consents={CHANNELS[c]: bool(m.consents[i, c]) for c in range(len(CHANNELS))},
        )
        for i in range(len(cards))
    ]


def _receipts(chain: DemoChain, cards: list[str], indexes: range) -> Iterator[list[ReceiptIn]]:
    s = chain.sales
    bounds = np.searchsorted(s.line_receipt, np.arange(len(s.member) + 1))
    batch: list[ReceiptIn] = []
    for index in indexes:
        lines = [
            ReceiptLineIn.model_construct(
                sku=chain.products.sku[s.line_product[j]],
                quantity=Decimal(int(s.line_quantity_milli[j])).scaleb(-3),
                unit_price=Decimal(int(s.line_unit_price_cents[j])).scaleb(-2),
                line_discount=Decimal(int(s.line_discount_cents[j])).scaleb(-2),
            )
            for j in range(bounds[index], bounds[index + 1])
        ]
        member = s.member[index]
        batch.append(
            ReceiptIn.model_construct(
                store_code=chain.stores.code[s.store[index]],
                pos_receipt_no=s.pos_receipt_no[index],
                sold_at=as_utc_datetime(s.sold_at[index]),
                channel=None,
                member_card=cards[member] if member >= 0 else None,
                payment_method=PaymentMethod(PAYMENTS[s.payment[index]]),
                lines=lines,
            )
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def write_master_data(session: Session, *, chain: DemoChain) -> None:
    """Stores, the category tree and products."""
    for store in _stores(chain):
        add_store(session, data=store)
    for category in _categories():
        add_category(session, data=category)
    for product in _products(chain):
        add_product(session, data=product)


PROGRAM_FILE = Path(__file__).with_name("program.toml")
COUPON_TEMPLATES = (
    CouponTemplateCreate(
        code="WELCOME10",
        name="10 yuan off your first shop of 50 yuan",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal(10),
        min_spend=Decimal(50),
        valid_days=30,
        per_member_limit=1,
    ),
    CouponTemplateCreate(
        code="SILVER-WELCOME",
        name="welcome to Silver: 20 yuan off 100 yuan",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal(20),
        min_spend=Decimal(100),
        valid_days=60,
    ),
    CouponTemplateCreate(
        code="COMEBACK10",
        name="we miss you: 10 yuan off 50 yuan",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal(10),
        min_spend=Decimal(50),
        valid_days=21,
    ),
)


def write_program(session: Session, *, now: datetime) -> None:
    """The demo's coupon templates and loyalty program, unless a program is already active."""
    if session.scalar(select(ProgramVersion.id).limit(1)) is not None:
        return
    for template in COUPON_TEMPLATES:
        if (
            session.scalar(select(CouponTemplate.id).where(CouponTemplate.code == template.code))
            is None
        ):
            add_template(session, data=template, now=now)
    apply_program(session, text=PROGRAM_FILE.read_text(encoding="utf-8"), now=now, actor="demo")


def write_database(
    sessions: sessionmaker[Session],
    chain: DemoChain,
    *,
    seed: int,
    now: datetime,
    progress: Progress,
) -> dict[str, int]:
    """Load the chain through the same services the tills and imports use."""
    run_in_transaction(sessions, partial(write_master_data, chain=chain))
    run_in_transaction(sessions, partial(write_program, now=now))
    cards = card_numbers(chain, seed)
    records = _member_records(chain, cards)
    rng = Random(seed + 1)
    member_ids: list[int] = []
    for begin in range(0, len(records), BATCH):
        chunk = records[begin : begin + BATCH]
        enrol = partial(
            enroll_members,
            members=chunk,
            now=now,
            source=DEMO_SOURCE,
            region="CN",
            zone=ZONE,
            rng=rng,
        )
        outcomes = run_in_transaction(sessions, enrol)
        member_ids += [_recorded_id(o) for o in outcomes]
        progress("members", len(chunk))
    run_in_transaction(sessions, partial(_write_truth, chain=chain, member_ids=member_ids))

    loyalty = Random(seed + 2)
    run_in_transaction(
        sessions, partial(till.carry_balances_over, chain=chain, cards=cards, rng=loyalty)
    )
    receipt_ids: list[int] = []
    limits = Limits()
    opens = till.till_start(chain)
    first_sale = int(
        np.searchsorted(chain.sales.sold_at, np.datetime64(opens.replace(tzinfo=None)))
    )
    for batch in _receipts(chain, cards, range(first_sale)):
        record = partial(record_and_credit, receipts=batch, now=now, limits=limits)
        receipt_ids += [_recorded_id(o) for o in run_in_transaction(sessions, record)]
        progress("receipts", len(batch))
    campaign = partial(till.welcome_campaign, chain=chain, member_ids=member_ids, at=opens)
    run_in_transaction(sessions, campaign)
    by_card = dict(zip(cards, member_ids, strict=True))
    for batch in _receipts(chain, cards, range(first_sale, len(chain.sales.member))):
        sell = partial(till.sell, receipts=batch, member_ids=by_card, rng=loyalty, limits=limits)
        receipt_ids += run_in_transaction(sessions, sell)
        progress("receipts", len(batch))

    def refunds(session: Session) -> None:
        s = chain.sales
        for receipt, line_no, hours in zip(
            s.refund_receipt, s.refund_line_no, s.refund_after_hours, strict=True
        ):
            refunded_at = min(
                as_utc_datetime(s.sold_at[receipt]) + timedelta(hours=int(hours)), now
            )
            quantity = Decimal(
                int(s.line_quantity_milli[np.searchsorted(s.line_receipt, receipt) + line_no - 1])
            ).scaleb(-3)
            refund_sale(
                session,
                receipt_id=receipt_ids[receipt],
                now=now,
                limits=limits,
                refund=RefundIn(
                    pos_refund_no=f"R{receipt_ids[receipt]}",
                    refunded_at=refunded_at,
                    reason="customer return",
                    lines=[RefundLineIn(line_no=int(line_no), quantity=quantity)],
                ),
            )

    run_in_transaction(sessions, refunds)
    run_in_transaction(sessions, partial(till.run_nightly_jobs, chain=chain, now=now))
    run_in_transaction(sessions, partial(_write_staff, store=chain.stores.code[0], now=now))
    end = datetime.combine(chain.until, time.min, tzinfo=ZONE)
    window_end = (end - SENT_BEFORE_THE_END + WINDOW).astimezone(UTC).replace(tzinfo=None)
    left = chain.left_at
    shopping = {
        m for m, at in zip(member_ids, left, strict=True)
        if np.isnat(at) or at > np.datetime64(window_end, "s")
    }  # fmt: skip
    marketing = run_in_transaction(
        sessions,
        partial(write_marketing, now=now, seed=seed, history_end=end, shopping=shopping),
    )
    leaving = {
        m: as_utc_datetime(at) for m, at in zip(member_ids, left, strict=True) if not np.isnat(at)
    }
    spend = dict(zip(member_ids, chain.members.spend_level.tolist(), strict=True))
    voice = run_in_transaction(
        sessions,
        partial(write_voice, now=now, seed=seed, history_end=end, leaving=leaving, spend=spend),
    )
    return {
        "stores": len(chain.stores.code),
        "products": len(chain.products.sku),
        "members": len(member_ids),
        "receipts": len(receipt_ids),
        "lines": len(chain.sales.line_product),
        "refunds": len(chain.sales.refund_receipt),
        **run_in_transaction(sessions, till.loyalty_figures),
        "staff accounts": len(DEMO_STAFF),
        **marketing,
        **voice,
    }


def _write_staff(session: Session, *, store: str, now: datetime) -> None:
    for role, username in DEMO_STAFF.items():
        create_user(
            session,
            username=username,
            display_name=username.capitalize(),
            role=role,
            password=DEMO_STAFF_PASSWORD,
            now=now,
            store_code=store if role is StaffRole.STORE_MANAGER else None,
        )


def _recorded_id(outcome: Recorded | RegularsError) -> int:
    if isinstance(outcome, RegularsError):
        raise outcome
    return outcome.id


def _truth_columns(chain: DemoChain) -> dict[str, list[object]]:
    m = chain.members
    return {
        "household": [A.HOUSEHOLDS[h] for h in m.household],
        "shopper_type": [A.SHOPPER_TYPES[t] for t in m.shopper_type],
        "purchase_rate": m.purchase_rate.tolist(),
        "dropout_probability": m.dropout_probability.tolist(),
        "spend_level": m.spend_level.tolist(),
        "premium_share": m.premium_share.tolist(),
        "brand_concentration": m.brand_concentration.tolist(),
        "promotion_response": m.promotion_response.tolist(),
    }


def _write_truth(session: Session, *, chain: DemoChain, member_ids: list[int]) -> None:
    columns = _truth_columns(chain)
    rows = [
        {"member_id": member_id, **{name: values[i] for name, values in columns.items()}}
        for i, member_id in enumerate(member_ids)
    ]
    session.execute(bulk_insert(DemoMemberTruth), rows)


def write_parquet(directory: Path, chain: DemoChain, *, seed: int) -> dict[str, Path]:
    """The chain as Parquet files in the import layouts, plus the hidden truth per card."""
    directory.mkdir(parents=True, exist_ok=True)
    cards = card_numbers(chain, seed)
    m, s, p = chain.members, chain.sales, chain.products
    member_columns = {
        "card_number": cards,
        "phone": m.phone,
        "email": m.email,
        "name": m.name,
        "gender": [GENDERS[g].value for g in m.gender],
        "birth_date": m.birth_date,
        "joined_at": [as_utc_datetime(t) for t in m.joined_at],
        "join_store": [chain.stores.code[i] for i in m.home_store],
        **{f"consent_{c.value}": m.consents[:, i].tolist() for i, c in enumerate(CHANNELS)},
    }
    receipt_of_line = s.line_receipt
    line_member = s.member[receipt_of_line]
    line_columns = {
        "store": pa.array(np.array(chain.stores.code)[s.store[receipt_of_line]]),
        "pos_receipt_no": pa.array(np.array(s.pos_receipt_no)[receipt_of_line]),
        "sold_at": pa.array(
            s.sold_at[receipt_of_line].astype("datetime64[s]"), pa.timestamp("s", tz="UTC")
        ),
        "member_card": pa.array([cards[i] if i >= 0 else None for i in line_member]),
        "payment_method": pa.array(np.array(PAYMENTS)[s.payment[receipt_of_line]]),
        "sku": pa.array(np.array(p.sku)[s.line_product]),
        "quantity": _decimals(s.line_quantity_milli, 3),
        "unit_price": _decimals(s.line_unit_price_cents, 2),
        "line_discount": _decimals(s.line_discount_cents, 2),
    }
    files = {
        "stores": pa.Table.from_pylist([x.model_dump(mode="json") for x in _stores(chain)]),
        "categories": pa.Table.from_pylist([x.model_dump(mode="json") for x in _categories()]),
        "products": pa.Table.from_pylist([x.model_dump(mode="json") for x in _products(chain)]),
        "members": pa.table(member_columns),
        "receipt_lines": pa.table(line_columns),
        "member_truth": pa.table({"card_number": cards, **_truth_columns(chain)}),
    }
    written = {}
    for name, table in files.items():
        written[name] = directory / f"{name}.parquet"
        pq.write_table(table, written[name])
    return written


def _decimals(units: np.ndarray, scale: int) -> pa.Array:
    """Integer counts of 10**-scale as an exact decimal column."""
    return pa.array([Decimal(int(v)).scaleb(-scale) for v in units], pa.decimal128(18, scale))
