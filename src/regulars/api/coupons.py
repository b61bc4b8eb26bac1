"""Coupons: templates, issuing, a member's wallet, voiding."""

from typing import Annotated

from fastapi import Depends, Query
from fastapi import status as http
from pydantic import BaseModel, Field, model_validator

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import MAX_ID, Cursor, DbSession, MemberId, allow
from regulars.api.unit_of_work import routes
from regulars.clock import utc_now
from regulars.coupons import service
from regulars.coupons.schemas import Coupon, CouponTemplate, CouponTemplateCreate
from regulars.members.service import get_member

router = routes(prefix="/v1", tags=["coupons"])
Admin = Annotated[Principal, Depends(allow())]
Staff = Annotated[Principal, Depends(allow(Role.SUPPORT))]
Readers = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.ANALYST))]
Self = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.MEMBER))]


class IssueIn(BaseModel):
    """To members by id, or bearer coupons that anyone holding the code may use."""

    member_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=10_000
    )
    bearer: int = Field(default=0, ge=0, le=10_000, description="How many bearer coupons.")

    @model_validator(mode="after")
    def _one_way(self) -> "IssueIn":
        if bool(self.member_ids) == bool(self.bearer):
            raise ValueError("give either member_ids or a number of bearer coupons")
        return self


@router.post("/coupon-templates", status_code=http.HTTP_201_CREATED)
def create_template(
    data: CouponTemplateCreate, session: DbSession, caller: Admin
) -> CouponTemplate:
    """Define a coupon: what it gives, to what, where, for how long, how many."""
    return CouponTemplate.model_validate(service.add_template(session, data=data, now=utc_now()))


@router.get("/coupon-templates")
def list_templates(
    session: DbSession,
    caller: Readers,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CouponTemplate]:
    """Coupon templates in id order, a page at a time."""
    rows = service.list_templates(session, after_id=after, limit=limit)
    return [CouponTemplate.model_validate(t) for t in rows]


@router.get("/coupon-templates/{code}")
def read_template(code: str, session: DbSession, caller: Readers) -> CouponTemplate:
    """One coupon template."""
    return CouponTemplate.model_validate(service.get_template(session, code=code))


@router.post("/coupon-templates/{code}/issue", status_code=http.HTTP_201_CREATED)
def issue(code: str, data: IssueIn, session: DbSession, caller: Staff) -> list[Coupon]:
    """Issue one coupon to each member listed, or `bearer` coupons for anyone; all or
    nothing."""
    holders: list[int | None] = [*data.member_ids] or [None] * data.bearer
    issued = service.issue_coupons(
        session, template_code=code, member_ids=holders, now=utc_now(), source=caller.name
    )
    return [Coupon.model_validate(c) for c in issued]


@router.get("/members/{member_id}/coupons")
def member_wallet(
    member_id: MemberId,
    session: DbSession,
    caller: Self,
    status: Annotated[
        service.WalletView, Query(description="Which coupons: by default those still usable.")
    ] = service.WalletView.USABLE,
) -> list[Coupon]:
    """A member's coupons, soonest to expire first."""
    get_member(session, member_id=member_id)
    found = service.wallet(session, member_id=member_id, now=utc_now(), view=status)
    return [Coupon.model_validate(c) for c in found]


@router.post("/coupons/{code}/void")
def void(code: str, session: DbSession, caller: Staff) -> Coupon:
    """Withdraw an unused coupon."""
    return Coupon.model_validate(service.void_coupon(session, code=code))
