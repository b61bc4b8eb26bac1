"""How a message leaves: each channel hands it to a provider with the message's key, which
the provider uses to drop a repeat (a send that was done but not marked before a crash)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from regulars.errors import InvalidInput
from regulars.members.models import ConsentChannel

if TYPE_CHECKING:
    from regulars.config import Settings


@dataclass(frozen=True)
class Outgoing:
    key: str  # the idempotency key: the same message always has the same key
    channel: str
    to: str  # phone, e-mail, or the member's card for app push and WeChat
    subject: str
    body: str


class SendFailed(Exception):
    """The provider did not take the message; the outbox tries again later."""


class Channel(Protocol):
    def send(self, message: Outgoing) -> None:
        """Hand the message over, or raise SendFailed."""


def configured(settings: "Settings") -> dict[ConsentChannel, Channel]:
    """Each channel's provider as configured: SMTP for e-mail, the chain's gateway for the
    rest, and a folder of files (REGULARS_OUTBOX_DIR) for any without one."""
    from regulars.campaigns.channels.file import FileSink
    from regulars.campaigns.channels.smtp import Smtp
    from regulars.campaigns.channels.webhook import Webhook

    found: dict[ConsentChannel, Channel] = {
        channel: FileSink(settings.outbox_dir / channel) for channel in ConsentChannel
    }
    if settings.smtp_host:
        found[ConsentChannel.EMAIL] = Smtp(
            settings.smtp_host, settings.smtp_port, settings.smtp_sender
        )
    if settings.gateway_url:
        if not settings.gateway_secret:
            raise InvalidInput(
                "REGULARS_GATEWAY_URL needs REGULARS_GATEWAY_SECRET", field="gateway"
            )
        gateway = Webhook(settings.gateway_url, settings.gateway_secret.encode())
        for channel in (ConsentChannel.SMS, ConsentChannel.PUSH, ConsentChannel.WECHAT):
            found[channel] = gateway
    return found
