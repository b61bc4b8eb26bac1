"""Campaigns over HTTP: define, send, read results; refusals say why."""

from tests.api.conftest import Api


def test_marketing_defines_sends_and_measures_a_campaign(api: Api) -> None:
    marketing = api.as_("marketing")
    everyone = {"kind": "tier", "values": ["regular"]}
    api.client.post(
        "/v1/audiences", json={"name": "all", "definition": everyone}, headers=marketing
    )
    campaign = {
        "name": "hello", "audience": "all", "channel": "sms", "control_share": "0",
        "body": "{name}, {points} points are yours",
    }  # fmt: skip
    made = api.client.post("/v1/campaigns", json=campaign, headers=marketing)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    refused = api.client.post("/v1/campaigns/hello/send", headers=marketing)
    assert refused.status_code == 422
    assert "2 no sms consent" in refused.json()["detail"]
    agreed = {"channel": "sms", "granted": True}
    consent = api.client.post(
        f"/v1/members/{api.member_id}/consents", json=agreed, headers=api.as_("support")
    )
    assert consent.status_code == 201, consent.text
    sent = api.client.post("/v1/campaigns/hello/send", headers=marketing)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {
        "audience": 2, "control": 0, "messages": 1, "skipped": {"no sms consent": 1},
    }  # fmt: skip
    again = api.client.post("/v1/campaigns/hello/send", headers=marketing)
    assert again.status_code == 409
    assert again.json()["code"] == "campaign_already_sent"
    results = api.client.get("/v1/campaigns/hello/results", headers=api.as_("analyst"))
    assert results.status_code == 200, results.text
    body = results.json()
    assert body["treatment"]["members"] == 2
    assert body["control"]["members"] == 0
    assert body["conversion"]["value"] is None  # no control group: no difference to tell
    assert body["messages"] == {"pending": 1, "delivered": 0, "opened": 0, "clicked": 0}


def test_a_message_with_an_unknown_value_is_refused_naming_the_field(api: Api) -> None:
    marketing = api.as_("marketing")
    api.client.post(
        "/v1/audiences",
        json={"name": "all", "definition": {"kind": "tier", "values": ["regular"]}},
        headers=marketing,
    )
    refused = api.client.post(
        "/v1/campaigns",
        json={"name": "x", "audience": "all", "channel": "sms", "body": "{nickname}!"},
        headers=marketing,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "body"
    assert "{nickname}" in refused.json()["detail"]
