"""Audiences evaluated in SQL on a handful of members whose every figure the test knows."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from regulars.audiences.criteria import contradiction
from regulars.audiences.service import (
    AudienceContradiction,
    AudienceNotFound,
    audience_members,
    count_members,
    member_ids,
    parse_condition,
    save_audience,
)
from regulars.errors import Conflict, InvalidInput
from regulars.insights.models import MemberInsight
from regulars.members.models import ConsentChannel
from regulars.members.service import record_consent
from regulars.points.models import EntryKind
from regulars.points.service import add_points
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipt
from regulars.tiers.models import MemberTier
from tests.factories import NOW, make_member, make_model_run, make_product, make_program, make_store


@dataclass
class Shop:
    ids: dict[str, int]  # member by first name


def sale(session: Session, card: str, number: str, days_ago: int, sku: str, price: str) -> None:
    receipt = ReceiptIn(
        store_code="S001",
        pos_receipt_no=number,
        sold_at=(NOW - timedelta(days=days_ago)).replace(tzinfo=None) + timedelta(hours=8),
        member_card=card,
        lines=[ReceiptLineIn(sku=sku, quantity=Decimal(1), unit_price=Decimal(price))],
    )
    record_receipt(session, receipt=receipt, now=NOW, limits=Limits())


@pytest.fixture
def shop(session: Session) -> Shop:
    """Ann: gold, 600 points (200 lapse in 10 days), bought rice 5 and 40 days ago, sms yes,
    a champion. Bo: regular, no points, bought noodles 100 days ago, sms no, at risk.
    Cy: silver, 50 points, never bought, joined 10 days before NOW, sms never asked."""
    make_program(session)
    make_store(session, "S001")
    make_product(session, sku="RICE", price="60.00", subcategory="RICE")
    make_product(session, sku="NOODLE-1", price="4.50")
    ann = make_member(
        session, "13800138001", join_store_code="S001", birth_date="1990-03-04",
        joined_at=NOW - timedelta(days=400),
    )  # fmt: skip
    bo = make_member(session, "13800138002", joined_at=NOW - timedelta(days=200))
    cy = make_member(session, "13800138003", joined_at=NOW - timedelta(days=10))
    for member, points, lapse in ((ann, 400, 400), (ann, 200, 10), (cy, 50, 400)):
        add_points(
            session,
            member_id=member.id,
            points=points,
            kind=EntryKind.BONUS,
            now=NOW - timedelta(days=1),
            available_at=NOW - timedelta(days=1),
            expires_at=NOW + timedelta(days=lapse),
        )
    sale(session, ann.card_number, "1", 5, "RICE", "60.00")
    sale(session, ann.card_number, "2", 40, "RICE", "60.00")
    sale(session, bo.card_number, "3", 100, "NOODLE-1", "4.50")
    for member, tier in ((ann, "gold"), (cy, "silver")):
        session.add(
            MemberTier(member_id=member.id, tier_code=tier, since=NOW, review_on=NOW.date())
        )
    for member, granted in ((ann, True), (bo, False)):
        record_consent(
            session, member_id=member.id, channel=ConsentChannel.SMS, granted=granted,
            source="test", now=NOW,
        )  # fmt: skip
    run_id = make_model_run(session)
    for member, segment, risk in ((ann, "champions", 0.05), (bo, "at_risk", 0.8)):
        scores = {"rfm_segment": segment, "churn_risk": risk, "clv": 100.0}
        session.add(MemberInsight(member_id=member.id, model_run_id=run_id, **scores))
    session.flush()
    return Shop({"ann": ann.id, "bo": bo.id, "cy": cy.id})


def who(session: Session, shop: Shop, definition: dict[str, object]) -> set[str]:
    found = set(session.scalars(member_ids(session, parse_condition(definition), now=NOW)))
    return {name for name, member_id in shop.ids.items() if member_id in found}


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"kind": "tier", "values": ["gold", "silver"]}, {"ann", "cy"}),
        ({"kind": "tier", "values": ["regular"]}, {"bo"}),  # no tier row: the first tier
        ({"kind": "points_balance", "min": 500}, {"ann"}),
        ({"kind": "points_balance", "max": 0}, {"bo"}),
        ({"kind": "points_expiring", "days": 30, "min": 100}, {"ann"}),
        ({"kind": "points_expiring", "days": 5}, set()),
        ({"kind": "days_since_purchase", "min": 60}, {"bo"}),  # Cy joined 10 days ago
        ({"kind": "days_since_purchase", "max": 30}, {"ann", "cy"}),
        ({"kind": "visits", "days": 30, "min": 1}, {"ann"}),
        ({"kind": "visits", "days": 90, "min": 2}, {"ann"}),
        ({"kind": "spend", "days": 365, "min": 100}, {"ann"}),  # 120 yuan, not 100 cents
        ({"kind": "spend", "days": 365, "min": "120.01"}, set()),
        ({"kind": "visits", "days": 30, "max": 0}, {"bo", "cy"}),  # nothing counts as 0
        ({"kind": "spend", "days": 365, "max": 50}, {"bo", "cy"}),
        ({"kind": "visits", "days": 90, "min": 0, "max": 1}, {"bo", "cy"}),
        ({"kind": "home_store", "values": ["S001"]}, {"ann"}),
        ({"kind": "birthday_month", "values": ["3"]}, {"ann"}),
        ({"kind": "consent", "values": ["sms"]}, {"ann"}),
        ({"kind": "rfm_segment", "values": ["at_risk"]}, {"bo"}),
        ({"kind": "churn_risk", "min": "0.5"}, {"bo"}),
        ({"kind": "bought", "categories": ["GROCERY"], "days": 365}, {"ann", "bo"}),  # a parent
        ({"kind": "bought", "categories": ["RICE"], "days": 30}, {"ann"}),
        ({"kind": "bought", "brands": ["Acme"], "days": 60}, {"ann"}),
        ({"kind": "joined", "after": "2026-06-01"}, {"cy"}),
        (
            {
                "kind": "all",
                "of": [
                    {"kind": "consent", "values": ["sms"]},
                    {"kind": "not", "of": {"kind": "tier", "values": ["gold"]}},
                ],
            },
            set(),
        ),  # fmt: skip
        (
            {
                "kind": "any",
                "of": [
                    {"kind": "rfm_segment", "values": ["at_risk"]},
                    {"kind": "points_balance", "min": 40, "max": 60},
                ],
            },
            {"bo", "cy"},
        ),  # fmt: skip
    ],
)
def test_each_condition_finds_exactly_its_members(
    session: Session, shop: Shop, definition: dict[str, object], expected: set[str]
) -> None:
    assert who(session, shop, definition) == expected


def test_a_saved_audience_is_counted_used_by_another_and_snapshotted(
    session: Session, shop: Shop
) -> None:
    gold = {"kind": "tier", "values": ["gold"]}
    save_audience(session, name="gold", definition=gold, description="", now=NOW, actor="t")
    reachable = {"kind": "all", "of": [{"kind": "audience", "name": "gold"},
                                       {"kind": "consent", "values": ["sms"]}]}  # fmt: skip
    save_audience(session, name="gold by sms", definition=reachable, description="", now=NOW,
                  actor="t")  # fmt: skip
    assert count_members(session, parse_condition(reachable), now=NOW) == 1
    assert audience_members(session, name="gold by sms", now=NOW) == [shop.ids["ann"]]
    with pytest.raises(Conflict):
        save_audience(session, name="gold", definition=gold, description="", now=NOW, actor="t")
    with pytest.raises(AudienceNotFound):
        save_audience(session, name="x", definition={"kind": "audience", "name": "nope"},
                      description="", now=NOW, actor="t")  # fmt: skip


def test_an_audience_cannot_include_itself(session: Session, shop: Shop) -> None:
    with pytest.raises(InvalidInput, match="includes itself"):
        save_audience(session, name="loop", definition={"kind": "audience", "name": "loop"},
                      description="", now=NOW, actor="t")  # fmt: skip


@pytest.mark.parametrize(
    ("definition", "reason"),
    [
        ({"kind": "all", "of": [{"kind": "tier", "values": ["gold"]},
                                {"kind": "tier", "values": ["silver"]}]}, "share nothing"),
        ({"kind": "all", "of": [{"kind": "points_balance", "min": 500},
                                {"kind": "points_balance", "max": 100}]}, "at least 500"),
        ({"kind": "all", "of": [{"kind": "consent", "values": ["sms"]},
                                {"kind": "not", "of": {"kind": "consent", "values": ["sms"]}}]},
         "its opposite"),
    ],
)  # fmt: skip
def test_a_contradiction_is_refused_before_anything_is_counted(
    definition: dict[str, object], reason: str
) -> None:
    with pytest.raises(AudienceContradiction, match=reason):
        parse_condition(definition)


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        ({"kind": "tier"}, "values"),
        ({"kind": "points_balance"}, "needs a min, a max or both"),
        ({"kind": "spend", "days": 30, "min": 9, "max": 1}, "min 9 is above max 1"),
        ({"kind": "weather", "values": ["sunny"]}, "kind"),
    ],
)
def test_a_malformed_definition_names_what_is_wrong(definition: object, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_condition(definition)


def test_contradictions_are_found_only_where_they_are() -> None:
    either = [{"kind": "tier", "values": ["gold"]}, {"kind": "tier", "values": ["silver"]}]
    fine = parse_condition({"kind": "any", "of": either})
    assert contradiction(fine) is None
