"""Member tokens, issued by the member app's back end (an `app` key) when a member logs in."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, status
from pydantic import BaseModel, Field

from regulars.access.models import Role
from regulars.access.service import Principal, issue_member_token
from regulars.api.dependencies import MAX_ID, DbSession, allow
from regulars.api.unit_of_work import routes
from regulars.clock import utc_now

router = routes(prefix="/v1/member-tokens", tags=["access"])
App = Annotated[Principal, Depends(allow(Role.APP))]


class TokenIn(BaseModel):
    member_id: int = Field(ge=1, le=MAX_ID)


class Token(BaseModel):
    token: str
    expires_at: datetime


@router.post("", status_code=status.HTTP_201_CREATED)
def issue(data: TokenIn, session: DbSession, request: Request, caller: App) -> Token:
    """A short-lived token for one member's own account."""
    minutes = request.app.state.settings.member_token_minutes
    token, expires = issue_member_token(
        session,
        member_id=data.member_id,
        secret=request.app.state.secret,
        now=utc_now(),
        lifetime=timedelta(minutes=minutes),
    )
    return Token(token=token, expires_at=expires)
