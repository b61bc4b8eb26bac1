from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.checkout.schemas import CartLine, SaleIn
from regulars.checkout.service import commit_sale
from regulars.points.models import PointEntry, ReceiptPoints
from regulars.program.service import active_program, parse_program
from regulars.sales.models import Receipt
from regulars.sales.rules import Limits
from regulars.simulation.schemas import period, report
from regulars.simulation.service import simulate
from tests.api.conftest import make_api
from tests.conftest import Database
from tests.factories import NOW, PROGRAM, ZONE, make_member, make_product, make_program, make_store

SPEND_SAVE = """
[[promotions]]
code = "MJ100"
name = "spend 100 save 10"
kind = "spend_save"
threshold = {threshold}
save = 10
"""
ACTIVE = PROGRAM.format(pending_days=0) + SPEND_SAVE.format(threshold=100)
# Twice the points, the offer from 60 yuan, Silver from 500 instead of 1,000.
PROPOSED = (
    PROGRAM.format(pending_days=0)
    .replace("points_per_yuan = 1\n", "points_per_yuan = 2\n", 1)
    .replace("min_spend = 1000", "min_spend = 500")
) + SPEND_SAVE.format(threshold=60)


def sell_history(session: Session) -> None:
    """Ten days of sales through the till: a member buys rice (80), another tea (20), and a
    guest two bags of rice (160)."""
    make_store(session, "S001")
    make_product(session, sku="RICE", price="80.00")
    make_product(session, sku="TEA", price="20.00")
    make_program(session, text=ACTIVE)
    first, second = (make_member(session, p).card_number for p in ("13800138000", "13800138001"))
    for day in range(10):
        for n, (card, sku, quantity) in enumerate(
            [(first, "RICE", 1), (second, "TEA", 1), (None, "RICE", 2)]
        ):
            sale = SaleIn(
                store_code="S001",
                pos_receipt_no=f"{day}-{n}",
                sold_at=NOW - timedelta(days=10 - day),
                member_card=card,
                lines=[CartLine(sku=sku, quantity=Decimal(quantity))],
            )
            commit_sale(session, sale=sale, now=NOW, limits=Limits())


def test_the_active_program_replayed_gives_back_what_was_recorded(session: Session) -> None:
    sell_history(session)
    _, active = active_program(session)
    start, end = period((NOW - timedelta(days=10)).date(), NOW.date(), ZONE)
    shown = report(simulate(session, active=active, proposed=active, start=start, end=end))
    recorded_discount = session.scalar(select(func.sum(Receipt.discount_amount)))
    recorded_points = session.scalar(select(func.sum(ReceiptPoints.earned)))
    assert (shown.receipts, shown.member_receipts) == (30, 20)
    assert shown.discount.active == recorded_discount == Decimal("100.00")  # 10 guest receipts
    assert shown.points_issued.active == recorded_points
    assert shown.discount.change == shown.points_issued.change == 0
    assert [(o.code, o.receipts.active) for o in shown.offers] == [("MJ100", 10)]


def test_a_proposed_program_shows_what_would_change_and_writes_nothing(session: Session) -> None:
    sell_history(session)
    entries = session.scalar(select(func.count()).select_from(PointEntry))
    _, active = active_program(session)
    start, end = period((NOW - timedelta(days=10)).date(), NOW.date(), ZONE)
    proposed = parse_program(PROPOSED)
    shown = report(simulate(session, active=active, proposed=proposed, start=start, end=end))

    # From 60 yuan the first member's 80-yuan receipts take the offer too: 10 more receipts.
    [offer] = shown.offers
    assert (offer.receipts.active, offer.receipts.proposed) == (10, 20)
    assert shown.discount.change == Decimal("100.00")
    # Active: 80 + 20 yuan a day at 1 point a yuan. Proposed: 2 a yuan on 70 (80 less the
    # offer) and 20; the rice buyer reaches Silver (500) on day 8, and from day 9 Silver's
    # multiplier of 2 doubles their points: 8 × 140 + 2 × 280 + 10 × 40.
    assert (shown.points_issued.active, shown.points_issued.proposed) == (1000, 2080)
    assert shown.liability.proposed == Decimal("20.80")  # 100 points a yuan
    moves = {(m.from_tier, m.to_tier): m.members for m in shown.tier_moves}
    assert (moves["regular", "silver"].active, moves["regular", "silver"].proposed) == (0, 1)
    assert session.scalar(select(func.count()).select_from(PointEntry)) == entries


def test_admins_simulate_over_http(database: Database, tmp_path: Path) -> None:
    api = make_api(database, tmp_path)
    body = {"toml": PROPOSED, "from": "2026-06-01", "to": "2026-06-15"}
    answer = api.client.post("/v1/program/simulations", json=body, headers=api.as_("admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["receipts"] == 0
    refused = api.client.post("/v1/program/simulations", json=body, headers=api.as_("pos"))
    assert refused.status_code == 403
    broken = {**body, "toml": "[earning]\npoints_per_yuan = -1"}
    invalid = api.client.post("/v1/program/simulations", json=broken, headers=api.as_("admin"))
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "invalid_program"
