"""Use cases of campaigns: define one, send it to its audience, measure what it earned.

A send is one transaction: the audience is evaluated and kept as it was (who was held back
and why anyone else got nothing), coupons are issued through the coupons service, and one
outbox message a member is written; the outbox workers deliver them afterwards. A coupon
template too short for the audience refuses the whole send before anything is written.
"""

import json
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.audiences.service import audience_members, get_audience
from regulars.audit.service import record
from regulars.campaigns import rules
from regulars.campaigns.messages import (
    chunks,
    member_values,
    message_figures,
    queue_messages,
    reasons_to_skip,
)
from regulars.campaigns.models import (
    Campaign,
    CampaignMember,
    CampaignStatus,
    Group,
    OutboxMessage,
)
from regulars.campaigns.optout import Links
from regulars.checkout.models import CommittedSale
from regulars.coupons.models import Coupon, CouponStatus
from regulars.coupons.service import get_template, issue_coupons
from regulars.db import bulk_insert
from regulars.errors import Conflict, InvalidInput, NotFound
from regulars.members.models import ConsentChannel
from regulars.points.models import EntryKind, PointEntry
from regulars.points.rules import points_value
from regulars.program.service import active_program
from regulars.sales.models import Receipt


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class CampaignAlreadySent(Conflict):
    code = "campaign_already_sent"


@dataclass(frozen=True)
class CampaignDraft:
    name: str
    audience: str
    channel: ConsentChannel
    body: str
    subject: str = ""
    coupon_template: str | None = None
    control_share: Decimal = Decimal("0.2")
    window_days: int = 14
    translations: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    scheduled_for: datetime | None = None

    @property
    def wording(self) -> rules.Wording:
        return rules.Wording(self.subject, self.body, self.translations)


def wording_of(campaign: Campaign) -> rules.Wording:
    return rules.Wording.stored(campaign.subject, campaign.body, campaign.translations)


def create_campaign(
    session: Session, *, draft: CampaignDraft, now: datetime, actor: str
) -> Campaign:
    """A campaign ready to send; what it would say and give is checked now, not at the send."""
    name = draft.name.strip()
    if not name:
        raise InvalidInput("a campaign needs a name", field="name")
    if session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise Conflict(f"a campaign named {name!r} exists already", field="name")
    get_audience(session, name=draft.audience)
    draft.wording.check()
    if not Decimal(0) <= draft.control_share <= Decimal("0.5"):
        raise InvalidInput("the control group is 0 to 50% of the audience", field="control_share")
    if not 1 <= draft.window_days <= 365:
        raise InvalidInput("the results window is 1 to 365 days", field="window_days")
    if draft.coupon_template is not None:
        get_template(session, code=draft.coupon_template)
    if draft.scheduled_for is not None and draft.scheduled_for <= now:
        raise InvalidInput("a campaign is scheduled for a time to come", field="scheduled_for")
    campaign = Campaign(
        name=name,
        audience=draft.audience,
        channel=draft.channel,
        subject=draft.subject,
        body=draft.body,
        translations=draft.wording.translations_json(),
        coupon_template=draft.coupon_template,
        control_share=draft.control_share,
        window_days=draft.window_days,
        scheduled_for=draft.scheduled_for,
        status=CampaignStatus.DRAFT,
        created_at=now,
        created_by=actor,
    )
    session.add(campaign)
    session.flush()
    return campaign


def source_of(campaign: Campaign) -> str:
    """What the coupons a campaign gives are marked with."""
    return f"campaign:{campaign.name}"[:40]


def get_campaign(session: Session, *, name: str) -> Campaign:
    campaign = session.scalars(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        raise CampaignNotFound(f"no campaign named {name!r}", field="campaign")
    return campaign


@dataclass(frozen=True)
class Sent:
    audience: int
    control: int
    messages: int
    skipped: dict[str, int]  # reason: members of the treatment group who got nothing


def send_campaign(
    session: Session, *, name: str, now: datetime, weekly_cap: int, links: Links | None = None
) -> Sent:
    """Send a campaign to its audience as it is now, keeping a control group back; `links`
    makes each member's unsubscribe link, for a message that has one."""
    campaign = get_campaign(session, name=name)
    wording = wording_of(campaign)
    texts = campaign.subject + campaign.body + campaign.translations
    if links is None and "{unsubscribe}" in texts:
        raise InvalidInput("this message has an unsubscribe link, but no server to point to")
    if campaign.status is not CampaignStatus.DRAFT:
        raise CampaignAlreadySent(f"campaign {name!r} was sent at {campaign.sent_at}")
    audience = audience_members(session, name=campaign.audience, now=now)
    held = {m for m in audience if rules.in_control(str(campaign.id), m, campaign.control_share)}
    treated = [m for m in audience if m not in held]
    why = reasons_to_skip(session, campaign.channel, treated, now, weekly_cap)
    reached = [m for m in treated if m not in why]
    if not reached:
        raise InvalidInput(
            f"nobody in audience {campaign.audience!r} can be sent this campaign "
            f"({_summary(why) or 'the audience is empty'})",
            field="audience",
        )
    codes: dict[int, str] = {}
    if campaign.coupon_template is not None:
        issued = issue_coupons(
            session,
            template_code=campaign.coupon_template,
            member_ids=reached,
            now=now,
            source=source_of(campaign),
        )
        codes = {c.member_id: c.code for c in issued if c.member_id is not None}
    session.execute(
        bulk_insert(CampaignMember),
        [
            {
                "campaign_id": campaign.id,
                "member_id": m,
                "group": Group.CONTROL if m in held else Group.TREATMENT,
                "skipped": why.get(m),
                "coupon_code": codes.get(m),
            }
            for m in audience
        ],
    )
    values = member_values(session, reached)
    for member_id in reached:
        values[member_id]["coupon_code"] = codes.get(member_id, "")
        if links is not None:
            values[member_id]["unsubscribe"] = links.unsubscribe(member_id, campaign.channel)
    queue_messages(
        session,
        keys={m: f"campaign:{campaign.id}:{m}" for m in reached},
        channel=campaign.channel,
        wording=wording,
        values=values,
        now=now,
        campaign_id=campaign.id,
    )
    campaign.status, campaign.sent_at = CampaignStatus.SENT, now
    session.flush()
    return Sent(len(audience), len(held), len(reached), _summary_counts(why))


@dataclass(frozen=True)
class Power:
    """What a campaign not yet sent can hope to show: its audience now, the share of it who
    bought in a window as long as the campaign's just before, and the smallest rise in that
    share its groups could tell from chance; and that rise in the hardest case, where half
    of them buy anyway (an audience chosen for not buying lately says little of its rate)."""

    audience: int
    base_rate: float
    detectable_lift: float
    worst_case_lift: float


def power_before_send(session: Session, *, name: str, now: datetime) -> Power:
    campaign = get_campaign(session, name=name)
    members = audience_members(session, name=campaign.audience, now=now)
    since = now - timedelta(days=campaign.window_days)
    bought = 0
    for chunk in chunks(members):
        bought += (
            session.scalar(
                select(func.count(func.distinct(Receipt.member_id))).where(
                    Receipt.member_id.in_(chunk), Receipt.sold_at >= since, Receipt.sold_at < now
                )
            )
            or 0
        )
    base = bought / len(members) if members else 0.0
    held = round(len(members) * float(campaign.control_share))
    treated = len(members) - held
    return Power(
        len(members),
        base,
        rules.smallest_detectable_lift(treated, held, base),
        rules.smallest_detectable_lift(treated, held, 0.5),
    )


def due_campaigns(session: Session, *, now: datetime) -> list[str]:
    """The names of the campaigns whose time has come and that have not been sent."""
    due = select(Campaign.name).where(
        Campaign.status == CampaignStatus.DRAFT, Campaign.scheduled_for <= now
    )
    return list(session.scalars(due.order_by(Campaign.scheduled_for, Campaign.id)))


def unschedule_campaign(session: Session, *, name: str, reason: str, now: datetime) -> None:
    """A scheduled send that was refused goes back to the drafts, with the reason in the
    audit log, rather than being refused again every hour."""
    campaign = get_campaign(session, name=name)
    campaign.scheduled_for = None
    record(
        session, at=now, actor="scheduler", role="scheduler",
        action="scheduled campaign not sent", object=f"campaign={name}: {reason}"[:500],
        status=422, request_id=f"campaign:{campaign.id}",
    )  # fmt: skip
    session.flush()


def _summary_counts(why: dict[int, str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for reason in why.values():
        counts[reason] += 1
    return dict(counts)


def _summary(why: dict[int, str]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in _summary_counts(why).items())


@dataclass(frozen=True)
class GroupFigures:
    members: int
    buyers: int
    spend: Decimal
    coupons_redeemed: int


@dataclass(frozen=True)
class Uplift:
    """Each group's figures in the window after a campaign or a journey's entry, and the
    difference it made: treatment (everyone assigned to it, whether reached or not) against
    control."""

    treatment: GroupFigures
    control: GroupFigures
    conversion: rules.Difference
    spend_per_member: rules.Difference
    detectable_lift: float  # the smallest rise in conversion these group sizes can show
    cost: Decimal  # coupon discounts taken and bonus points given, at what they pay
    gross_margin: Decimal  # the chain's share of a sale that is margin

    @property
    def incremental_revenue(self) -> float:
        return self.spend_per_member.value * self.treatment.members

    @property
    def incremental_margin(self) -> float:
        return self.incremental_revenue * float(self.gross_margin)

    @property
    def net_return(self) -> float:
        """The margin the campaign added, less what it cost."""
        return self.incremental_margin - float(self.cost)

    @property
    def return_on_cost(self) -> float:
        return self.net_return / float(self.cost) if self.cost else math.nan


def cost_of(session: Session, *, source: str) -> Decimal:
    """What a campaign's or journey's gifts (`source`) cost: the discounts its coupons gave
    at the till, and its bonus points at what they pay at the till."""
    redeemed = session.execute(
        select(Coupon.code, CommittedSale.result)
        .join(CommittedSale, CommittedSale.receipt_id == Coupon.receipt_id)
        .where(Coupon.source == source, Coupon.status == CouponStatus.REDEEMED)
    )
    discounts = sum(
        (
            Decimal(str(offer["discount"]))
            for code, result in redeemed
            for offer in json.loads(result)["coupons"]
            if offer["code"] == code
        ),
        Decimal(0),
    )
    points = session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.reason == source, PointEntry.kind == EntryKind.BONUS
        )
    )
    redemption = active_program(session)[1].redemption
    return discounts + points_value(redemption, int(points or 0))


def uplift(
    spend: Mapping[Group, list[float]],
    redeemed: Mapping[Group, int],
    *,
    cost: Decimal,
    gross_margin: Decimal,
) -> Uplift:
    """The uplift from each member's spend in the window, by group, and the coupons they
    redeemed; what it cost, and the chain's gross margin."""
    figures = {
        g: GroupFigures(
            members=len(spend[g]),
            buyers=sum(1 for s in spend[g] if s > 0),
            spend=Decimal(str(round(sum(spend[g]), 2))),
            coupons_redeemed=redeemed[g],
        )
        for g in Group
    }
    t, c = figures[Group.TREATMENT], figures[Group.CONTROL]
    return Uplift(
        treatment=t,
        control=c,
        conversion=rules.difference_in_rates(t.buyers, t.members, c.buyers, c.members),
        spend_per_member=rules.difference_in_means(spend[Group.TREATMENT], spend[Group.CONTROL]),
        detectable_lift=rules.smallest_detectable_lift(
            t.members, c.members, c.buyers / c.members if c.members else 0.0
        ),
        cost=cost,
        gross_margin=gross_margin,
    )


@dataclass(frozen=True)
class Results(Uplift):
    """What a campaign earned so far."""

    campaign: Campaign
    window_end: datetime
    messages: dict[str, int]  # by status, and delivered, opened, clicked


def campaign_results(
    session: Session, *, name: str, now: datetime, gross_margin: Decimal
) -> Results:
    """The campaign's figures so far (the window may still be open)."""
    campaign = get_campaign(session, name=name)
    if campaign.sent_at is None:
        raise InvalidInput(f"campaign {name!r} has not been sent yet", field="campaign")
    end = min(campaign.sent_at + timedelta(days=campaign.window_days), now)
    spend: dict[Group, list[float]] = {Group.TREATMENT: [], Group.CONTROL: []}
    redeemed: dict[Group, int] = {Group.TREATMENT: 0, Group.CONTROL: 0}
    in_window = (
        select(Receipt.member_id, func.sum(Receipt.total_amount).label("spend"))
        .where(Receipt.sold_at >= campaign.sent_at, Receipt.sold_at < end)
        .group_by(Receipt.member_id)
        .subquery()
    )
    rows = session.execute(
        select(CampaignMember.group, CampaignMember.coupon_code, in_window.c.spend)
        .outerjoin(in_window, in_window.c.member_id == CampaignMember.member_id)
        .where(CampaignMember.campaign_id == campaign.id)
    )
    used = set(
        session.scalars(
            select(Coupon.code).where(
                Coupon.source == source_of(campaign),
                Coupon.status == CouponStatus.REDEEMED,
            )
        )
    )
    for group, code, money in rows:
        spend[group].append(float(money or 0))
        redeemed[group] += code in used
    cost = cost_of(session, source=source_of(campaign))
    found = uplift(spend, redeemed, cost=cost, gross_margin=gross_margin)
    return Results(
        **vars(found),
        campaign=campaign,
        window_end=end,
        messages=message_figures(session, OutboxMessage.campaign_id == campaign.id),
    )


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))
