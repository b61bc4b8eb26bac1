"""Journeys, holidays and messages over HTTP; what the gateway reports shows in results."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from regulars.campaigns.channels.file import FileSink
from regulars.campaigns.outbox import deliver
from regulars.clock import utc_now
from regulars.members.models import ConsentChannel
from tests.api.conftest import make_api
from tests.api.test_optout import SECRET, signed
from tests.conftest import Database
from tests.factories import ZONE

BIRTHDAY = {
    "name": "birthday",
    "trigger": "birthday",
    "control_share": 0,
    "steps": [
        {"do": "send", "channel": "sms", "body": "生日快乐，{name}",
         "translations": {"en": {"body": "Happy birthday, {name}"}}},
    ],
}  # fmt: skip


def test_a_journey_runs_and_its_messages_are_reported_back(
    database: Database, tmp_path: Path
) -> None:
    api = make_api(database, tmp_path, gateway_secret=SECRET)
    marketing, support = api.as_("marketing"), api.as_("support")
    this_month = utc_now().astimezone(ZONE).month
    change = {"name": "Ann", "birth_date": f"1990-{this_month:02d}-01", "language": "en"}
    assert (
        api.client.patch(f"/v1/members/{api.member_id}", json=change, headers=support).status_code
        == 200
    )
    api.client.post(
        f"/v1/members/{api.member_id}/consents",
        json={"channel": "sms", "granted": True}, headers=support,
    )  # fmt: skip
    made = api.client.post("/v1/journeys", json={"definition": BIRTHDAY}, headers=marketing)
    assert made.status_code == 201, made.text
    assert made.json()["definition"]["steps"][0]["do"] == "send"
    ran = api.client.post("/v1/journeys/run", headers=marketing)
    assert ran.json() == [{"journey": "birthday", "entered": 1, "held_back": 0,
                           "steps": {"sent": 1}}]  # fmt: skip
    listed = api.client.get("/v1/messages?journey=birthday", headers=support).json()
    assert [(m["member_id"], m["status"], m["marketing"]) for m in listed] == [
        (api.member_id, "pending", True)
    ]
    deliver(database.sessions, {ConsentChannel.SMS: FileSink(tmp_path)}, now=_daytime(), zone=ZONE)
    sent = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert sent["body"] == "Happy birthday, Ann"
    key = listed[0]["key"]
    clicked = json.dumps({"key": key, "event": "clicked"}).encode()
    seen = api.client.post("/gateway/events", content=clicked, headers=signed(clicked))
    assert seen.status_code == 200, seen.text
    reported = seen.json()
    assert reported["delivered_at"] == reported["opened_at"] == reported["clicked_at"]
    unsigned = api.client.post("/gateway/events", content=clicked, headers=signed(clicked, "x"))
    assert unsigned.status_code == 401
    unknown = json.dumps({"key": "nope", "event": "opened"}).encode()
    assert (
        api.client.post("/gateway/events", content=unknown, headers=signed(unknown)).json()["code"]
        == "message_not_found"
    )
    results = api.client.get("/v1/journeys/birthday/results", headers=api.as_("analyst")).json()
    assert results["entries"] == 1
    assert results["steps"] == {"1": {"sent": 1}}
    assert results["messages"] == {"sent": 1, "delivered": 1, "opened": 1, "clicked": 1}
    paused = api.client.post("/v1/journeys/birthday/pause", headers=marketing)
    assert paused.json()["active"] is False


def _daytime() -> datetime:
    """Noon in Shanghai tomorrow: the message is due, and outside the quiet hours."""
    local = (utc_now() + timedelta(days=1)).astimezone(ZONE).replace(hour=12, minute=0)
    return local.astimezone(UTC)


def test_a_bad_journey_names_the_key(database: Database, tmp_path: Path) -> None:
    api = make_api(database, tmp_path)
    broken = BIRTHDAY | {"steps": [{"do": "wait", "days": 0}]}
    refused = api.client.post(
        "/v1/journeys", json={"definition": broken}, headers=api.as_("marketing")
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_journey"
    assert refused.json()["field"] == "steps.0.wait.days"


def test_the_calendar_of_holidays(database: Database, tmp_path: Path) -> None:
    api = make_api(database, tmp_path)
    marketing = api.as_("marketing")
    for name, day in (("Spring Festival", "2027-02-06"), ("Double 11", "2027-11-11")):
        added = api.client.post("/v1/holidays", json={"name": name, "day": day}, headers=marketing)
        assert added.status_code == 201, added.text
    again = api.client.post(
        "/v1/holidays", json={"name": "Double 11", "day": "2027-11-11"}, headers=marketing
    )
    assert again.status_code == 409
    listed = api.client.get("/v1/holidays?year=2027", headers=api.as_("analyst")).json()
    assert [h["name"] for h in listed] == ["Spring Festival", "Double 11"]
    gone = api.client.delete("/v1/holidays/2027-11-11/Double 11", headers=marketing)
    assert gone.status_code == 204
    assert len(api.client.get("/v1/holidays?year=2027", headers=marketing).json()) == 1


def test_a_points_statement_is_transactional_and_sent_once(
    database: Database, tmp_path: Path
) -> None:
    api = make_api(database, tmp_path)
    support = api.as_("support")
    notice = {"member_id": api.member_id, "notice": "points_statement", "channel": "sms"}
    first = api.client.post("/v1/messages", json=notice, headers=support)
    assert first.status_code == 201, first.text
    assert first.json()["marketing"] is False  # no SMS consent was given, and none is needed
    second = api.client.post("/v1/messages", json=notice, headers=support)
    assert second.json()["id"] == first.json()["id"]
    receipt = notice | {"notice": "receipt", "receipt_id": 999}
    missing = api.client.post("/v1/messages", json=receipt, headers=support)
    assert missing.status_code == 404
    assert missing.json()["code"] == "receipt_not_found"
    email = notice | {"channel": "email"}
    refused = api.client.post("/v1/messages", json=email, headers=support)
    assert refused.status_code == 422
    assert "no email address" in refused.json()["detail"]


def test_a_message_is_previewed_as_the_member_reads_it(database: Database, tmp_path: Path) -> None:
    api = make_api(database, tmp_path)
    api.client.patch(
        f"/v1/members/{api.member_id}", json={"name": "李娜"}, headers=api.as_("support")
    )
    draft = {"member_id": api.member_id, "body": "{name}，{coupon_code}，{expiring_points}分",
             "trigger": "points_expiring"}  # fmt: skip
    shown = api.client.post("/v1/messages/preview", json=draft, headers=api.as_("marketing"))
    assert shown.status_code == 200, shown.text
    assert shown.json() == {
        "language": "zh-CN", "subject": "", "body": "李娜，[coupon_code]，[expiring_points]分",
    }  # fmt: skip
    unknown = draft | {"trigger": None}
    refused = api.client.post("/v1/messages/preview", json=unknown, headers=api.as_("marketing"))
    assert refused.status_code == 422
    assert "{expiring_points}" in refused.json()["detail"]
