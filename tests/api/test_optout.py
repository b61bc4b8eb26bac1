"""A member opts out: the link in a campaign message, or STOP replied to an SMS."""

import json
import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from regulars.campaigns.channels.webhook import signature
from regulars.campaigns.models import OutboxMessage
from regulars.members.models import ConsentChannel
from regulars.members.service import current_consents
from tests.api.conftest import make_api
from tests.conftest import Database

SECRET = "gateway secret"


def consents(database: Database, member_id: int) -> dict[ConsentChannel, bool]:
    with database.sessions() as session:
        return current_consents(session, member_id=member_id)


def test_the_link_in_a_message_withdraws_that_channel_after_asking(
    database: Database, tmp_path: Path
) -> None:
    api = make_api(database, tmp_path, public_url="https://shop.example.com")
    marketing = api.as_("marketing")
    agreed = {"channel": "sms", "granted": True}
    api.client.post(
        f"/v1/members/{api.member_id}/consents", json=agreed, headers=api.as_("support")
    )
    api.client.post(
        "/v1/audiences",
        json={"name": "all", "definition": {"kind": "tier", "values": ["regular"]}},
        headers=marketing,
    )
    campaign = {"name": "hi", "audience": "all", "channel": "sms", "control_share": "0",
                "body": "Hello! Stop these: {unsubscribe}"}  # fmt: skip
    assert api.client.post("/v1/campaigns", json=campaign, headers=marketing).status_code == 201
    assert api.client.post("/v1/campaigns/hi/send", headers=marketing).status_code == 200
    with database.sessions() as session:
        body = session.query(OutboxMessage).one().body
    link = re.search(r"https://shop\.example\.com(/u/\S+)", body)
    assert link, body
    browser = TestClient(api.client.app)
    asked = browser.get(link.group(1))
    assert asked.status_code == 200
    assert consents(database, api.member_id)[ConsentChannel.SMS]  # opening it changes nothing
    done = browser.post(link.group(1))
    assert done.status_code == 200
    assert not consents(database, api.member_id)[ConsentChannel.SMS]
    forged = browser.post(link.group(1)[:-2] + "xx")
    assert forged.status_code == 404


def signed(body: bytes, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    stamp = str(int(time.time()) - age)
    return {
        "Content-Type": "application/json",
        "X-Regulars-Timestamp": stamp,
        "X-Regulars-Signature": signature(secret.encode(), stamp, body),
    }


def test_stop_replied_by_sms_withdraws_sms_consent_when_the_gateway_signed_it(
    database: Database, tmp_path: Path
) -> None:
    api = make_api(database, tmp_path, gateway_secret=SECRET)
    agreed = {"channel": "sms", "granted": True}
    api.client.post(
        f"/v1/members/{api.member_id}/consents", json=agreed, headers=api.as_("support")
    )
    hello = json.dumps({"channel": "sms", "from": "13800138000", "text": "hello"}).encode()
    answer = api.client.post("/gateway/replies", content=hello, headers=signed(hello))
    assert answer.json() == {"unsubscribed": False}
    stop = json.dumps({"channel": "sms", "from": "+86 138 0013 8000", "text": " 退订 "}).encode()
    for refused in (signed(stop, secret="guess"), signed(stop, age=3600)):
        assert api.client.post("/gateway/replies", content=stop, headers=refused).status_code == 401
    assert consents(database, api.member_id)[ConsentChannel.SMS]
    answer = api.client.post("/gateway/replies", content=stop, headers=signed(stop))
    assert answer.json() == {"unsubscribed": True}
    assert not consents(database, api.member_id)[ConsentChannel.SMS]
    nobody = json.dumps({"channel": "sms", "from": "13999999999", "text": "STOP"}).encode()
    assert api.client.post("/gateway/replies", content=nobody, headers=signed(nobody)).json() == {
        "unsubscribed": False
    }
