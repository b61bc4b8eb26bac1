"""The outbox workers: every message is a row, sent once, tried again with growing pauses,
and put aside ("dead") after too many failures.

A worker claims the messages that are due in a transaction of its own (on PostgreSQL other
workers skip the rows it holds), marks them as being sent, and commits; then it sends each
and marks it sent, or due again later. A worker that dies after a send and before the mark
leaves the message "sending": once its lease runs out it is claimed and sent again under
the same key, and the provider drops the repeat. Consent is read again at the send, and a
marketing message waits out the quiet hours where the member shops: their home store's time
zone, or the chain's.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from regulars.campaigns.channels import Channel, Outgoing, SendFailed
from regulars.campaigns.models import MessageStatus, OutboxMessage
from regulars.catalog.models import Store
from regulars.errors import InvalidInput, NotFound
from regulars.members.models import ConsentChannel, Member, MemberStatus
from regulars.members.service import current_consents

LEASE = timedelta(minutes=5)  # a claimed message not marked by then is claimed again
MOST_ATTEMPTS = 6
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(9, 0)  # no marketing at night


def pause_after(attempts: int) -> timedelta:
    """1, 2, 4, 8, … minutes between tries, at most a day."""
    return min(timedelta(minutes=2 ** (attempts - 1)), timedelta(days=1))


def quiet_until(moment: datetime, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours around `moment` end, if it falls in them."""
    local = moment.astimezone(zone)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() + timedelta(days=1) if local.time() >= QUIET_FROM else local.date()
    return datetime.combine(day, QUIET_UNTIL, tzinfo=zone)


@dataclass
class Delivery:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    waiting: int = 0  # quiet hours
    dropped: dict[str, int] = field(default_factory=dict)  # no consent or address any more


def claim(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due messages for this worker."""
    due = or_(
        (OutboxMessage.status == MessageStatus.PENDING) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == MessageStatus.SENDING) & (OutboxMessage.next_attempt_at <= now),
    )
    found = list(
        session.scalars(
            select(OutboxMessage)
            .where(due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for message in found:
        message.status = MessageStatus.SENDING
        message.attempts += 1
        message.next_attempt_at = now + LEASE
    session.flush()
    return [m.id for m in found]


def address_of(member: Member, channel: ConsentChannel) -> str | None:
    if member.status is not MemberStatus.ACTIVE:
        return None
    if channel is ConsentChannel.SMS:
        return member.phone
    if channel is ConsentChannel.EMAIL:
        return member.email
    return member.card_number  # the gateway knows the app or WeChat account by the card


def deliver(
    sessions: sessionmaker[Session],
    channels: Mapping[ConsentChannel, Channel],
    *,
    now: datetime,
    zone: ZoneInfo,
    limit: int = 500,
) -> Delivery:
    """Send what is due now, one message at a time; each outcome commits on its own."""
    with sessions() as session:
        claimed = claim(session, now=now, limit=limit)
        session.commit()
    done = Delivery(claimed=len(claimed))
    for message_id in claimed:
        with sessions() as session:
            _deliver_one(session, message_id, channels, now, zone, done)
            session.commit()
    return done


def _deliver_one(
    session: Session,
    message_id: int,
    channels: Mapping[ConsentChannel, Channel],
    now: datetime,
    zone: ZoneInfo,
    done: Delivery,
) -> None:
    message = session.get_one(OutboxMessage, message_id)
    member = session.get_one(Member, message.member_id)
    address = address_of(member, message.channel)
    if address is None:
        _drop(message, f"no {message.channel} address", done)
        return
    if message.marketing and not current_consents(session, member_id=member.id)[message.channel]:
        _drop(message, f"{message.channel} consent withdrawn", done)
        return
    home = session.get(Store, member.join_store_id) if member.join_store_id else None
    local = ZoneInfo(home.timezone) if home is not None else zone
    later = quiet_until(now, local) if message.marketing else None
    if later is not None:
        message.status, message.next_attempt_at = MessageStatus.PENDING, later
        message.attempts -= 1  # waiting is not trying
        done.waiting += 1
        return
    outgoing = Outgoing(message.key, str(message.channel), address, message.subject, message.body)
    try:
        channels[message.channel].send(outgoing)
    except SendFailed as failed:
        message.last_error = str(failed)[:500]
        if message.attempts >= MOST_ATTEMPTS:
            message.status = MessageStatus.DEAD
            done.dead += 1
        else:
            message.status = MessageStatus.PENDING
            message.next_attempt_at = now + pause_after(message.attempts)
            done.retrying += 1
        return
    message.status, message.sent_at = MessageStatus.SENT, now
    done.sent += 1


def _drop(message: OutboxMessage, reason: str, done: Delivery) -> None:
    """The message may no longer be sent: kept, with the reason, never sent."""
    message.status, message.last_error = MessageStatus.DEAD, reason
    done.dropped[reason] = done.dropped.get(reason, 0) + 1


class MessageNotFound(NotFound):
    code = "message_not_found"


EVENTS = ("delivered", "opened", "clicked")


def record_event(session: Session, *, key: str, event: str, at: datetime) -> OutboxMessage:
    """What the channel reports of a message it was sent under `key`: the first time each
    thing happened is kept; a click means it was opened, and both mean it arrived."""
    if event not in EVENTS:
        raise InvalidInput(f"an event is one of {', '.join(EVENTS)}", field="event")
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).first()
    if message is None or message.status is not MessageStatus.SENT:
        raise MessageNotFound(f"no message was sent under key {key!r}", field="key")
    for implied in EVENTS[: EVENTS.index(event) + 1]:
        column = f"{implied}_at"
        if getattr(message, column) is None:
            setattr(message, column, at)
    session.flush()
    return message
