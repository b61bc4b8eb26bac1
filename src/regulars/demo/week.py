"""A member's week at the demo supermarket, receipt by receipt: the README's worked example.

Everything goes through the same services as the tills: pricing, coupons, points, tiers,
refunds and the nightly jobs, on a database of its own.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from regulars.catalog.models import Category, Product
from regulars.checkout.refunds import refund_sale
from regulars.checkout.schemas import CartLine, RefundResult, SaleIn, SaleResult
from regulars.checkout.service import commit_sale
from regulars.coupons.service import issue_coupons, wallet
from regulars.db import run_in_transaction
from regulars.demo.generator import ZONE, generate
from regulars.demo.writers import write_master_data, write_program
from regulars.members.models import Gender
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_member
from regulars.points.bonuses import award_engagement
from regulars.points.service import balance, mature_points
from regulars.program.service import active_program
from regulars.sales.rules import Limits
from regulars.sales.schemas import RefundIn, RefundLineIn

LIMITS = Limits()


@dataclass(frozen=True)
class Day:
    day: date
    story: str
    sale: SaleResult | None
    points_total: int
    points_spendable: int
    tier: str
    note: str = ""


def _sku(session: Session, subcategory: str, n: int = 0) -> str:
    query = select(Product.sku).join(Category).where(Category.code == subcategory)
    return list(session.scalars(query.order_by(Product.sku)))[n]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 30), tzinfo=ZONE).astimezone(UTC)


def run_week(sessions: sessionmaker[Session], monday: date) -> list[Day]:
    """Prepare the demo chain, give Li Na a year of history, then live her week."""
    opening = _at(monday, 8) - timedelta(days=400)
    chain = generate(members=1, months=1, seed=7, stores=2, until=monday)
    run_in_transaction(sessions, partial(write_master_data, chain=chain))
    run_in_transaction(sessions, partial(write_program, now=opening))

    def enrol(session: Session) -> tuple[int, str]:
        member = enroll_member(
            session,
            now=opening,
            source="demo",
            region="CN",
            zone=ZONE,
            data=MemberCreate(
                phone="13812345678",
                name="李娜 Li Na",
                gender=Gender.FEMALE,
                birth_date=date(1988, 3, 9),
                join_store_code="S001",
                joined_at=opening,
            ),
        )
        return member.id, member.card_number

    member_id, card = run_in_transaction(sessions, enrol)
    with sessions() as session:
        sku = partial(_sku, session)
        basket = {
            name: sku(code, n)
            for name, code, n in (
                ("rice", "RICE", 0),
                ("oil", "OIL", 1),
                ("milk", "MILK", 0),
                ("eggs", "EGGS", 0),
                ("noodles", "NOOD", 0),
                ("fruit", "FRU", 0),
                ("pork", "PORK", 0),
                ("beer", "BEER", 0),
                ("snacks", "SNACK", 0),
                ("diapers", "DIAP", 0),
                ("wipes", "WIPE", 0),
                ("detergent", "DET", 0),
                ("formula", "FORM", 0),
            )
        }

    def sell(
        number: str,
        when: datetime,
        items: dict[str, str],
        coupons: tuple[str, ...] = (),
        points: int = 0,
    ) -> SaleResult:
        sale = SaleIn(
            store_code="S001",
            pos_receipt_no=number,
            sold_at=when,
            member_card=card,
            lines=[CartLine(sku=basket[k], quantity=Decimal(q)) for k, q in items.items()],
            coupons=list(coupons),
            redeem_points=points,
            payment_method="wechat_pay",
        )
        return run_in_transaction(
            sessions, lambda s: commit_sale(s, sale=sale, now=when, limits=LIMITS)
        )

    # A year of monthly big shops: about 2,900 yuan, just short of Silver's 3,000.
    for month in range(11, 0, -1):
        sell(
            f"H{month}",
            _at(monday - timedelta(days=30 * month), 10),
            {"rice": "2", "oil": "1", "diapers": "1", "pork": "1.2", "milk": "2"},
        )

    def standing(when: datetime) -> tuple[int, int, str]:
        with sessions() as session:
            now_balance = balance(session, member_id=member_id, now=when)
            _, program = active_program(session)
            from regulars.tiers.service import current_tier

            tier = current_tier(session, member_id=member_id, program=program).name
        return now_balance.total, now_balance.spendable, tier

    def nightly(day: date) -> None:
        run_in_transaction(sessions, lambda s: mature_points(s, as_of=_at(day, 23)))

    days: list[Day] = []

    def record(day: date, story: str, sale: SaleResult | None, note: str = "") -> None:
        nightly(day)
        total, spendable, tier = standing(_at(day, 23))
        days.append(Day(day, story, sale, total, spendable, tier, note))

    coupon = run_in_transaction(
        sessions,
        lambda s: issue_coupons(
            s, template_code="WELCOME10", member_ids=[member_id], now=_at(monday, 7), source="app"
        ),
    )[0].code
    record(
        monday,
        "Monday: eggs and noodles for the week, with the app's 10-yuan coupon",
        sell(
            "W1",
            _at(monday, 18),
            {"eggs": "2", "noodles": "5", "milk": "2", "fruit": "1.5"},
            coupons=(coupon,),
        ),
    )
    tuesday = monday + timedelta(days=1)
    record(
        tuesday,
        "Tuesday: a quick top-up; infant formula earns no points",
        sell("W2", _at(tuesday, 19), {"formula": "1", "wipes": "2"}),
    )
    wednesday = monday + timedelta(days=2)
    record(
        wednesday,
        "Wednesday: member day, double points",
        sell("W3", _at(wednesday, 18), {"pork": "0.8", "fruit": "1", "milk": "2"}),
    )
    thursday = monday + timedelta(days=3)
    big = sell(
        "W4",
        _at(thursday, 18),
        {"rice": "2", "oil": "2", "detergent": "1", "diapers": "1", "beer": "6", "snacks": "3"},
    )
    with sessions() as session:
        coupons = [c.code for c in wallet(session, member_id=member_id, now=_at(thursday, 20))]
    record(
        thursday,
        "Thursday: the big shop crosses 3,000 yuan in a year: Silver",
        big,
        note=f"Silver welcome coupon now in the wallet: {', '.join(coupons)}",
    )
    friday = monday + timedelta(days=4)

    def give_back(session: Session) -> RefundResult:
        return refund_sale(
            session,
            receipt_id=big.receipt_id,
            now=_at(friday, 11),
            limits=LIMITS,
            refund=RefundIn(
                pos_refund_no="R1",
                refunded_at=_at(friday, 11),
                reason="beer not wanted",
                lines=[RefundLineIn(line_no=5, quantity=Decimal(6))],
            ),
        )

    returned = run_in_transaction(sessions, give_back)
    record(
        friday,
        "Friday: brings the beer back",
        None,
        note=f"refund {returned.amount} yuan, {returned.points_reversed} points reversed",
    )
    saturday = monday + timedelta(days=5)
    record(
        saturday,
        "Saturday: weekend fruit offer, the Silver coupon, 500 points as payment",
        sell(
            "W6",
            _at(saturday, 10),
            {"fruit": "2", "pork": "1.5", "oil": "1", "eggs": "1"},
            coupons=tuple(coupons),
            points=500,
        ),
    )
    sunday = monday + timedelta(days=6)
    with sessions() as session:
        _, program = active_program(session)
    gained = run_in_transaction(
        sessions,
        lambda s: award_engagement(
            s, member_id=member_id, kind="survey_answered", now=_at(sunday, 12), program=program
        ),
    )
    record(
        sunday, "Sunday: answers the satisfaction survey", None, note=f"{gained} engagement points"
    )
    return days


def show(days: list[Day], console: Console) -> None:
    for entry in days:
        console.rule(f"[bold]{entry.day:%a %Y-%m-%d}[/bold]  {entry.story}")
        sale = entry.sale
        if sale is not None:
            table = Table(
                "line",
                "sku",
                "qty",
                "price",
                "discount",
                "amount",
                "offers",
                box=None,
                pad_edge=False,
            )
            for line in sale.lines:
                table.add_row(
                    str(line.line_no),
                    line.sku,
                    f"{line.quantity.normalize():f}",
                    f"{line.unit_price}",
                    f"{line.discount}",
                    f"{line.amount}",
                    ", ".join(line.offers),
                )
            console.print(table)
            offers = [f"{o.name} (-{o.discount})" for o in sale.promotions + sale.coupons]
            if offers:
                console.print("offers:   " + "; ".join(offers))
            for rejected in sale.rejected_coupons:
                console.print(f"refused:  {rejected.code} {rejected.reason}: {rejected.message}")
            console.print(
                f"total {sale.total} yuan, paid with points {sale.redeemed_value} "
                f"({sale.points_redeemed} points), to pay {sale.to_pay}"
            )
            console.print(f"earned:   {sale.points_earned} points ({'; '.join(sale.earn_reasons)})")
        if entry.note:
            console.print(entry.note)
        console.print(
            f"balance:  {entry.points_total} points, {entry.points_spendable} "
            f"spendable · tier {entry.tier}"
        )
