"""Member 360: find a member, see everything about them, and act for them at the desk."""

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.cases.service import list_cases
from regulars.catalog.models import Product
from regulars.clock import utc_now
from regulars.console.core import Db, allow, audit_action, once_or_again, render, validated
from regulars.coupons.service import WalletView, issue_coupons, list_templates, wallet
from regulars.db import write_back_log
from regulars.errors import InvalidInput
from regulars.insights.models import ModelRun
from regulars.insights.offers import offers_of
from regulars.insights.promotions import promotions_for
from regulars.insights.recommendations import recommendations_of
from regulars.insights.service import NoInsights, churn_drivers, member_insight
from regulars.members import rules
from regulars.members.models import ConsentChannel, Member
from regulars.members.schemas import MemberUpdate
from regulars.members.service import (
    current_consents,
    get_member,
    record_consent,
    search_members,
    update_member,
)
from regulars.points.models import PointLot
from regulars.points.service import adjust_points, balance, latest_entries, merge_accounts
from regulars.privacy.service import erase_member, export_member
from regulars.program.service import active_program
from regulars.referrals.service import referral_status
from regulars.sales.service import member_receipts
from regulars.staff.models import StaffRole, StaffUser
from regulars.staff.service import check_adjustment
from regulars.surveys.service import list_responses
from regulars.tiers.service import standing

router = APIRouter(prefix="/console/members", include_in_schema=False)
MemberId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Agent = allow(StaffRole.SUPPORT)


@router.get("")
def search(
    request: Request,
    session: Db,
    q: Annotated[str, Query(max_length=254)] = "",
    user: StaffUser = Agent,
) -> Response:
    """Find by card number, phone, e-mail or name; htmx swaps in the results as the agent
    types."""
    found = search_members(session, text=q, region=request.app.state.settings.phone_region)
    template = "member_found.html" if request.headers.get("hx-request") else "members.html"
    return render(request, template, q=q, found=found, masked=_masked)


def _masked(member: Member) -> dict[str, str]:
    return {
        "name": rules.masked_name(member.name),
        "phone": rules.masked_phone(member.phone),
        "email": rules.masked_email(member.email),
    }


def _by_expiry(lots: list[PointLot]) -> list[tuple[datetime | None, list[PointLot]]]:
    """The lots held, grouped by when they expire, soonest first, those that never last."""
    groups: dict[datetime | None, list[PointLot]] = {}
    for lot in sorted(lots, key=lambda lot: lot.earned_at):
        groups.setdefault(lot.expires_at, []).append(lot)
    return sorted(groups.items(), key=lambda group: (group[0] is None, group[0] or datetime.min))


def _products(session: Session, ids: set[int]) -> dict[int, Product]:
    return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}


def _view(request: Request, session: Session, member_id: int, **extra: Any) -> Response:
    """The member 360 page; `extra` carries a form's errors and what was typed."""
    member = get_member(session, member_id=member_id)
    now = utc_now()
    _, program = active_program(session)
    receipts = member_receipts(session, member_id=member_id, limit=10)
    products = _products(session, {line.product_id for r, _ in receipts for line in r.lines})
    try:
        insight = member_insight(session, member_id=member_id)
    except NoInsights:
        insight = None
    run = session.get(ModelRun, insight.model_run_id) if insight else None
    drivers = churn_drivers(run, member_id=member_id) if run else []
    tier = standing(session, member_id=member_id, program=program, as_of=now)
    points = balance(session, member_id=member_id, now=now)
    recommended = recommendations_of(session, member_id=member_id)  # (list, popular)
    names = {product.sku: product.name for product in recommended[0]}
    values = {
        "member": member,
        "masked": _masked(member),
        "revealed": None,
        "consents": current_consents(session, member_id=member_id),
        "tier": tier,
        "points": points,
        "expiring": _by_expiry(points.lots),
        "entries": latest_entries(session, member_id=member_id, limit=20),
        "receipts": receipts,
        "products": products,
        "coupons": wallet(session, member_id=member_id, now=now, view=WalletView.ALL)[:20],
        "templates": list_templates(session, limit=200),
        "referrals": referral_status(session, member_id=member_id),
        "cases": list_cases(session, member_id=member_id, limit=20),
        "answers": list(reversed(list_responses(session, member_id=member_id, limit=1000)))[:10],
        "recommended": recommended,
        "offers": offers_of(session, member_id=member_id),  # (list, for everyone)
        "promotions": [
            (promotion, [names[sku] for sku in promotion.skus])
            for promotion in promotions_for(
                session, member_id=member_id, products=recommended[0], now=now
            )
        ],
        "insight": insight,
        "drivers": drivers,
        "channels": list(ConsentChannel),
        "errors": {},
        "typed": {},
        "said": request.query_params.get("said"),
        "cap": None,
    }
    status = extra.pop("status", 200)
    return render(request, "member.html", status=status, **(values | extra))


@router.get("/{member_id}")
def member_360(
    member_id: MemberId, request: Request, session: Db, user: StaffUser = Agent
) -> Response:
    return _view(request, session, member_id)


def _act(
    request: Request,
    session: Session,
    user: StaffUser,
    member_id: int,
    action: str,
    work: Callable[[], object],
    said: str,
) -> Response:
    """Do one action for a member once, audited; on a refusal, the page again with the
    error beside its field and what the agent typed."""

    def done() -> str:
        work()
        audit_action(request, session, user, action, member_id=member_id)
        return f"/console/members/{member_id}?said={said}"

    def again(errors: dict[str, str], typed: dict[str, str]) -> Response:
        return _view(request, session, member_id, errors=errors, typed=typed, status=422)

    return once_or_again(request, session, user, done, again)


@router.post("/{member_id}/reveal")
def reveal(member_id: MemberId, request: Request, session: Db, user: StaffUser = Agent) -> Response:
    """Show the member's contact details in full; every reveal is audited."""
    member = get_member(session, member_id=member_id)
    audit_action(request, session, user, "reveal personal data", member_id=member_id)
    shown = {"name": member.name or "", "phone": member.phone or "", "email": member.email or ""}
    if request.headers.get("hx-request"):
        return render(request, "member_contact.html", member=member, masked=shown, revealed=True)
    return _view(request, session, member_id, masked=shown, revealed=True)


@router.post("/{member_id}/points")
def adjust(
    member_id: MemberId,
    request: Request,
    session: Db,
    points: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
    user: StaffUser = Agent,
) -> Response:
    """Add or take points for a stated reason, within the cap of the agent's role."""

    def work() -> None:
        amount = _whole(points, "points")
        check_adjustment(user, amount)
        if len(reason.strip()) < 3:
            raise InvalidInput("say why, in at least 3 characters", field="reason")
        _, program = active_program(session)
        adjust_points(
            session,
            member_id=member_id,
            points=amount,
            reason=reason.strip(),
            actor=user.username,
            now=utc_now(),
            program=program,
        )

    return _act(request, session, user, member_id, "adjust points", work, "points_adjusted")


def _whole(text: str, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput("give a whole number, e.g. 200 or -50", field=field) from None


@router.post("/{member_id}/coupons")
def goodwill_coupon(
    member_id: MemberId,
    request: Request,
    session: Db,
    template: Annotated[str, Form(max_length=32)] = "",
    user: StaffUser = Agent,
) -> Response:
    """Issue one coupon of a template to the member, as a goodwill gesture."""

    def work() -> None:
        if not template:
            raise InvalidInput("choose a coupon", field="template")
        get_member(session, member_id=member_id)
        issue_coupons(
            session,
            template_code=template,
            member_ids=[member_id],
            now=utc_now(),
            source=f"goodwill:{user.username}"[:40],
        )

    return _act(request, session, user, member_id, "goodwill coupon", work, "coupon_issued")


@router.post("/{member_id}/consents")
def consent(
    member_id: MemberId,
    request: Request,
    session: Db,
    channel: Annotated[str, Form(max_length=20)] = "",
    granted: Annotated[str, Form(max_length=5)] = "",
    user: StaffUser = Agent,
) -> Response:
    """Record what the member said about a channel, kept beside the earlier answers."""

    def work() -> None:
        if channel not in {c.value for c in ConsentChannel}:
            raise InvalidInput("choose a channel", field="channel")
        record_consent(
            session,
            member_id=member_id,
            channel=ConsentChannel(channel),
            granted=granted == "yes",
            source=f"console:{user.username}"[:40],
            now=utc_now(),
        )

    return _act(request, session, user, member_id, "record consent", work, "consent_recorded")


@router.post("/{member_id}/details")
def details(
    member_id: MemberId,
    request: Request,
    session: Db,
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    user: StaffUser = Agent,
) -> Response:
    """Change the contact details the agent typed; a field left empty stays as it is."""

    def work() -> None:
        given = {k: v.strip() for k, v in (("name", name), ("phone", phone), ("email", email))}
        changes = {k: v for k, v in given.items() if v}
        if not changes:
            raise InvalidInput("type the details to change", field="name")
        update = validated(MemberUpdate, changes)
        update_member(
            session,
            member_id=member_id,
            changes=update,
            region=request.app.state.settings.phone_region,
        )

    return _act(request, session, user, member_id, "update details", work, "details_updated")


@router.post("/{member_id}/merge")
def merge(
    member_id: MemberId,
    request: Request,
    session: Db,
    duplicate: Annotated[str, Form(max_length=254)] = "",
    user: StaffUser = Agent,
) -> Response:
    """Fold a duplicate registration, found by its card, phone or e-mail, into this member."""

    def work() -> None:
        found = search_members(
            session, text=duplicate, region=request.app.state.settings.phone_region, limit=2
        )
        if len(found) != 1:
            raise InvalidInput(
                "give the card number, phone or e-mail of exactly one member", field="duplicate"
            )
        merge_accounts(
            session, source_id=found[0].id, target_id=member_id, actor=user.username, now=utc_now()
        )

    return _act(request, session, user, member_id, "merge duplicate", work, "duplicate_merged")


@router.get("/{member_id}/export")
def export(member_id: MemberId, request: Request, session: Db, user: StaffUser = Agent) -> Response:
    """Everything held about the member as a JSON file, for a data access request."""
    found = jsonable_encoder(
        export_member(session, member_id=member_id), custom_encoder={Decimal: str}
    )
    audit_action(request, session, user, "export member", member_id=member_id)
    return Response(
        json.dumps(found, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="member-{member_id}.json"'},
    )


@router.post("/{member_id}/erase")
def erase(
    member_id: MemberId,
    request: Request,
    session: Db,
    confirm: Annotated[str, Form(max_length=24)] = "",
    user: StaffUser = Agent,
) -> Response:
    """Erase the member's personal data once the agent has typed the card number to confirm."""

    def work() -> None:
        member = get_member(session, member_id=member_id)
        if confirm.strip() != member.card_number:
            raise InvalidInput("type the member's card number to confirm", field="confirm")
        erase_member(session, member_id=member_id, now=utc_now())
        # Once committed, the earlier versions of the rows leave the disk too.
        request.state.after_commit.append(partial(write_back_log, request.app.state.engine))

    return _act(request, session, user, member_id, "erase member", work, "member_erased")
