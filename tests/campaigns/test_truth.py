"""The measurement finds what the demo made happen: a known uplift inside its interval, and
no effect reported where there was none, beyond the 5% that chance allows."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from regulars.campaigns.service import campaign_results, create_campaign, send_campaign
from regulars.demo.campaigns import respond
from regulars.members.models import ConsentChannel
from tests.campaigns.test_campaigns import chain, draft
from tests.factories import NOW, make_product

MARGIN = Decimal("0.2")  # the chain's gross margin

LATER = NOW + timedelta(days=15)  # the 14-day window has closed


def test_the_interval_covers_the_hidden_uplift(session: Session) -> None:
    chain(session, members=3000, sms_share=1.0)
    make_product(session, sku="RICE", price="60.00", subcategory="RICE")
    create_campaign(
        session, draft=draft(coupon_template=None, control_share=Decimal("0.3")), now=NOW, actor="t"
    )
    send_campaign(session, name="win back", now=NOW, weekly_cap=2)
    respond(session, campaign="win back", base_rate=0.15, uplift=0.06, seed=11, now=LATER)
    found = campaign_results(session, name="win back", now=LATER, gross_margin=MARGIN)
    assert found.conversion.low <= 0.06 <= found.conversion.high
    assert found.conversion.significant
    assert found.spend_per_member.low <= 0.06 * 60 <= found.spend_per_member.high
    assert found.detectable_lift < 0.06  # the sizes were enough to see it


def test_campaigns_without_an_effect_are_seldom_called_significant(session: Session) -> None:
    chain(session, members=600, sms_share=1.0)
    make_product(session, sku="RICE", price="60.00", subcategory="RICE")
    significant = 0
    for n in range(20):
        name = f"null {n}"
        create_campaign(
            session, draft=draft(name=name, coupon_template=None, control_share=Decimal("0.5"),
                                 channel=ConsentChannel.SMS),
            now=NOW, actor="t",
        )  # fmt: skip
        send_campaign(session, name=name, now=NOW, weekly_cap=100)
        respond(session, campaign=name, base_rate=0.2, uplift=0.0, seed=100 + n, now=LATER)
        significant += campaign_results(
            session, name=name, now=LATER, gross_margin=MARGIN
        ).conversion.significant
    assert significant <= 4  # 1 expected in 20 at the 5% level; 5 or more: 1 run in 400
