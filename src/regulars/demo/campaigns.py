"""Demo campaigns whose members respond with a known, hidden uplift: the measurement of a
campaign is checked against what the demo made happen."""

from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.campaigns.models import CampaignMember, Group
from regulars.campaigns.service import get_campaign
from regulars.catalog.models import Product, Store
from regulars.demo.models import DemoCampaignTruth
from regulars.members.models import Member
from regulars.sales.models import Receipt
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipts


def respond(
    session: Session,
    *,
    campaign: str,
    base_rate: float,
    uplift: float,
    seed: int,
    now: datetime,
    shopping: Collection[int] | None = None,
) -> int:
    """Members of a sent campaign buy in its window: each with chance `base_rate`, and
    `uplift` more if they were in the treatment group; only those `shopping` through the
    window, when it is given (a member who has left the chain does not come back for a
    text message). Returns the receipts written.

    The truth kept is what the campaign did to the share of its audience who bought in
    the window: `uplift` times the share who could respond and would not have bought
    anyway."""
    sent = get_campaign(session, name=campaign)
    assert sent.sent_at is not None, "a campaign responds once it is sent"
    window_end = sent.sent_at + timedelta(days=sent.window_days)
    bought_anyway = set(
        session.scalars(
            select(Receipt.member_id).where(
                Receipt.sold_at >= sent.sent_at, Receipt.sold_at < window_end
            )
        )
    )
    rng = Random(seed)
    store = session.scalars(select(Store.code).order_by(Store.id)).first()
    sku, price = session.execute(select(Product.sku, Product.regular_price).limit(1)).one()
    groups = session.execute(
        select(CampaignMember.member_id, CampaignMember.group, Member.card_number)
        .join(Member, Member.id == CampaignMember.member_id)
        .where(CampaignMember.campaign_id == sent.id)
        .order_by(CampaignMember.member_id)
    )
    receipts = []
    audience = movable = 0
    for member_id, group, card in groups:
        able = shopping is None or member_id in shopping
        audience += 1
        movable += able and member_id not in bought_anyway
        if not able:
            continue
        chance = base_rate + (uplift if group is Group.TREATMENT else 0.0)
        if rng.random() < chance:
            moment = sent.sent_at + timedelta(hours=rng.uniform(1, 24 * sent.window_days - 1))
            receipts.append(
                ReceiptIn(
                    store_code=str(store),
                    pos_receipt_no=f"C{sent.id}-{member_id}",
                    sold_at=moment,
                    member_card=card,
                    lines=[ReceiptLineIn(sku=sku, quantity=Decimal(1), unit_price=price)],
                )
            )
    record_receipts(session, receipts=receipts, now=now, limits=Limits())
    effect = uplift * movable / audience if audience else 0.0
    session.add(DemoCampaignTruth(campaign_id=sent.id, base_rate=base_rate, uplift=effect))
    session.flush()
    return len(receipts)
