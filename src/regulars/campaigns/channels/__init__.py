"""How a message leaves: each channel hands it to a provider with the message's key, which
the provider uses to drop a repeat (a send that was done but not marked before a crash)."""

from dataclasses import dataclass
from typing import Protocol


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
