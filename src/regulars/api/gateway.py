"""What the chain's message gateway tells us: SMS replies, and what became of a message.
Signed like the messages we send it (X-Regulars-Timestamp, X-Regulars-Signature over
`<timestamp>.<body>`), not by API key."""

import hmac
import time
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from regulars.campaigns.channels.webhook import signature
from regulars.campaigns.optout import stop_reply
from regulars.campaigns.outbox import record_event
from regulars.clock import AwareMoment, utc_now
from regulars.console.core import Db
from regulars.errors import RegularsError

router = APIRouter(prefix="/gateway", tags=["gateway"])
FRESH = 300  # seconds a signed request stays good: a replay of an old one is refused


class Reply(BaseModel):
    channel: str = Field(pattern="^sms$")
    sender: str = Field(alias="from", min_length=3, max_length=32)
    text: str = Field(max_length=500)


class Replied(BaseModel):
    unsubscribed: bool


class BadSignature(RegularsError):
    code = "bad_signature"
    status = 401


async def _signed(request: Request) -> None:
    secret = request.app.state.settings.gateway_secret
    stamp = request.headers.get("x-regulars-timestamp", "")
    sent = request.headers.get("x-regulars-signature", "")
    if not secret or not stamp.isdigit() or abs(time.time() - int(stamp)) > FRESH:
        raise BadSignature("no gateway is configured, or the request is not signed and fresh")
    expected = signature(secret.encode(), stamp, await request.body())
    if not hmac.compare_digest(expected, sent):
        raise BadSignature("the signature does not match")


@router.post("/replies")
async def reply(data: Reply, session: Db, request: Request) -> Replied:
    """A member's SMS reply: STOP (TD, 退订, …) withdraws their SMS consent."""
    await _signed(request)
    region = request.app.state.settings.phone_region
    done = stop_reply(session, phone=data.sender, text=data.text, region=region, now=utc_now())
    return Replied(unsubscribed=done)


class Event(BaseModel):
    key: str = Field(min_length=1, max_length=64, description="The key the message was sent under.")
    event: Literal["delivered", "opened", "clicked"]
    at: AwareMoment | None = Field(default=None, description="When; default: now.")


class Recorded(BaseModel):
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None


@router.post("/events")
async def event(data: Event, session: Db, request: Request) -> Recorded:
    """What the channel saw of a message: delivered, opened, clicked (counted in results)."""
    await _signed(request)
    found = record_event(session, key=data.key, event=data.event, at=data.at or utc_now())
    return Recorded(
        delivered_at=found.delivered_at, opened_at=found.opened_at, clicked_at=found.clicked_at
    )
