"""The process keeps copies of the catalogue and the program; they must never go stale."""

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from regulars.catalog.service import ProductNotFound
from regulars.checkout.schemas import CartIn, CartLine
from regulars.checkout.service import quote
from regulars.db import run_in_transaction
from tests.conftest import Database
from tests.factories import NOW, PROGRAM, make_member, make_product, make_program, make_store


def price_of(session: Session, sku: str) -> Decimal:
    cart = CartIn(store_code="S001", lines=[CartLine(sku=sku, quantity=Decimal(1))])
    return quote(session, cart=cart, now=NOW).total


def points_for(session: Session, card: str) -> int:
    cart = CartIn(
        store_code="S001", member_card=card, lines=[CartLine(sku="RICE", quantity=Decimal(1))]
    )
    return quote(session, cart=cart, now=NOW).points_earned


def test_a_product_added_then_rolled_back_is_never_sold(database: Database) -> None:
    def shop(session: Session) -> None:
        make_store(session, "S001")
        make_product(session, sku="RICE", price="50.00")
        make_program(session)

    run_in_transaction(database.sessions, shop)
    with database.sessions() as session:
        assert price_of(session, "RICE") == Decimal("50.00")  # the copy is made
        make_product(session, sku="TEA", price="5.00")
        assert price_of(session, "TEA") == Decimal("5.00")
        session.rollback()
    with database.sessions() as session, pytest.raises(ProductNotFound):
        price_of(session, "TEA")
    run_in_transaction(database.sessions, lambda s: make_product(s, sku="TEA", price="7.00"))
    with database.sessions() as session:
        assert price_of(session, "TEA") == Decimal("7.00")


def test_a_new_program_applies_from_the_next_sale_and_a_rolled_back_one_never(
    database: Database,
) -> None:
    def shop(session: Session) -> str:
        make_store(session, "S001")
        make_product(session, sku="RICE", price="50.00")
        make_program(session)
        return make_member(session).card_number

    card = run_in_transaction(database.sessions, shop)
    doubled = PROGRAM.format(pending_days=0).replace(
        "points_per_yuan = 1\n", "points_per_yuan = 2\n", 1
    )
    with database.sessions() as session:
        assert points_for(session, card) == 50
        make_program(session, text=doubled)
        assert points_for(session, card) == 100
        session.rollback()
    with database.sessions() as session:
        assert points_for(session, card) == 50
    run_in_transaction(database.sessions, lambda s: make_program(s, text=doubled))
    with database.sessions() as session:
        assert points_for(session, card) == 100
