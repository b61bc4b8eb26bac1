"""What a member app and its back end need: tokens, the program, consents, the wallet."""

from tests.api.conftest import Api
from tests.factories import NOW

SALE = {
    "store_code": "S001",
    "pos_receipt_no": "APP-1",
    "sold_at": NOW.isoformat(),
    "lines": [{"sku": "RICE", "quantity": "2"}],
}


def test_the_app_back_end_issues_member_tokens_that_read_the_program(api: Api) -> None:
    issued = api.client.post(
        "/v1/member-tokens", json={"member_id": api.member_id}, headers=api.as_("app")
    )
    assert issued.status_code == 201
    member = {"Authorization": f"Bearer {issued.json()['token']}"}
    program = api.client.get("/v1/program", headers=member)
    assert program.status_code == 200
    assert [tier["code"] for tier in program.json()["program"]["tiers"]][:2] == [
        "regular",
        "silver",
    ]
    refused = api.client.post(
        "/v1/member-tokens", json={"member_id": api.member_id}, headers=api.as_("support")
    )
    assert refused.status_code == 403


def test_a_member_changes_a_consent_without_naming_a_source(api: Api) -> None:
    changed = api.client.post(
        f"/v1/members/{api.member_id}/consents",
        json={"channel": "sms", "granted": True},
        headers=api.as_("member"),
    )
    assert changed.status_code == 201
    assert changed.json()["source"] == f"member {api.member_id}"


def test_the_wallet_shows_used_and_voided_coupons_on_request(api: Api) -> None:
    support = api.as_("support")
    issue = {"member_ids": [api.member_id, api.member_id]}
    first, second = api.client.post(
        "/v1/coupon-templates/SILVER-WELCOME/issue", json=issue, headers=support
    ).json()
    assert api.client.post(f"/v1/coupons/{first['code']}/void", headers=support).is_success
    sale = {**SALE, "member_card": api.card, "coupons": [second["code"]]}
    sale["lines"] = [{"sku": "RICE", "quantity": "3"}]
    assert api.client.post("/v1/receipts", json=sale, headers=api.as_("pos")).status_code == 201

    def wallet(**query: str) -> list[str]:
        path = f"/v1/members/{api.member_id}/coupons"
        answer = api.client.get(path, params=query, headers=api.as_("member"))
        assert answer.status_code == 200, answer.text
        return [c["code"] for c in answer.json()]

    assert wallet() == []
    assert wallet(status="voided") == [first["code"]]
    assert wallet(status="used") == [second["code"]]
    assert sorted(wallet(status="all")) == sorted([first["code"], second["code"]])
    assert (
        api.client.get(
            f"/v1/members/{api.member_id}/coupons", params={"status": "lost"}, headers=support
        ).status_code
        == 422
    )


def test_bearer_coupons_are_issued_over_the_api_and_a_mistyped_code_is_named(api: Api) -> None:
    made = api.client.post(
        "/v1/coupon-templates/SILVER-WELCOME/issue", json={"bearer": 2}, headers=api.as_("support")
    )
    assert made.status_code == 201
    assert [c["member_id"] for c in made.json()] == [None, None]
    code = made.json()[0]["code"]
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")  # a wrong check character
    cart = {k: v for k, v in SALE.items() if k != "pos_receipt_no"}
    quote = api.client.post(
        "/v1/checkout/quote", json={**cart, "coupons": [typo, code]}, headers=api.as_("pos")
    ).json()
    assert [r["reason"] for r in quote["rejected_coupons"]] == ["coupon_check_failed"]
    assert [c["code"] for c in quote["coupons"]] == [code]  # anyone may use a bearer coupon
    neither = api.client.post(
        "/v1/coupon-templates/SILVER-WELCOME/issue", json={}, headers=api.as_("support")
    )
    assert neither.status_code == 422


def test_an_export_reads_in_store_codes_skus_and_names(api: Api) -> None:
    sale = {**SALE, "member_card": api.card}
    assert api.client.post("/v1/receipts", json=sale, headers=api.as_("pos")).status_code == 201
    exported = api.client.get(
        f"/v1/members/{api.member_id}/export", headers=api.as_("member")
    ).json()
    [receipt] = exported["receipts"]
    assert receipt["store"] == "S001"
    assert "store_id" not in receipt
    assert {k: receipt["lines"][0][k] for k in ("sku", "product")} == {
        "sku": "RICE",
        "product": "Rice",
    }
