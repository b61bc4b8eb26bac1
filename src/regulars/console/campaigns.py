"""Audiences and campaigns in the console: build an audience with its live count, define a
campaign, send it, and read what it earned."""

import json
from decimal import Decimal, InvalidOperation
from typing import Annotated

import plotly.graph_objects as go
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from regulars.audiences.service import (
    count_members,
    list_audiences,
    parse_condition,
    read_definition,
    save_audience,
    saved_condition,
)
from regulars.campaigns.messages import preview
from regulars.campaigns.optout import Links
from regulars.campaigns.rules import VARIABLES, Wording
from regulars.campaigns.service import (
    CampaignDraft,
    Uplift,
    campaign_results,
    create_campaign,
    get_campaign,
    list_campaigns,
    power_before_send,
    send_campaign,
)
from regulars.clock import moment_of, utc_now
from regulars.console.core import Db, allow, audit_action, form_errors, once, render
from regulars.console.dashboard import chart_html
from regulars.coupons.service import list_templates
from regulars.errors import InvalidInput, RegularsError
from regulars.i18n import Language
from regulars.members.models import ConsentChannel
from regulars.members.service import find_member
from regulars.staff.models import StaffRole, StaffUser

router = APIRouter(prefix="/console", include_in_schema=False)
Readers = allow(StaffRole.MARKETING, StaffRole.ANALYST)
Marketing = allow(StaffRole.MARKETING)
Text = Annotated[str, Form(max_length=20_000)]
EXAMPLE = {
    "kind": "all",
    "of": [
        {"kind": "days_since_purchase", "min": 30},
        {"kind": "consent", "values": ["wechat"]},
    ],
}


def _audiences_page(request: Request, session: Db, status: int = 200, **values: object) -> Response:
    now = utc_now()
    saved = [
        (a, count_members(session, saved_condition(a), now=now)) for a in list_audiences(session)
    ]
    defaults: dict[str, object] = {
        "saved": saved,
        "errors": {},
        "typed": {"definition": json.dumps(EXAMPLE, indent=2)},
    }
    return render(request, "audiences.html", status=status, **(defaults | values))


@router.get("/audiences")
def audiences(request: Request, session: Db, user: StaffUser = Readers) -> Response:
    return _audiences_page(request, session)


@router.post("/audiences/count")
def audience_count(
    request: Request, session: Db, definition: Text = "", user: StaffUser = Readers
) -> Response:
    """The live count of the definition being written (htmx swaps it in)."""
    try:
        condition = parse_condition(read_definition(definition))
    except RegularsError as refused:
        return render(request, "audience_count.html", error=request.state.t.told(refused.message))
    members = count_members(session, condition, now=utc_now())
    return render(request, "audience_count.html", members=members, error=None)


@router.post("/audiences")
def new_audience(
    request: Request,
    session: Db,
    name: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    definition: Text = "",
    user: StaffUser = Marketing,
) -> Response:
    def act() -> str:
        saved = save_audience(
            session, name=name, definition=read_definition(definition), description=description,
            now=utc_now(), actor=user.username,
        )  # fmt: skip
        audit_action(request, session, user, f"create audience {saved.name}")
        return "/console/audiences"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        typed = {"name": name, "description": description, "definition": definition}
        errors = form_errors(request.state.t, refused)
        return _audiences_page(request, session, errors=errors, typed=typed, status=422)


def _campaigns_page(request: Request, session: Db, status: int = 200, **values: object) -> Response:
    defaults: dict[str, object] = {
        "campaigns": list_campaigns(session),
        "audiences": list_audiences(session),
        "channels": list(ConsentChannel),
        "templates": list_templates(session, limit=200),
        "errors": {},
        "typed": {"control_share": "0.2", "window_days": "14"},
    }
    return render(request, "campaigns.html", status=status, **(defaults | values))


@router.get("/campaigns")
def campaigns(request: Request, session: Db, user: StaffUser = Readers) -> Response:
    return _campaigns_page(request, session)


FIELDS = ("name", "audience", "channel", "subject", "body", "en_subject", "en_body",
          "coupon_template", "control_share", "window_days", "scheduled_for")  # fmt: skip


def _typed(request: Request) -> dict[str, str]:
    return {f: str(request.state.form.get(f, "")).strip() for f in FIELDS}


def _wording(typed: dict[str, str]) -> Wording:
    english = {"en": (typed["en_subject"], typed["en_body"])} if typed["en_body"] else {}
    return Wording(typed["subject"], typed["body"], english)


@router.post("/campaigns")
def new_campaign(request: Request, session: Db, user: StaffUser = Marketing) -> Response:
    typed = _typed(request)

    def act() -> str:
        if typed["channel"] not in {c.value for c in ConsentChannel}:
            raise InvalidInput("choose a channel", field="channel")
        zone = request.app.state.settings.zone
        wording = _wording(typed)
        draft = CampaignDraft(
            name=typed["name"], audience=typed["audience"],
            channel=ConsentChannel(typed["channel"]), body=wording.body,
            subject=wording.subject, translations=wording.translations,
            coupon_template=typed["coupon_template"] or None,
            control_share=_number(typed["control_share"], "control_share"),
            window_days=int(_number(typed["window_days"], "window_days")),
            scheduled_for=moment_of(typed["scheduled_for"], zone, field="scheduled_for")
            if typed["scheduled_for"] else None,
        )  # fmt: skip
        made = create_campaign(session, draft=draft, now=utc_now(), actor=user.username)
        audit_action(request, session, user, f"create campaign {made.name}")
        return f"/console/campaigns/{made.name}"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        errors = form_errors(request.state.t, refused)
        return _campaigns_page(request, session, errors=errors, typed=typed, status=422)


@router.post("/campaigns/preview")
def preview_campaign(request: Request, session: Db, user: StaffUser = Marketing) -> Response:
    """The message being written, as the member with the card typed would read it."""
    card = str(request.state.form.get("preview_card", "")).strip()
    try:
        wording = _wording(_typed(request))
        wording.check()
        region = request.app.state.settings.phone_region
        member = find_member(session, region=region, card_number=card)
        language, subject, body = preview(
            session, wording=wording, member_id=member.id, variables=VARIABLES
        )
    except RegularsError as refused:
        return render(request, "message_preview.html", error=request.state.t.told(refused.message))
    return render(request, "message_preview.html", error=None, language=language,
                  subject=subject, body=body)  # fmt: skip


def _number(text: str, field: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInput("give a number, e.g. 0.2", field=field) from None


CampaignName = Annotated[str, Path(min_length=1, max_length=100)]


def uplift_chart(t: Language, found: Uplift) -> str:
    groups = [found.treatment, found.control]
    shares = [g.buyers / g.members if g.members else 0 for g in groups]
    figure = go.Figure(go.Bar(x=[t("Treatment"), t("Control")], y=shares))
    figure.update_layout(yaxis={"title": t("Share who bought"), "tickformat": ".0%"})
    return chart_html(t, figure, t("Who bought in the window"))


@router.get("/campaigns/{name}")
def campaign(
    name: CampaignName, request: Request, session: Db, user: StaffUser = Readers
) -> Response:
    found = get_campaign(session, name=name)
    margin = request.app.state.settings.gross_margin
    results = (
        campaign_results(session, name=name, now=utc_now(), gross_margin=margin)
        if found.sent_at
        else None
    )
    chart = uplift_chart(request.state.t, results) if results else None
    power = None if found.sent_at else power_before_send(session, name=name, now=utc_now())
    return render(request, "campaign.html", campaign=found, results=results, chart=chart,
                  power=power, translations=json.loads(found.translations),
                  errors={})  # fmt: skip


@router.post("/campaigns/{name}/send")
def send(
    name: CampaignName, request: Request, session: Db, user: StaffUser = Marketing
) -> Response:
    def act() -> str:
        settings = request.app.state.settings
        links = Links(settings.public_url, request.app.state.secret)
        cap = settings.marketing_per_week
        send_campaign(session, name=name, now=utc_now(), weekly_cap=cap, links=links)
        audit_action(request, session, user, f"send campaign {name}")
        return f"/console/campaigns/{name}"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        found = get_campaign(session, name=name)
        return render(request, "campaign.html", status=422, campaign=found, results=None,
                      chart=None, power=None, translations=json.loads(found.translations),
                      errors=form_errors(request.state.t, refused))  # fmt: skip
