"""Messages: what the outbox holds and sent, transactional notices (a receipt, a points
statement), and a message previewed as one member would read it."""

from typing import Annotated

from fastapi import Depends, Query, status
from sqlalchemy import select

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import MAX_ID, DbSession, allow
from regulars.api.unit_of_work import READS_ONLY, routes
from regulars.campaigns.messages import preview as preview_message
from regulars.campaigns.models import MessageStatus, OutboxMessage
from regulars.campaigns.notices import send_notice
from regulars.campaigns.rules import VARIABLES, Wording
from regulars.campaigns.schemas import MessageOut, NoticeIn, PreviewIn, PreviewOut
from regulars.campaigns.service import get_campaign
from regulars.clock import utc_now
from regulars.errors import InvalidInput
from regulars.journeys.plan import TRIGGER_VARIABLES, Trigger
from regulars.journeys.service import get_journey

router = routes(prefix="/v1/messages", tags=["messages"])
Senders = Annotated[Principal, Depends(allow(Role.MARKETING, Role.SUPPORT))]
Marketing = Annotated[Principal, Depends(allow(Role.MARKETING))]


@router.get("")
def list_messages(
    session: DbSession,
    caller: Senders,
    member_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    campaign: Annotated[str | None, Query(max_length=100)] = None,
    journey: Annotated[str | None, Query(max_length=100)] = None,
    status_: Annotated[MessageStatus | None, Query(alias="status")] = None,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[MessageOut]:
    """Messages in id order, after `after_id`: by member, campaign, journey or status."""
    query = select(OutboxMessage).where(OutboxMessage.id > after_id)
    if member_id is not None:
        query = query.where(OutboxMessage.member_id == member_id)
    if campaign is not None:
        query = query.where(OutboxMessage.campaign_id == get_campaign(session, name=campaign).id)
    if journey is not None:
        query = query.where(OutboxMessage.journey_id == get_journey(session, name=journey).id)
    if status_ is not None:
        query = query.where(OutboxMessage.status == status_)
    found = session.scalars(query.order_by(OutboxMessage.id).limit(limit))
    return [MessageOut.model_validate(m) for m in found]


@router.post("", status_code=status.HTTP_201_CREATED)
def notify(data: NoticeIn, session: DbSession, caller: Senders) -> MessageOut:
    """Send a member a receipt or a points statement: transactional, so no marketing consent
    is needed and no cap or quiet hours apply; the same notice asked twice is sent once."""
    message = send_notice(
        session,
        member_id=data.member_id,
        notice=data.notice,
        channel=data.channel,
        receipt_id=data.receipt_id,
        now=utc_now(),
    )
    return MessageOut.model_validate(message)


@router.post("/preview", openapi_extra=READS_ONLY)
def preview(data: PreviewIn, session: DbSession, caller: Marketing) -> PreviewOut:
    """A message as this member would read it, in their language, before anything is sent."""
    variables: tuple[str, ...] = VARIABLES
    if data.trigger is not None:
        if data.trigger not in set(Trigger):
            raise InvalidInput(f"no trigger {data.trigger!r}", field="trigger")
        variables += TRIGGER_VARIABLES.get(Trigger(data.trigger), ())
    texts = {str(k): (v.subject, v.body) for k, v in data.translations.items()}
    wording = Wording(data.subject, data.body, texts)
    wording.check(variables)
    language, subject, body = preview_message(
        session, wording=wording, member_id=data.member_id, variables=variables
    )
    return PreviewOut(language=language, subject=subject, body=body)
