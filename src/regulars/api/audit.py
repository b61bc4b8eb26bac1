"""The audit log, read by admins: who did what to which object, and when."""

from typing import Annotated

from fastapi import Depends, Query

from regulars.access.service import Principal
from regulars.api.dependencies import MAX_ID, Cursor, DbSession, allow
from regulars.api.unit_of_work import routes
from regulars.audit.schemas import AuditEntryOut
from regulars.audit.service import AuditFilter, page
from regulars.clock import AwareMoment

router = routes(prefix="/v1/audit", tags=["audit"])
Admin = Annotated[Principal, Depends(allow())]


@router.get("")
def entries(
    session: DbSession,
    caller: Admin,
    actor: Annotated[str | None, Query(max_length=100, description="Who acted.")] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="A part of the action, e.g. `erase`.")
    ] = None,
    member_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Entries naming this member.")
    ] = None,
    since: Annotated[
        AwareMoment | None, Query(description="From this moment on, with its zone.")
    ] = None,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AuditEntryOut]:
    """Entries oldest first, after the id `after`, matching every filter given."""
    found = AuditFilter(actor=actor, action=action, member_id=member_id, since=since)
    return [
        AuditEntryOut.model_validate(e) for e in page(session, found, after_id=after, limit=limit)
    ]
