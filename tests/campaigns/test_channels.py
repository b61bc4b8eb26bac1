"""The channels against real servers on loopback that the tests start: a message gateway
that checks signatures and drops repeats, and an SMTP server."""

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.campaigns.channels import Outgoing, SendFailed
from regulars.campaigns.channels.file import FileSink
from regulars.campaigns.channels.smtp import Smtp
from regulars.campaigns.channels.webhook import Webhook
from regulars.campaigns.models import MessageStatus, OutboxMessage
from regulars.campaigns.outbox import LEASE, MOST_ATTEMPTS, deliver
from regulars.campaigns.service import create_campaign, send_campaign
from regulars.db import run_in_transaction
from regulars.members.models import ConsentChannel, Member
from regulars.members.service import record_consent
from tests.campaigns.test_campaigns import chain, draft
from tests.conftest import Database
from tests.factories import NOW, ZONE

SECRET = b"shared with the gateway"


@dataclass
class Gateway:
    """A message gateway as a chain runs one: it checks the signature, keeps each key once,
    and can be told to fail or to hang."""

    url: str = ""
    answer: int = 200
    hang: float = 0.0
    requests: list[str] = field(default_factory=list)  # idempotency keys, as they came
    kept: dict[str, dict[str, str]] = field(default_factory=dict)
    forged: int = 0


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stamp = self.headers["X-Regulars-Timestamp"]
            expected = hmac.new(SECRET, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers["X-Regulars-Signature"]):
                state.forged += 1
                self.send_response(401)
                self.end_headers()
                return
            key = self.headers["Idempotency-Key"]
            state.requests.append(key)
            time.sleep(state.hang)
            if state.answer == 200:
                state.kept.setdefault(key, json.loads(body))
            self.send_response(state.answer)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def campaign(
    database: Database, members: int, channel: ConsentChannel = ConsentChannel.SMS
) -> None:
    """A campaign sent to `members` members who agreed to the channel and have an address."""

    def setup(session: Session) -> None:
        for member_id in chain(session, members=members, sms_share=1.0):
            member = session.get_one(Member, member_id)
            member.email = f"m{member_id}@example.com"
            record_consent(
                session, member_id=member_id, channel=channel, granted=True, source="t", now=NOW
            )
        create_campaign(
            session, draft=draft(channel=channel, coupon_template=None, control_share=0),
            now=NOW, actor="t",
        )  # fmt: skip
        send_campaign(session, name="win back", now=NOW, weekly_cap=2)

    run_in_transaction(database.sessions, setup)


def statuses(database: Database) -> list[tuple[MessageStatus, int, str | None]]:
    with database.sessions() as session:
        query = select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.last_error)
        return [tuple(r) for r in session.execute(query.order_by(OutboxMessage.id))]  # type: ignore[misc]


def test_the_gateway_gets_each_message_signed_and_once(
    database: Database, gateway: Gateway
) -> None:
    campaign(database, members=5)
    channels = {ConsentChannel.SMS: Webhook(gateway.url, SECRET)}
    assert deliver(database.sessions, channels, now=NOW, zone=ZONE).sent == 5
    assert len(gateway.requests) == len(gateway.kept) == 5
    assert gateway.forged == 0
    assert {m["to"][:6] for m in gateway.kept.values()} == {"+86139"}
    forged = Webhook(gateway.url, b"not the secret")
    with pytest.raises(SendFailed, match="401"):
        forged.send(Outgoing("k", "sms", "+8613900000000", "", "hello"))


def test_a_failing_gateway_is_tried_again_later_and_then_given_up(
    database: Database, gateway: Gateway
) -> None:
    campaign(database, members=1)
    channels = {ConsentChannel.SMS: Webhook(gateway.url, SECRET)}
    gateway.answer = 500
    moment = NOW
    for attempt in range(1, MOST_ATTEMPTS + 1):
        done = deliver(database.sessions, channels, now=moment, zone=ZONE)
        assert (done.retrying, done.dead) == ((1, 0) if attempt < MOST_ATTEMPTS else (0, 1))
        # Not due again until the pause is over: 1, 2, 4, ... minutes.
        early = deliver(database.sessions, channels, now=moment + timedelta(seconds=30), zone=ZONE)
        assert early.sent + early.retrying + early.dead == 0
        moment += timedelta(minutes=2 ** (attempt - 1), seconds=1)
    [(status, attempts, error)] = statuses(database)
    assert (status, attempts, error) == (
        MessageStatus.DEAD,
        MOST_ATTEMPTS,
        "the gateway answered 500",
    )
    assert gateway.kept == {}


def test_a_gateway_that_hangs_is_given_up_on_and_tried_again(
    database: Database, gateway: Gateway
) -> None:
    campaign(database, members=1)
    gateway.hang = 1.0
    impatient = {ConsentChannel.SMS: Webhook(gateway.url, SECRET, timeout=0.2)}
    done = deliver(database.sessions, impatient, now=NOW, zone=ZONE)
    assert done.retrying == 1
    assert statuses(database)[0][2] == "the gateway did not answer: ReadTimeout"


class Crash(BaseException):
    """The worker's process dies: no handler of the outbox's catches it."""


def test_a_worker_that_dies_between_sending_and_marking_causes_no_second_message(
    database: Database, gateway: Gateway
) -> None:
    campaign(database, members=3)

    class DiesAfterSending:
        def __init__(self) -> None:
            self.inner = Webhook(gateway.url, SECRET)

        def send(self, message: Outgoing) -> None:
            self.inner.send(message)
            raise Crash

    with pytest.raises(Crash):
        deliver(database.sessions, {ConsentChannel.SMS: DiesAfterSending()}, now=NOW, zone=ZONE)
    assert [s for s, _, _ in statuses(database)].count(MessageStatus.SENDING) == 3
    channels = {ConsentChannel.SMS: Webhook(gateway.url, SECRET)}
    assert deliver(database.sessions, channels, now=NOW + timedelta(minutes=1), zone=ZONE).sent == 0
    later = deliver(database.sessions, channels, now=NOW + LEASE + timedelta(seconds=1), zone=ZONE)
    assert later.sent == 3
    assert len(gateway.requests) == 4  # the first, sent before the crash, came again
    assert len(gateway.kept) == 3  # and the gateway kept it once, by its key


def test_e_mail_goes_through_a_real_smtp_server_with_the_key_as_message_id(
    database: Database,
) -> None:
    received: list[object] = []

    class Keep(Message):
        def handle_message(self, message: object) -> None:
            received.append(message)

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        campaign(database, members=2, channel=ConsentChannel.EMAIL)
        smtp = Smtp("127.0.0.1", port, "shop@example.com")
        done = deliver(database.sessions, {ConsentChannel.EMAIL: smtp}, now=NOW, zone=ZONE)
    finally:
        controller.stop()
    assert done.sent == 2
    keys = {"".join(str(m["Message-ID"]).split()) for m in received}  # type: ignore[index] # folded
    with database.sessions() as session:
        assert keys == {f"<{k}@regulars>" for k in session.scalars(select(OutboxMessage.key))}
    with database.sessions() as session:
        wanted = {m.email for m in session.scalars(select(Member))}
    assert {m["To"] for m in received} == wanted  # type: ignore[index]


def test_the_file_sink_keeps_the_first_of_two_sends_with_one_key(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    sink.send(Outgoing("k1", "sms", "+8613900000000", "", "first"))
    sink.send(Outgoing("k1", "sms", "+8613900000000", "", "second"))
    assert json.loads((tmp_path / "k1.json").read_text())["body"] == "first"
