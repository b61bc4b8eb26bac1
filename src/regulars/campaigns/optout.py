"""A member says no more: through the link in a message, or by replying STOP to an SMS.
Either withdraws their consent to that channel through the members service, and the outbox
reads consent again before every send."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from regulars.errors import InvalidInput, RegularsError
from regulars.members.models import ConsentChannel
from regulars.members.service import MemberNotFound, find_member, get_member, record_consent
from regulars.signing import sign, unsign

STOP_WORDS = {"stop", "unsubscribe", "td", "退订", "取消"}  # what a reply may say, any case


class BadUnsubscribeLink(RegularsError):
    code = "bad_unsubscribe_link"
    status = 404


def unsubscribe_token(secret: bytes, member_id: int, channel: ConsentChannel) -> str:
    """The part of a member's unsubscribe link that says who and which channel, signed."""
    return sign(secret, f"{member_id}:{channel}")


def read_token(secret: bytes, token: str) -> tuple[int, ConsentChannel]:
    try:
        member, channel = unsign(secret, token).split(":")
        return int(member), ConsentChannel(channel)
    except ValueError:
        raise BadUnsubscribeLink("this unsubscribe link is not valid") from None


def unsubscribe(session: Session, *, secret: bytes, token: str, now: datetime) -> ConsentChannel:
    """Withdraw the consent the link names; following it again changes nothing more."""
    member_id, channel = read_token(secret, token)
    get_member(session, member_id=member_id)
    record_consent(
        session, member_id=member_id, channel=channel, granted=False,
        source="unsubscribe link", now=now,
    )  # fmt: skip
    return channel


def stop_reply(session: Session, *, phone: str, text: str, region: str, now: datetime) -> bool:
    """An SMS reply from the gateway: a stop word withdraws SMS consent; anything else, or a
    number no member has, changes nothing. Whether consent was withdrawn."""
    if text.strip().casefold() not in STOP_WORDS:
        return False
    try:
        member = find_member(session, phone=phone, region=region)
    except (MemberNotFound, InvalidInput):
        return False
    record_consent(
        session, member_id=member.id, channel=ConsentChannel.SMS, granted=False,
        source="STOP reply", now=now,
    )  # fmt: skip
    return True


@dataclass(frozen=True)
class Links:
    """Where the links in a member's messages point: this server, as members reach it."""

    base_url: str
    secret: bytes

    def unsubscribe(self, member_id: int, channel: ConsentChannel) -> str:
        return f"{self.base_url.rstrip('/')}/u/{unsubscribe_token(self.secret, member_id, channel)}"

    def survey(self, invitation_id: int) -> str:
        """Where the member answers a survey without signing in."""
        return f"{self.base_url.rstrip('/')}/s/{sign(self.secret, f'survey:{invitation_id}')}"
