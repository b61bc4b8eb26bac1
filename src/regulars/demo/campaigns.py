"""Demo campaigns whose members respond with a known, hidden uplift: the measurement of a
campaign is checked against what the demo made happen."""

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
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipts


def respond(
    session: Session, *, campaign: str, base_rate: float, uplift: float, seed: int, now: datetime
) -> int:
    """Members of a sent campaign buy in its window: each with chance `base_rate`, and
    `uplift` more if they were in the treatment group. Returns the receipts written."""
    sent = get_campaign(session, name=campaign)
    assert sent.sent_at is not None, "a campaign responds once it is sent"
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
    for member_id, group, card in groups:
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
    session.add(DemoCampaignTruth(campaign_id=sent.id, base_rate=base_rate, uplift=uplift))
    session.flush()
    return len(receipts)
