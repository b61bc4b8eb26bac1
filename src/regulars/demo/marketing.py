"""The demo chain's marketing: the holiday calendar, saved audiences, a campaign
sent three weeks ago whose members responded with a hidden uplift (kept in
demo_campaign_truth), one scheduled for next week, and the care journeys, run once."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from random import Random

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from regulars.audiences.service import save_audience
from regulars.campaigns.models import MessageStatus, OutboxMessage
from regulars.campaigns.service import CampaignDraft, create_campaign, send_campaign
from regulars.demo.campaigns import respond
from regulars.journeys.plan import EXAMPLE
from regulars.journeys.service import add_holiday, create_journey, run_journeys
from regulars.members.models import ConsentChannel

# The chain's calendar: the lunar holidays move, so each year is listed.
HOLIDAYS = {
    "Spring Festival": ("2025-01-29", "2026-02-17", "2027-02-06", "2028-01-26"),
    "Dragon Boat": ("2025-05-31", "2026-06-19", "2027-06-09", "2028-05-28"),
    "Mid-Autumn": ("2025-10-06", "2026-09-25", "2027-09-15", "2028-10-03"),
    **{
        name: tuple(f"{year}-{day}" for year in range(2025, 2029))
        for name, day in (("618", "06-18"), ("National Day", "10-01"), ("Double 11", "11-11"))
    },
}
AUDIENCES = {
    "reachable by SMS": {"kind": "consent", "values": ["sms"]},
    "quiet for 30 days": {"kind": "days_since_purchase", "min": 30},
    "everyone by WeChat": {"kind": "consent", "values": ["wechat"]},
}
WIN_BACK = "double points week"
SENT_BEFORE_THE_END = timedelta(days=21)
WINDOW = timedelta(days=14)
# The hidden truth: a member who still shops and would not have come in the window anyway
# comes with this chance more when sent the message (the control group's purchases are the
# chain's own).
RESPONSE = {"base_rate": 0.0, "uplift": 0.3}
JOURNEYS = (
    """
name = "welcome"
trigger = "welcome"
control_share = 0.1
[[steps]]
do = "send"
channel = "sms"
body = "{name}，欢迎加入！您的会员卡号 {card_number}，消费即可积分。"
translations.en.body = "Welcome, {name}! Your card is {card_number}: every purchase earns points."
""",
    """
name = "birthday month"
trigger = "birthday"
control_share = 0.1
[[steps]]
do = "points"
points = 200
[[steps]]
do = "send"
channel = "wechat"
body = "{name}，生日快乐！200积分已到账，现有{points}积分。"
translations.en.body = "Happy birthday, {name}! 200 points are yours: you now hold {points}."
""",
    EXAMPLE,  # points about to lapse: a reminder, and 50 points to who has not bought a week on
    """
name = "keep your tier"
trigger = "tier_drop"
days = 45
control_share = 0.1
[[steps]]
do = "send"
channel = "sms"
body = "{name}，在{review_date}前再消费{spend_needed}元即可保住{keep_tier}等级。"
translations.en.body = "{name}, spend {spend_needed} more by {review_date} to keep {keep_tier}."
""",
    """
name = "we miss you"
trigger = "win_back"
days = 60
control_share = 0.2
window_days = 21
[[steps]]
do = "coupon"
template = "COMEBACK10"
[[steps]]
do = "send"
channel = "sms"
body = "{name}，好久不见！送您10元券 {coupon_code}，满50可用。"
""",
    """
name = "Double 11"
trigger = "holiday"
holiday = "Double 11"
days = 5
audience = "everyone by WeChat"
control_share = 0.1
[[steps]]
do = "send"
channel = "wechat"
body = "{name}，双11会员日：全场积分翻倍！"
translations.en.body = "{name}, Double 11 is member day: double points on everything."
""",
)


def write_marketing(
    session: Session, *, now: datetime, seed: int, history_end: datetime, shopping: set[int]
) -> dict[str, int]:
    """Everything the marketing pages show on the demo chain; how many of each. The
    campaign was sent three weeks before the history ends, and of its members only those
    `shopping` through its window respond."""
    for name, days in HOLIDAYS.items():
        for day in days:
            add_holiday(session, name=name, day=date.fromisoformat(day))
    for name, definition in AUDIENCES.items():
        save_audience(session, name=name, definition=definition, description="", now=now,
                      actor="demo")  # fmt: skip
    sent_at = history_end - SENT_BEFORE_THE_END
    create_campaign(
        session,
        draft=CampaignDraft(
            name=WIN_BACK, audience="reachable by SMS",
            channel=ConsentChannel.SMS, body="{name}，本周到店消费积分翻倍！",
            translations={"en": ("", "{name}: double points in store this week.")},
            control_share=Decimal("0.3"), window_days=WINDOW.days,
        ),
        now=sent_at - timedelta(days=1),
        actor="marketing",
    )  # fmt: skip
    send_campaign(session, name=WIN_BACK, now=sent_at, weekly_cap=2)
    _reported_back(session, sent_at, Random(seed))
    responded = respond(
        session, campaign=WIN_BACK, seed=seed, now=history_end, shopping=shopping, **RESPONSE
    )
    create_campaign(
        session,
        draft=CampaignDraft(
            name="weekend specials", audience="everyone by WeChat", channel=ConsentChannel.WECHAT,
            body="{name}，本周末生鲜八折，{tier}会员额外积分。", control_share=Decimal("0.1"),
            scheduled_for=now + timedelta(days=7),
        ),
        now=now,
        actor="marketing",
    )  # fmt: skip
    for text in JOURNEYS:
        create_journey(session, definition=text, now=now - timedelta(days=1), actor="marketing")
    runs = run_journeys(session, now=now, weekly_cap=2, links=None)
    return {
        "holidays": sum(len(days) for days in HOLIDAYS.values()),
        "campaigns": 2,
        "campaign receipts": responded,
        "journeys": len(JOURNEYS),
        "journey entries": sum(r.entered for r in runs),
    }


def _reported_back(session: Session, sent_at: datetime, rng: Random) -> None:
    """The demo gateway's word on the campaign's messages: all delivered within the hour,
    about two in five opened and one in ten clicked."""
    sent = select(OutboxMessage.id).where(OutboxMessage.campaign_id.is_not(None))
    messages = session.scalars(sent)
    for message_id in messages.all():
        draw = rng.random()
        at = sent_at + timedelta(minutes=rng.uniform(1, 60))
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=MessageStatus.SENT, attempts=1, sent_at=at, delivered_at=at,
                opened_at=at if draw < 0.4 else None, clicked_at=at if draw < 0.1 else None,
            )
        )  # fmt: skip
    session.flush()
