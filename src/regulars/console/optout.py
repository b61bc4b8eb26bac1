"""The page behind a message's unsubscribe link: it asks, then withdraws the consent (a link
checker or a preview that only opens the page changes nothing)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from regulars.campaigns.optout import read_token, unsubscribe
from regulars.clock import utc_now
from regulars.console.core import Db, render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(max_length=200)]


@router.get("/u/{token}")
def ask(token: Token, request: Request) -> Response:
    _, channel = read_token(request.app.state.secret, token)
    return render(request, "unsubscribe.html", token=token, channel=channel, done=False)


@router.post("/u/{token}")
def confirm(token: Token, request: Request, session: Db) -> Response:
    channel = unsubscribe(session, secret=request.app.state.secret, token=token, now=utc_now())
    return render(request, "unsubscribe.html", token=token, channel=channel, done=True)
