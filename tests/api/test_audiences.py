"""Audiences over HTTP: the preview count, saving, reading back, refusals."""

from tests.api.conftest import Api

GOLD_BY_SMS = {
    "kind": "all",
    "of": [{"kind": "tier", "values": ["regular"]}, {"kind": "consent", "values": ["sms"]}],
}


def test_marketing_previews_saves_and_reads_back_an_audience(api: Api) -> None:
    marketing = api.as_("marketing")
    everyone = {"kind": "tier", "values": ["regular"]}
    preview = api.client.post(
        "/v1/audiences/count", json={"definition": everyone}, headers=marketing
    )
    assert preview.status_code == 200
    assert preview.json() == {"members": 2}  # the fixture's two members, both regular
    made = api.client.post(
        "/v1/audiences",
        json={"name": "lapsing", "description": "no sms yet", "definition": GOLD_BY_SMS},
        headers=marketing,
    )
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "campaigns"
    counted = api.client.get("/v1/audiences/lapsing/count", headers=api.as_("analyst"))
    assert counted.json() == {"members": 0}  # nobody has said yes to sms
    listed = api.client.get("/v1/audiences", headers=marketing).json()
    assert [a["name"] for a in listed] == ["lapsing"]
    assert listed[0]["definition"] == GOLD_BY_SMS


def test_a_contradiction_or_an_unknown_audience_is_refused_with_its_reason(api: Api) -> None:
    marketing = api.as_("marketing")
    clash = {"kind": "all", "of": [{"kind": "points_balance", "min": 10},
                                   {"kind": "points_balance", "max": 5}]}  # fmt: skip
    refused = api.client.post("/v1/audiences/count", json={"definition": clash}, headers=marketing)
    assert refused.status_code == 422
    assert refused.json()["code"] == "audience_contradiction"
    unknown = api.client.post(
        "/v1/audiences",
        json={"name": "x", "definition": {"kind": "audience", "name": "nope"}},
        headers=marketing,
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "audience_not_found"
    malformed = api.client.post(
        "/v1/audiences/count", json={"definition": {"kind": "tier"}}, headers=marketing
    )
    assert malformed.status_code == 422
    assert malformed.json()["field"] == "definition"
    assert "values" in malformed.json()["detail"]
