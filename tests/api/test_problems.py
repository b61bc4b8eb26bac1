"""Malformed requests: every one is answered with problem+json and a code, never a 500."""

import json

import pytest

from tests.api.conftest import Api
from tests.factories import NOW

PROBLEM = "application/problem+json"
SALE = {
    "store_code": "S001",
    "pos_receipt_no": "P-1",
    "sold_at": NOW.isoformat(),
    "lines": [{"sku": "RICE", "quantity": "1"}],
}


def _post(api: Api, body: bytes, **headers: str) -> tuple[int, str, dict[str, object]]:
    answer = api.client.post(
        "/v1/receipts",
        content=body,
        headers={**api.as_("pos"), "Content-Type": "application/json", **headers},
    )
    return answer.status_code, answer.headers["content-type"], answer.json()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({**SALE, "member_card": "\ud800"}, "invalid_input", "member_card"),
        ({**SALE, "sold_at": "9999-12-31T23:59:59Z"}, "invalid_input", "sold_at"),
        ({**SALE, "pos_receipt_no": "\udfff-7"}, "invalid_input", "pos_receipt_no"),
        ({**SALE, "pos_receipt_no": "A\u0000B"}, "invalid_input", "pos_receipt_no"),
        (
            {**SALE, "lines": [{"sku": "RI\u0000CE", "quantity": "1"}]},
            "invalid_input",
            "lines.0.sku",
        ),
    ],
)
def test_values_no_database_can_hold_are_refused_with_the_field(
    api: Api, body: dict[str, object], code: str, field: str
) -> None:
    status, media, problem = _post(api, json.dumps(body).encode())
    assert (status, media) == (422, PROBLEM)
    assert (problem["code"], problem["field"]) == (code, field)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{'sold_at': 'ünïcode'}".encode("latin-1"), "malformed_body"),
        (b"[" * 50_000 + b"]" * 50_000, "malformed_body"),
    ],
)
def test_bodies_that_are_not_json_text_are_problems_with_a_code(
    api: Api, body: bytes, code: str
) -> None:
    status, media, problem = _post(api, body)
    assert (status, media) == (400, PROBLEM)
    assert problem["code"] == code


def test_a_nul_in_a_query_is_refused_naming_the_parameter(api: Api) -> None:
    found = api.client.get("/v1/members?phone=138%00", headers=api.as_("support"))
    assert (found.status_code, found.json()["field"]) == (422, "phone")


def test_invalid_json_says_where_in_words(api: Api) -> None:
    status, media, problem = _post(api, b'{"store_code": "S001",\n "lines": [}')
    assert (status, media) == (422, PROBLEM)
    assert problem["field"] == "body"
    assert "line 2, column 12" in str(problem["detail"])


def test_messages_read_as_sentences(api: Api) -> None:
    bare = {"phone": None}
    answer = api.client.post("/v1/members", json=bare, headers=api.as_("admin"))
    assert answer.status_code == 422
    assert "Value error" not in answer.text
    assert "a member needs a phone" in answer.json()["detail"]
    refused = api.client.post(
        "/v1/members", json={"phone": "13700137000"}, headers=api.as_("analyst")
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "An analyst may not do this"


def test_a_replayed_refusal_is_problem_json_too(api: Api) -> None:
    key = {"Idempotency-Key": "same-bad-sale"}
    bad = json.dumps({**SALE, "lines": []}).encode()
    first, again = _post(api, bad, **key), _post(api, bad, **key)
    assert first[:2] == again[:2] == (422, PROBLEM)
    assert first[2]["code"] == again[2]["code"] == "invalid_input"


def test_unknown_paths_and_methods_are_problems(api: Api) -> None:
    missing = api.client.get("/v1/no-such-thing", headers=api.as_("admin"))
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    assert missing.json()["code"] == "not_found"
    wrong = api.client.delete("/v1/receipts", headers=api.as_("admin"))
    assert (wrong.status_code, wrong.headers["content-type"]) == (405, PROBLEM)
    assert wrong.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("born", ["2030-01-01", "1850-06-01"])
def test_birth_dates_in_the_future_or_beyond_a_lifetime_are_refused(api: Api, born: str) -> None:
    admin = api.as_("admin")
    enrol = api.client.post(
        "/v1/members", json={"phone": "13700137000", "birth_date": born}, headers=admin
    )
    change = api.client.patch(
        f"/v1/members/{api.member_id}", json={"birth_date": born}, headers=admin
    )
    for answer in (enrol, change):
        assert answer.status_code == 422
        assert (answer.json()["code"], answer.json()["field"]) == ("invalid_input", "birth_date")


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-14:00", "2400-01-01T00:00:00Z"]
)
def test_moments_out_of_reason_with_a_zone_are_refused_not_a_crash(api: Api, moment: str) -> None:
    asked = [
        ("get", "/v1/audit", {"params": {"since": moment}}, "admin", "since"),
        ("get", "/v1/cases/figures", {"params": {"since": moment, "until": NOW.isoformat()}},
         "support", "since"),
        ("post", "/v1/coupon-templates", {"json": {"code": "EDGE", "name": "edge",
         "kind": "amount_off", "amount": "5", "valid_until": moment}}, "admin", "valid_until"),
    ]  # fmt: skip
    for method, path, request, role, field in asked:
        answer = api.client.request(method, path, headers=api.as_(role), **request)  # type: ignore[arg-type]
        assert answer.status_code == 422, (path, answer.status_code, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        assert field in json.dumps(answer.json())
