"""A campaign from definition to delivery and results, on members the test sets up."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.audiences.service import save_audience
from regulars.campaigns.channels.file import FileSink
from regulars.campaigns.models import CampaignMember, Group, MessageStatus, OutboxMessage
from regulars.campaigns.outbox import deliver
from regulars.campaigns.rules import smallest_detectable_lift
from regulars.campaigns.service import (
    CampaignAlreadySent,
    CampaignDraft,
    campaign_results,
    create_campaign,
    power_before_send,
    send_campaign,
)
from regulars.catalog.models import Channel
from regulars.catalog.schemas import StoreCreate
from regulars.catalog.service import add_store
from regulars.coupons.models import CouponKind
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.coupons.service import CouponsSoldOut, add_template
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.insights.recommendations import Recommended, store_recommendations
from regulars.members.models import ConsentChannel, Member
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_members, record_consent
from regulars.privacy.service import erase_member, export_member
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipt
from tests.conftest import Database
from tests.factories import NOW, ZONE, make_model_run, make_product, make_program, make_store

MARGIN = Decimal("0.2")  # the chain's gross margin

EVERYONE = {"kind": "tier", "values": ["regular"]}
DAYTIME = NOW  # noon in Shanghai: outside the quiet hours


def chain(session: Session, members: int = 400, sms_share: float = 0.75) -> list[int]:
    """Members enrolled with names; three in four said yes to SMS."""
    make_program(session)
    make_store(session, "S001")
    new = [MemberCreate(phone=f"1391111{n:04d}", name=f"Member {n}") for n in range(members)]
    outcomes = enroll_members(session, members=new, now=NOW, source="t", region="CN", zone=ZONE)
    ids = [o.id for o in outcomes]  # type: ignore[union-attr]
    for n, member_id in enumerate(ids):
        record_consent(
            session, member_id=member_id, channel=ConsentChannel.SMS,
            granted=n % 100 < sms_share * 100, source="t", now=NOW,
        )  # fmt: skip
    save_audience(session, name="everyone", definition=EVERYONE, description="", now=NOW, actor="t")
    add_template(
        session,
        now=NOW,
        data=CouponTemplateCreate(
            code="BACK5", name="5 off", kind=CouponKind.AMOUNT_OFF, amount=Decimal(5),
            per_member_limit=1, total_quantity=1000,
        ),
    )  # fmt: skip
    return ids


def draft(**changes: object) -> CampaignDraft:
    values: dict[str, object] = {
        "name": "win back", "audience": "everyone", "channel": ConsentChannel.SMS,
        "body": "{name}, {points} points and a coupon {coupon_code} are waiting",
        "coupon_template": "BACK5", "control_share": Decimal("0.2"),
    }  # fmt: skip
    return CampaignDraft(**(values | changes))  # type: ignore[arg-type]


def test_a_send_holds_a_control_group_back_and_reaches_only_who_agreed(session: Session) -> None:
    members = chain(session)
    create_campaign(session, draft=draft(), now=NOW, actor="t")
    sent = send_campaign(session, name="win back", now=NOW, weekly_cap=2)
    assert sent.audience == 400
    assert 50 <= sent.control <= 110  # a fifth, give or take chance
    groups = dict(session.execute(select(CampaignMember.member_id, CampaignMember.group)).all())
    treated = [m for m in members if groups[m] is Group.TREATMENT]
    agreed = [m for n, m in enumerate(members) if n % 100 < 75]
    reached = set(treated) & set(agreed)
    assert sent.messages == len(reached)
    assert sent.skipped == {"no sms consent": len(treated) - len(reached)}
    messages = session.scalars(select(OutboxMessage)).all()
    assert {m.member_id for m in messages} == reached
    first = min(messages, key=lambda m: m.member_id)
    number = members.index(first.member_id)
    assert first.body.startswith(f"Member {number}, 0 points and a coupon ")
    coupon = session.scalar(
        select(CampaignMember.coupon_code).where(CampaignMember.member_id == first.member_id)
    )
    assert coupon
    assert coupon in first.body
    with pytest.raises(CampaignAlreadySent):
        send_campaign(session, name="win back", now=NOW, weekly_cap=2)


def test_the_weekly_cap_counts_every_marketing_message(session: Session) -> None:
    chain(session, members=50, sms_share=1.0)
    for name in ("one", "two", "three"):
        create_campaign(
            session, draft=draft(name=name, coupon_template=None, control_share=Decimal(0)),
            now=NOW, actor="t",
        )  # fmt: skip
    assert send_campaign(session, name="one", now=NOW, weekly_cap=2).messages == 50
    assert send_campaign(session, name="two", now=NOW, weekly_cap=2).messages == 50
    with pytest.raises(InvalidInput, match="50 2 messages this week"):
        send_campaign(session, name="three", now=NOW, weekly_cap=2)


def test_bad_campaigns_are_refused_before_anything_is_sent(session: Session) -> None:
    chain(session, members=30)
    with pytest.raises(InvalidInput, match=r"uses \{balance\}") as unknown:
        create_campaign(session, draft=draft(body="{balance} points"), now=NOW, actor="t")
    assert unknown.value.field == "body"
    with pytest.raises(InvalidInput, match="0 to 50%"):
        create_campaign(session, draft=draft(control_share=Decimal("0.9")), now=NOW, actor="t")
    create_campaign(
        session, draft=draft(name="push", channel=ConsentChannel.PUSH), now=NOW, actor="t"
    )
    with pytest.raises(InvalidInput, match="nobody in audience 'everyone'.*no push consent"):
        send_campaign(session, name="push", now=NOW, weekly_cap=2)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_coupon_that_runs_out_refuses_the_whole_send(database: Database) -> None:
    def setup(session: Session) -> None:
        chain(session, members=40, sms_share=1.0)
        add_template(
            session, now=NOW,
            data=CouponTemplateCreate(code="FEW", name="few", kind=CouponKind.AMOUNT_OFF,
                                      amount=Decimal(5), total_quantity=10),
        )  # fmt: skip
        create_campaign(session, draft=draft(coupon_template="FEW"), now=NOW, actor="t")

    run_in_transaction(database.sessions, setup)
    with pytest.raises(CouponsSoldOut):
        run_in_transaction(
            database.sessions,
            lambda s: send_campaign(s, name="win back", now=NOW, weekly_cap=2),
        )
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CampaignMember)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_outbox_delivers_each_message_once(database: Database, tmp_path: Path) -> None:
    def setup(session: Session) -> None:
        chain(session, members=60, sms_share=1.0)
        create_campaign(session, draft=draft(control_share=Decimal(0)), now=NOW, actor="t")
        send_campaign(session, name="win back", now=NOW, weekly_cap=2)

    run_in_transaction(database.sessions, setup)
    sink = FileSink(tmp_path / "sms")
    channels = {ConsentChannel.SMS: sink}
    first = deliver(database.sessions, channels, now=DAYTIME, zone=ZONE, limit=40)
    second = deliver(database.sessions, channels, now=DAYTIME, zone=ZONE, limit=40)
    third = deliver(database.sessions, channels, now=DAYTIME, zone=ZONE, limit=40)
    assert (first.sent, second.sent, third.sent) == (40, 20, 0)
    assert len(list((tmp_path / "sms").glob("*.json"))) == 60


def test_marketing_waits_for_morning_and_a_withdrawn_consent_stops_it(
    database: Database, tmp_path: Path
) -> None:
    def setup(session: Session) -> list[int]:
        ids = chain(session, members=10, sms_share=1.0)
        create_campaign(session, draft=draft(control_share=Decimal(0)), now=NOW, actor="t")
        send_campaign(session, name="win back", now=NOW, weekly_cap=2)
        return ids

    members = run_in_transaction(database.sessions, setup)
    channels = {ConsentChannel.SMS: FileSink(tmp_path)}
    night = NOW + timedelta(hours=11)  # 23:00 in Shanghai
    assert deliver(database.sessions, channels, now=night, zone=ZONE).waiting == 10
    run_in_transaction(
        database.sessions,
        lambda s: record_consent(
            s, member_id=members[0], channel=ConsentChannel.SMS, granted=False, source="STOP",
            now=night,
        ),
    )  # fmt: skip
    assert deliver(database.sessions, channels, now=night + timedelta(hours=1), zone=ZONE).sent == 0
    morning = NOW + timedelta(hours=21)  # 9:00 the next day
    done = deliver(database.sessions, channels, now=morning, zone=ZONE)
    assert (done.sent, done.dropped) == (9, {"sms consent withdrawn": 1})
    with database.sessions() as session:
        statuses = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    assert statuses == {MessageStatus.SENT: 9, MessageStatus.DEAD: 1}


def test_results_compare_the_groups_in_the_window(session: Session) -> None:
    chain(session, members=200, sms_share=1.0)
    create_campaign(session, draft=draft(), now=NOW, actor="t")
    send_campaign(session, name="win back", now=NOW, weekly_cap=2)
    results = campaign_results(
        session, name="win back", now=NOW + timedelta(days=3), gross_margin=MARGIN
    )
    assert results.treatment.members + results.control.members == 200
    assert results.treatment.buyers == results.control.buyers == 0  # nobody bought yet
    assert results.conversion.value == 0
    assert results.messages == {
        "pending": results.treatment.members, "delivered": 0, "opened": 0, "clicked": 0,
    }  # fmt: skip
    assert results.cost == 0  # no coupon redeemed yet
    assert 0 < results.detectable_lift < 1


def test_quiet_hours_are_those_where_the_member_shops(database: Database, tmp_path: Path) -> None:
    def setup(session: Session) -> list[int]:
        ids = chain(session, members=2, sms_share=1.0)
        london = add_store(
            session,
            data=StoreCreate(code="L01", name="London", region="Abroad",
                             channel=Channel.STORE, timezone="Europe/London"),
        )  # fmt: skip
        session.get_one(Member, ids[1]).join_store_id = london.id
        create_campaign(session, draft=draft(control_share=Decimal(0)), now=NOW, actor="t")
        send_campaign(session, name="win back", now=NOW, weekly_cap=2)
        return ids

    shanghai, london = run_in_transaction(database.sessions, setup)
    channels = {ConsentChannel.SMS: FileSink(tmp_path)}
    # NOW is noon in Shanghai and 5 in the morning in London.
    done = deliver(database.sessions, channels, now=NOW, zone=ZONE)
    assert (done.sent, done.waiting) == (1, 1)
    with database.sessions() as session:
        waiting = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == MessageStatus.PENDING)
        ).one()
    assert waiting.member_id == london
    assert waiting.next_attempt_at == NOW + timedelta(hours=4)  # 9:00 in London (BST)
    assert deliver(database.sessions, channels, now=NOW + timedelta(hours=4), zone=ZONE).sent == 1


def test_the_messages_a_member_was_sent_are_exported_and_go_with_an_erasure(
    session: Session,
) -> None:
    members = chain(session, members=3, sms_share=1.0)
    create_campaign(session, draft=draft(control_share=Decimal(0)), now=NOW, actor="t")
    send_campaign(session, name="win back", now=NOW, weekly_cap=2)
    first = members[0]
    exported = export_member(session, member_id=first)
    [message] = exported["messages"]
    assert message["body"].startswith("Member 0, 0 points")
    assert message["channel"] == "sms"
    erase_member(session, member_id=first, now=NOW)
    texts = session.execute(
        select(OutboxMessage.subject, OutboxMessage.body).where(OutboxMessage.member_id == first)
    ).all()
    assert texts == [("", "erased")]
    others = session.scalars(select(OutboxMessage.body).where(OutboxMessage.member_id != first))
    assert all(body.startswith("Member ") for body in others)


def test_before_the_send_the_smallest_lift_the_groups_can_show_is_known(
    session: Session,
) -> None:
    members = chain(session, members=200, sms_share=1.0)
    make_product(session, sku="RICE", price="60.00", subcategory="RICE")
    for n, member_id in enumerate(members[:50]):  # a quarter bought in the last 14 days
        card = session.get_one(Member, member_id).card_number
        receipt = ReceiptIn(
            store_code="S001", pos_receipt_no=f"P{n}", sold_at=NOW - timedelta(days=3),
            member_card=card,
            lines=[ReceiptLineIn(sku="RICE", quantity=Decimal(1), unit_price=Decimal("60"))],
        )  # fmt: skip
        record_receipt(session, receipt=receipt, now=NOW, limits=Limits())
    create_campaign(session, draft=draft(), now=NOW, actor="t")
    power = power_before_send(session, name="win back", now=NOW)
    assert (power.audience, power.base_rate) == (200, 0.25)
    assert power.detectable_lift == smallest_detectable_lift(160, 40, 0.25)
    assert power.worst_case_lift == smallest_detectable_lift(160, 40, 0.5)
    assert power.worst_case_lift > power.detectable_lift
    bigger = smallest_detectable_lift(1600, 400, 0.25)
    assert bigger < power.detectable_lift  # ten times the members show a smaller lift


def test_a_message_names_the_members_recommended_products_or_the_popular_ones(
    session: Session,
) -> None:
    members = chain(session, members=4, sms_share=1.0)
    made = [make_product(session, sku=sku, price="9.90").id for sku in ("TEA", "RICE", "OIL")]
    run_id = make_model_run(session)
    lists = [
        Recommended(members[0], 2, made[0], "also_like", 0.5),
        Recommended(members[0], 1, made[1], "buy_again", 0.9),
        Recommended(None, 1, made[2], "popular", 40),
    ]
    store_recommendations(session, lists=lists, model_run_id=run_id)
    body = "{name}: {recommended}"
    create_campaign(session, draft=draft(body=body, coupon_template=None, control_share=Decimal(0)),
                    now=NOW, actor="t")  # fmt: skip
    send_campaign(session, name="win back", now=NOW, weekly_cap=2)
    said = dict(session.execute(select(OutboxMessage.member_id, OutboxMessage.body)).all())
    assert said[members[0]] == "Member 0: Rice、Tea"  # their own list, best first
    assert said[members[1]] == "Member 1: Oil"  # the popular one
