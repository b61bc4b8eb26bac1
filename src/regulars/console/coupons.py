"""Coupons and rewards: the templates with their stock and redemption rates, issuing a
template to a whole segment, and the rewards catalogue."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from regulars.clock import utc_now
from regulars.console.core import Db, allow, audit_action, form_errors, once, render, validated
from regulars.console.segments import scored_figures
from regulars.coupons.models import CouponKind
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.coupons.service import add_template, issue_coupons, template_use
from regulars.errors import InvalidInput, RegularsError
from regulars.insights.service import segment_member_ids
from regulars.program.service import active_program
from regulars.staff.models import StaffRole, StaffUser

router = APIRouter(prefix="/console/coupons", include_in_schema=False)


def _page(request: Request, session: Db, status: int = 200, **values: object) -> Response:
    defaults = {
        "uses": template_use(session),
        "segments": [
            c.rfm_segment for c in scored_figures(request, session).segments if c.rfm_segment
        ],
        "rewards": active_program(session)[1].rewards,
        "kinds": list(CouponKind),
        "errors": {},
        "typed": {},
        "said": request.query_params.get("issued"),
    }
    return render(request, "coupons.html", status=status, **(defaults | values))


@router.get("")
def coupons(
    request: Request,
    session: Db,
    user: StaffUser = allow(StaffRole.ANALYST, StaffRole.SUPPORT, StaffRole.MARKETING),
) -> Response:
    return _page(request, session)


@router.post("/issue")
def issue_to_segment(
    request: Request,
    session: Db,
    template: Annotated[str, Form(max_length=32)] = "",
    segment: Annotated[str, Form(max_length=32)] = "",
    user: StaffUser = allow(),
) -> Response:
    """One coupon of the template to every member of the segment: all or none."""

    def act() -> str:
        members = segment_member_ids(session, segment=segment)
        if not members:
            raise InvalidInput("the segment has no members", field="segment")
        issued = issue_coupons(
            session,
            template_code=template,
            member_ids=members,
            now=utc_now(),
            source=f"segment:{segment}"[:40],
        )
        audit_action(request, session, user, f"issue {template} to segment {segment}")
        return f"/console/coupons?issued={len(issued)}"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        field = refused.field if refused.field in {"template", "segment"} else "template"
        errors = {field: request.state.t.told(refused.message)}
        typed = {"template": template, "segment": segment}
        return _page(request, session, errors=errors, typed=typed, status=422)


TEMPLATE_FIELDS = (
    "code", "name", "kind", "amount", "percent", "max_discount", "free_sku", "min_spend",
    "valid_days", "per_member_limit", "total_quantity",
)  # fmt: skip


@router.post("/templates")
def new_template(request: Request, session: Db, user: StaffUser = allow()) -> Response:
    """Define a coupon; every field that is wrong is shown beside itself."""
    typed = {name: str(request.state.form.get(name, "")).strip() for name in TEMPLATE_FIELDS}

    def act() -> str:
        given = {name: value for name, value in typed.items() if value}
        template = add_template(session, data=validated(CouponTemplateCreate, given), now=utc_now())
        audit_action(request, session, user, f"create coupon template {template.code}")
        return "/console/coupons"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        errors = form_errors(request.state.t, refused)
        return _page(request, session, errors=errors, typed=typed, status=422)
