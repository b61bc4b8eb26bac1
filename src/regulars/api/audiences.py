"""Audiences: save a definition, preview how many it holds, read the saved ones."""

import json
from typing import Annotated

from fastapi import Depends, Path, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, allow
from regulars.api.unit_of_work import READS_ONLY, routes
from regulars.audiences import service
from regulars.audiences.models import Audience
from regulars.audiences.schemas import AudienceIn, AudienceOut, Count, Preview
from regulars.clock import utc_now

router = routes(prefix="/v1/audiences", tags=["audiences"])
Marketing = Annotated[Principal, Depends(allow(Role.MARKETING))]
Readers = Annotated[Principal, Depends(allow(Role.MARKETING, Role.ANALYST))]
Name = Annotated[str, Path(min_length=1, max_length=100)]


def _out(audience: Audience) -> AudienceOut:
    return AudienceOut(
        name=audience.name,
        description=audience.description,
        definition=json.loads(audience.definition),
        created_at=audience.created_at,
        created_by=audience.created_by,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create(data: AudienceIn, session: DbSession, caller: Marketing) -> AudienceOut:
    """Save a named audience; a definition nobody could meet is refused."""
    audience = service.save_audience(
        session,
        name=data.name,
        definition=data.definition,
        description=data.description,
        now=utc_now(),
        actor=caller.name,
    )
    return _out(audience)


@router.post("/count", openapi_extra=READS_ONLY)
def preview(data: Preview, session: DbSession, caller: Readers) -> Count:
    """How many members a definition holds for now, before it is saved or sent to."""
    condition = service.parse_condition(data.definition)
    return Count(members=service.count_members(session, condition, now=utc_now()))


@router.get("")
def list_all(session: DbSession, caller: Readers) -> list[AudienceOut]:
    """Every saved audience, by name."""
    return [_out(a) for a in service.list_audiences(session)]


@router.get("/{name}/count")
def count(name: Name, session: DbSession, caller: Readers) -> Count:
    """How many members a saved audience holds for now."""
    condition = service.saved_condition(service.get_audience(session, name=name))
    return Count(members=service.count_members(session, condition, now=utc_now()))
