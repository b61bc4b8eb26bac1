"""Cases over HTTP: an admin sets the hours and levels, a till or an agent opens a case, an
agent moves it on; refusals say why."""

import numpy as np

from regulars.cases.categories import LEAST_LABELLED
from regulars.demo.complaints import labelled_complaints
from tests.api.conftest import Api

WEEKDAYS = {str(day): {"opens": "09:00", "closes": "18:00"} for day in range(5)}


def _set_up(api: Api) -> None:
    admin = api.as_("admin")
    hours = api.client.put("/v1/opening-hours", json={"hours": WEEKDAYS}, headers=admin)
    assert hours.status_code == 204, hours.text
    policy = {"category": "freshness", "severity": "high", "first_response_minutes": 120,
              "resolution_minutes": 480}  # fmt: skip
    made = api.client.put("/v1/sla-policies", json=policy, headers=admin)
    assert made.status_code == 200, made.text


def test_a_case_is_opened_moved_and_read_with_its_service_levels(api: Api) -> None:
    _set_up(api)
    case = {"channel": "store_desk", "store_code": "S001", "category": "freshness",
            "severity": "high", "description": "酸奶过期了",
            "member_id": api.member_id}  # fmt: skip
    opened = api.client.post("/v1/cases", json=case, headers=api.as_("pos"))
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["state"] == "new"
    assert body["service_levels"]["first_response"]["late"] is False
    assert body["service_levels"]["first_response"]["done_at"] is None
    case_id = body["id"]
    elsewhere = api.client.post("/v1/cases", json=case | {"store_code": "S002"},
                                headers=api.as_("pos"))  # fmt: skip
    assert elsewhere.status_code == 403  # a till opens cases for its own store
    support = api.as_("support")
    moved = api.client.post(f"/v1/cases/{case_id}/moves", json={"state": "acknowledged"},
                            headers=support)  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert moved.json()["service_levels"]["first_response"]["done_at"] is not None
    wrong = api.client.post(f"/v1/cases/{case_id}/moves", json={"state": "new"}, headers=support)
    assert wrong.status_code == 409
    assert wrong.json()["code"] == "state_change_not_allowed"
    assigned = api.client.post(f"/v1/cases/{case_id}/assignment",
                               json={"queue": "fresh produce", "assignee": "wang"},
                               headers=support)  # fmt: skip
    assert (assigned.json()["queue"], assigned.json()["assignee"]) == ("fresh produce", "wang")
    listed = api.client.get("/v1/cases?queue=fresh produce", headers=support).json()
    assert [c["id"] for c in listed] == [case_id]
    events = api.client.get(f"/v1/cases/{case_id}/history", headers=support).json()
    assert [e["kind"] for e in events] == ["opened", "state", "assigned"]
    assert events[0]["actor"] == "till 1"


def test_a_case_naming_what_does_not_exist_is_refused_with_its_code(api: Api) -> None:
    _set_up(api)
    case = {"channel": "hotline", "store_code": "S001", "category": "freshness",
            "severity": "high", "description": "x"}  # fmt: skip
    for change, code in (
        ({"store_code": "S404"}, "unknown_store"), ({"receipt_id": 9999}, "receipt_not_found"),
        ({"sku": "NOPE"}, "unknown_sku"), ({"category": "weather"}, "invalid_input"),
    ):  # fmt: skip
        refused = api.client.post("/v1/cases", json=case | change, headers=api.as_("support"))
        assert refused.json()["code"] == code, refused.text
    missing = api.client.get("/v1/cases/777", headers=api.as_("support"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "case_not_found"


def test_service_levels_need_the_chains_business_hours(api: Api) -> None:
    policy = {"category": "other", "severity": "low", "first_response_minutes": 60,
              "resolution_minutes": 120}  # fmt: skip
    refused = api.client.put("/v1/sla-policies", json=policy, headers=api.as_("admin"))
    assert refused.status_code == 422
    assert refused.json()["code"] == "no_business_hours"


def test_goodwill_goes_through_the_loyalty_engine_within_the_agents_cap(api: Api) -> None:
    _set_up(api)
    case = {"channel": "hotline", "store_code": "S001", "category": "freshness",
            "severity": "high", "description": "sour milk", "member_id": api.member_id}  # fmt: skip
    case_id = api.client.post("/v1/cases", json=case, headers=api.as_("support")).json()["id"]
    url = f"/v1/cases/{case_id}/goodwill"
    too_much = api.client.post(url, json={"points": 501, "reason": "sorry"},
                               headers=api.as_("support"))  # fmt: skip
    assert too_much.status_code == 422
    assert "0 to 500" in too_much.json()["detail"]
    given = api.client.post(url, json={"points": 200, "coupon_template": "WELCOME10",
                                       "reason": "sour milk, sorry"},
                            headers=api.as_("support"))  # fmt: skip
    assert given.status_code == 200, given.text
    points = api.client.get(f"/v1/members/{api.member_id}/points/history",
                            headers=api.as_("support")).json()  # fmt: skip
    assert points[-1]["points"] == 200
    assert points[-1]["reason"] == f"goodwill, case {case_id}: sour milk, sorry"
    events = api.client.get(f"/v1/cases/{case_id}/history", headers=api.as_("support")).json()
    assert events[-1]["kind"] == "goodwill"
    assert events[-1]["actor"] == "agent 7"
    code = events[-1]["note"].removeprefix("200 points, coupon ").split(":")[0]
    coupons = api.client.get(f"/v1/members/{api.member_id}/coupons", headers=api.as_("support"))
    assert code in [c["code"] for c in coupons.json()]
    admin = api.client.post(url, json={"points": 5000, "reason": "a big mistake"},
                            headers=api.as_("admin"))  # fmt: skip
    assert admin.status_code == 200, admin.text


def test_a_case_without_a_category_is_suggested_one_once_enough_are_confirmed(api: Api) -> None:
    _set_up(api)
    till, agent = api.as_("pos"), api.as_("support")
    case = {"channel": "app", "store_code": "S001", "severity": "low",
            "description": "收银台只开了一个，排队等了二十分钟"}  # fmt: skip
    early = api.client.post("/v1/cases", json=case, headers=till)
    assert (early.status_code, early.json()["code"]) == (409, "no_category_model")
    assert "choose it by hand" in early.json()["detail"]
    rng = np.random.default_rng(5)
    for text, category in labelled_complaints(LEAST_LABELLED + 20, rng):
        filed = api.client.post(
            "/v1/cases", json=case | {"description": text, "category": category}, headers=till
        )
        assert filed.json()["category_confirmed"] is True
    asked = api.client.post(
        "/v1/cases/category-suggestion", json={"description": case["description"]}, headers=till
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["labelled_cases"] == LEAST_LABELLED + 20
    opened = api.client.post("/v1/cases", json=case, headers=till).json()
    assert (opened["category"], opened["category_confirmed"]) == (asked.json()["category"], False)
    confirmed = api.client.post(
        f"/v1/cases/{opened['id']}/category", json={"category": "checkout_wait"}, headers=agent
    )
    assert confirmed.json()["category_confirmed"] is True
    assert confirmed.json()["category"] == "checkout_wait"


def test_complaint_figures_count_what_was_opened_and_want_a_time_zone(api: Api) -> None:
    _set_up(api)
    case = {"channel": "hotline", "store_code": "S001", "category": "freshness",
            "severity": "high", "description": "鸡蛋有裂缝"}  # fmt: skip
    for _ in range(2):
        assert api.client.post("/v1/cases", json=case, headers=api.as_("pos")).status_code == 201
    span = {"since": "2020-01-01T00:00:00+08:00", "until": "2100-01-01T00:00:00+08:00"}
    found = api.client.get("/v1/cases/figures", params=span, headers=api.as_("analyst"))
    assert found.status_code == 200, found.text
    assert found.json()["cases"] == 2
    assert found.json()["top_categories"][0]["category"] == "freshness"
    naive = api.client.get(
        "/v1/cases/figures", params={**span, "since": "2020-01-01T00:00:00"},
        headers=api.as_("analyst"),
    )  # fmt: skip
    assert (naive.status_code, naive.json()["code"]) == (422, "invalid_input")
