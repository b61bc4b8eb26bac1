"""Members: enrol, read, update, find, consent, merge."""

from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Query, Request, status
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from regulars.access.models import Role
from regulars.access.service import Forbidden, Principal
from regulars.api.dependencies import MAX_ID, DbSession, MemberId, allow
from regulars.api.unit_of_work import PERSONAL, names_objects, routes
from regulars.clock import utc_now
from regulars.db import write_back_log
from regulars.members import service
from regulars.members.schemas import Consent, ConsentChange, Member, MemberCreate, MemberUpdate
from regulars.points.service import merge_accounts
from regulars.privacy.service import erase_member, export_member

router = routes(prefix="/v1/members", tags=["members", PERSONAL])
Staff = Annotated[Principal, Depends(allow(Role.SUPPORT))]
Till = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.POS))]
Self = Annotated[Principal, Depends(allow(Role.SUPPORT, Role.MEMBER))]


class MergeIn(BaseModel):
    source_id: int = Field(ge=1, le=MAX_ID)


class Consents(BaseModel):
    current: dict[str, bool]
    history: list[Consent]


@router.post("", status_code=status.HTTP_201_CREATED)
def enroll(data: MemberCreate, session: DbSession, request: Request, caller: Till) -> Member:
    """Enrol a member; a phone already enrolled is a `duplicate_phone` conflict."""
    settings = request.app.state.settings
    member = service.enroll_member(
        session,
        data=data,
        now=utc_now(),
        source=caller.name,
        region=settings.phone_region,
        zone=settings.zone,
    )
    names_objects(request, member_id=member.id)
    return Member.model_validate(member)


@router.get("")
def find(
    session: DbSession,
    request: Request,
    caller: Till,
    card_number: Annotated[str | None, Query(max_length=24)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
) -> Member:
    """Find a member by exactly one of card number, phone or e-mail (tills: card or phone)."""
    if caller.role is Role.POS and email is not None:
        raise Forbidden("a till looks members up by card or phone only")
    member = service.find_member(
        session,
        card_number=card_number,
        phone=phone,
        email=email,
        region=request.app.state.settings.phone_region,
    )
    names_objects(request, member_id=member.id)
    return Member.model_validate(member)


@router.get("/{member_id}")
def read(member_id: MemberId, session: DbSession, caller: Self) -> Member:
    """One member."""
    return Member.model_validate(service.get_member(session, member_id=member_id))


@router.patch("/{member_id}")
def update(
    member_id: MemberId, changes: MemberUpdate, session: DbSession, request: Request, caller: Self
) -> Member:
    """Change contact details; the points, tier and status are not changed here."""
    member = service.update_member(
        session,
        member_id=member_id,
        changes=changes,
        region=request.app.state.settings.phone_region,
    )
    return Member.model_validate(member)


@router.get("/{member_id}/consents")
def consents(member_id: MemberId, session: DbSession, caller: Self) -> Consents:
    """Consent in force per channel, and every change."""
    history = service.consent_history(session, member_id=member_id)
    current = service.current_consents(session, member_id=member_id)
    return Consents(
        current={str(k): v for k, v in current.items()},
        history=[Consent.model_validate(r) for r in history],
    )


@router.post("/{member_id}/consents", status_code=status.HTTP_201_CREATED)
def change_consent(
    member_id: MemberId, change: ConsentChange, session: DbSession, caller: Self
) -> Consent:
    """Record a consent change; the history keeps every earlier one."""
    record = service.record_consent(
        session,
        member_id=member_id,
        channel=change.channel,
        granted=change.granted,
        source=change.source or caller.name,
        now=utc_now(),
    )
    return Consent.model_validate(record)


@router.post("/{member_id}/merge")
def merge(member_id: MemberId, data: MergeIn, session: DbSession, caller: Staff) -> Member:
    """Fold a duplicate registration (`source_id`) into this member, points and history."""
    merge_accounts(
        session, source_id=data.source_id, target_id=member_id, actor=caller.name, now=utc_now()
    )
    return Member.model_validate(service.get_member(session, member_id=member_id))


@router.get("/{member_id}/export")
def export(member_id: MemberId, session: DbSession, caller: Self) -> dict[str, Any]:
    """Everything held about the member: profile, consents, receipts, points, coupons, tiers."""
    # Money stays exact: decimals as strings, as everywhere else in the API.
    return jsonable_encoder(
        export_member(session, member_id=member_id), custom_encoder={Decimal: str}
    )


@router.post("/{member_id}/erase")
def erase(member_id: MemberId, session: DbSession, caller: Staff, request: Request) -> Member:
    """Erase personal data; receipts and points stay, no longer linked to a person."""
    erase_member(session, member_id=member_id, now=utc_now())
    # Once committed, the earlier versions of the rows leave the disk too.
    request.state.after_commit.append(partial(write_back_log, request.app.state.engine))
    return Member.model_validate(service.get_member(session, member_id=member_id))
