"""The till and the member app, black-box through HTTP."""

from pathlib import Path

from sqlalchemy import select

from regulars.db import make_engine, upgrade_database
from regulars.points.models import EntryKind, PointEntry
from regulars.points.service import ledger_discrepancies
from tests.api.conftest import Api, make_api
from tests.conftest import Database
from tests.factories import NOW

SALE = {
    "store_code": "S001",
    "pos_receipt_no": "A-1",
    "sold_at": NOW.isoformat(),
    "lines": [{"sku": "RICE", "quantity": "2"}, {"sku": "EGGS", "quantity": "1"}],
}


def test_a_sale_from_quote_to_refund(api: Api) -> None:
    till, client = api.as_("pos"), api.client
    sale = {**SALE, "member_card": api.card}
    quote = client.post(
        "/v1/checkout/quote",
        json={k: v for k, v in sale.items() if k != "pos_receipt_no"},
        headers=till,
    )
    assert quote.status_code == 200
    committed = client.post("/v1/receipts", json=sale, headers=till)
    assert committed.status_code == 201
    body = committed.json()
    assert body["total"] == quote.json()["total"] == "115.80"
    assert body["points_earned"] == 115
    again = client.post("/v1/receipts", json=sale, headers=till)
    assert again.status_code == 200
    assert again.json()["receipt_id"] == body["receipt_id"]
    assert again.json()["created"] is False
    refund = client.post(
        f"/v1/receipts/{body['receipt_id']}/refunds",
        headers=till,
        json={
            "pos_refund_no": "R1",
            "refunded_at": NOW.isoformat(),
            "lines": [{"line_no": 2, "quantity": "1"}],
        },
    )
    assert refund.status_code == 201
    assert refund.json()["points_reversed"] == 16  # 115 × 15.80 / 115.80
    points = client.get(f"/v1/members/{api.member_id}/points", headers=api.as_("member")).json()
    assert points["total"] == 99


def test_a_till_works_for_its_own_store_only(api: Api) -> None:
    response = api.client.post("/v1/receipts", json=SALE, headers=api.as_("pos_other_store"))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_idempotency_keys_replay_the_first_answer_and_refuse_another_body(api: Api) -> None:
    headers = {**api.as_("support"), "Idempotency-Key": "goodwill-1"}
    url = f"/v1/members/{api.member_id}/points/adjustments"
    first = api.client.post(url, json={"points": 50, "reason": "broken eggs"}, headers=headers)
    second = api.client.post(url, json={"points": 50, "reason": "broken eggs"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    balance = api.client.get(f"/v1/members/{api.member_id}/points", headers=api.as_("admin"))
    assert balance.json()["total"] == 50  # granted once
    other = api.client.post(url, json={"points": 60, "reason": "broken eggs"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    same_body_other_query = api.client.post(
        f"{url}?note=again", json={"points": 50, "reason": "broken eggs"}, headers=headers
    )
    assert same_body_other_query.json()["code"] == "idempotency_key_reused"


def test_members_see_their_own_account_and_nobody_else_s(api: Api) -> None:
    mine = api.client.get(f"/v1/members/{api.member_id}", headers=api.as_("member"))
    assert mine.status_code == 200
    assert mine.json()["phone"] == "+8613800138000"
    for path in ("", "/points", "/points/history", "/coupons", "/tier", "/consents"):
        theirs = api.client.get(
            f"/v1/members/{api.other_member_id}{path}", headers=api.as_("member")
        )
        assert theirs.status_code == 403, path


def test_no_mass_assignment_of_balance_tier_or_status(api: Api) -> None:
    for field, value in (
        ("status", "frozen"),
        ("points", 100000),
        ("tier", "gold"),
        ("card_number", "800000000000000003"),
    ):
        response = api.client.patch(
            f"/v1/members/{api.member_id}", json={field: value}, headers=api.as_("member")
        )
        assert response.status_code == 422, field
    member = api.client.get(f"/v1/members/{api.member_id}", headers=api.as_("admin")).json()
    assert member["status"] == "active"


def test_writes_and_personal_reads_are_audited(api: Api) -> None:
    api.client.get(f"/v1/members/{api.member_id}", headers=api.as_("support"))
    api.client.post(
        f"/v1/members/{api.member_id}/consents",
        headers=api.as_("member"),
        json={"channel": "sms", "granted": True, "source": "app"},
    )
    cart = {k: v for k, v in SALE.items() if k != "pos_receipt_no"}
    assert api.client.post("/v1/checkout/quote", json=cart, headers=api.as_("pos")).is_success
    sold = api.client.post("/v1/receipts", json=SALE, headers=api.as_("pos"))
    assert sold.is_success
    from regulars.audit.service import latest

    with api.database.sessions() as session:
        entries = [(e.actor, e.action, e.object, e.status) for e in latest(session)]
    assert ("agent 7", "GET /v1/members/{member_id}", f"member_id={api.member_id}", 200) in entries
    assert (
        f"member {api.member_id}",
        "POST /v1/members/{member_id}/consents",
        f"member_id={api.member_id}",
        201,
    ) in entries
    actions = [action for _, action, _, _ in entries]
    assert "POST /v1/checkout/quote" not in actions  # a quote writes nothing
    sale_entry = ("till 1", "POST /v1/receipts", f"receipt_id={sold.json()['receipt_id']}", 201)
    assert sale_entry in entries


def test_enrolments_and_lookups_name_the_member_and_admins_read_the_log(api: Api) -> None:
    support, admin = api.as_("support"), api.as_("admin")
    enrolled = api.client.post("/v1/members", json={"phone": "13700137000"}, headers=support)
    new_id = enrolled.json()["id"]
    api.client.get("/v1/members", params={"phone": "13800138000"}, headers=support)
    api.client.post(f"/v1/members/{new_id}/erase", headers=support)

    def log(**filters: object) -> list[tuple[str, str]]:
        answer = api.client.get("/v1/audit", params=filters, headers=admin)
        assert answer.status_code == 200, answer.text
        return [(e["action"], e["object"]) for e in answer.json()]

    assert log(member_id=new_id) == [
        ("POST /v1/members", f"member_id={new_id}"),
        ("POST /v1/members/{member_id}/erase", f"member_id={new_id}"),
    ]
    assert log(member_id=api.member_id) == [("GET /v1/members", f"member_id={api.member_id}")]
    assert log(action="erase", actor="agent 7") == [
        ("POST /v1/members/{member_id}/erase", f"member_id={new_id}")
    ]
    first, *rest = api.client.get("/v1/audit", headers=admin).json()
    assert [e["id"] for e in rest] == [
        e["id"]
        for e in api.client.get("/v1/audit", params={"after": first["id"]}, headers=admin).json()
    ]
    assert api.client.get("/v1/audit", headers=support).status_code == 403


def test_coupons_issue_wallet_and_void(api: Api) -> None:
    issued = api.client.post(
        "/v1/coupon-templates/WELCOME10/issue",
        headers=api.as_("support"),
        json={"member_ids": [api.member_id]},
    )
    assert issued.status_code == 201
    code = issued.json()[0]["code"]
    wallet = api.client.get(f"/v1/members/{api.member_id}/coupons", headers=api.as_("member"))
    assert [c["code"] for c in wallet.json()] == [code]
    assert (
        api.client.post(f"/v1/coupons/{code}/void", headers=api.as_("support")).status_code == 200
    )
    assert (
        api.client.get(f"/v1/members/{api.member_id}/coupons", headers=api.as_("member")).json()
        == []
    )


def test_export_holds_everything_and_erase_keeps_every_total(api: Api) -> None:
    till, client = api.as_("pos"), api.client
    client.post("/v1/receipts", json={**SALE, "member_card": api.card}, headers=till)
    exported = client.get(f"/v1/members/{api.member_id}/export", headers=api.as_("member")).json()
    assert exported["member"]["phone"] == "+8613800138000"
    assert len(exported["receipts"]) == 1
    assert exported["receipts"][0]["lines"][0]["amount"] == "100.00"
    assert sum(e["points"] for e in exported["points"]) == 115

    def totals() -> tuple[object, ...]:
        from sqlalchemy import func, select

        from regulars.points.models import PointEntry
        from regulars.sales.models import Receipt

        with api.database.sessions() as session:
            return (
                session.scalar(select(func.sum(Receipt.total_amount))),
                session.scalar(select(func.sum(PointEntry.points))),
                session.scalar(select(func.count()).select_from(Receipt)),
            )

    before = totals()
    assert (
        client.post(f"/v1/members/{api.member_id}/erase", headers=api.as_("member")).status_code
        == 403
    )
    erased = client.post(f"/v1/members/{api.member_id}/erase", headers=api.as_("support"))
    assert erased.status_code == 200
    assert erased.json()["status"] == "erased"
    assert (erased.json()["phone"], erased.json()["email"], erased.json()["name"]) == (None,) * 3
    assert totals()[0::2] == before[0::2]  # every receipt stays as it was
    # The balance is settled by the documented rule: what was left is forfeited, audited.
    assert totals()[1] == 0
    with api.database.sessions() as session:
        assert ledger_discrepancies(session) == []
        forfeits = session.scalars(
            select(PointEntry).where(PointEntry.kind == EntryKind.FORFEIT)
        ).all()
    assert [(e.member_id, e.points, e.reason) for e in forfeits] == [
        (api.member_id, -115, "forfeited on erasure")
    ]
    for query in ({"phone": "13800138000"}, {"card_number": api.card}):
        found = client.get("/v1/members", params=query, headers=api.as_("support"))
        assert found.status_code == 404, query


def test_an_erased_member_is_gone_for_good(api: Api) -> None:
    client, mine = api.client, api.as_("member")
    client.post(
        f"/v1/members/{api.member_id}/consents",
        headers=mine,
        json={"channel": "sms", "granted": True, "source": "Li Na's phone"},
    )
    enrolled = client.post(
        "/v1/members",
        headers={**api.as_("support"), "Idempotency-Key": "e1"},
        json={"phone": "13900139000", "name": "Wang Fang"},
    )
    assert enrolled.status_code == 201
    new_id = enrolled.json()["id"]
    client.post(f"/v1/members/{new_id}/erase", headers=api.as_("support"))
    client.post(f"/v1/members/{api.member_id}/erase", headers=api.as_("support"))
    # The member's own token no longer opens anything, so nothing can be written back.
    again = client.patch(f"/v1/members/{api.member_id}", headers=mine, json={"name": "Back"})
    assert again.status_code == 401
    assert (
        client.patch(
            f"/v1/members/{api.member_id}", headers=api.as_("support"), json={"name": "Back"}
        ).status_code
        == 409
    )
    from sqlalchemy import text

    with api.database.sessions() as session:
        sources = set(
            session.scalars(
                text("select source from consent_record where member_id = :m"), {"m": api.member_id}
            )
        )
        stored = list(session.scalars(text("select body from idempotency_record")))
    assert sources == {"erased"}
    assert stored
    assert all("Wang Fang" not in body and "13900139000" not in body for body in stored)


def test_a_revoked_key_gets_no_replay(api: Api) -> None:
    headers = {**api.as_("support"), "Idempotency-Key": "r1"}
    body = {"phone": "13900139001"}
    assert api.client.post("/v1/members", headers=headers, json=body).status_code == 201
    from regulars.access.service import revoke_key
    from regulars.db import run_in_transaction
    from tests.factories import NOW

    run_in_transaction(api.database.sessions, lambda s: revoke_key(s, key_id=4, now=NOW))
    replay = api.client.post("/v1/members", headers=headers, json=body)
    assert replay.status_code == 401
    assert "Idempotent-Replayed" not in replay.headers


def test_odd_headers_and_nulls_are_no_server_errors(api: Api) -> None:
    odd = api.client.get("/health", headers={"X-Note": b"caf\xe9", "X-Request-Id": "x" * 500})
    assert odd.status_code == 200
    assert len(odd.headers["x-request-id"]) == 64
    gender = api.client.patch(
        f"/v1/members/{api.member_id}", headers=api.as_("member"), json={"gender": None}
    )
    assert gender.status_code == 200
    assert gender.json()["gender"] == "unspecified"


def test_tills_do_not_read_wallets(api: Api) -> None:
    response = api.client.get(f"/v1/members/{api.member_id}/coupons", headers=api.as_("pos"))
    assert response.status_code == 403


def test_an_implausible_sale_is_refused(api: Api) -> None:
    beers = {**SALE, "lines": [{"sku": "RICE", "quantity": "999999"}]}
    refused = api.client.post("/v1/receipts", json=beers, headers=api.as_("pos"))
    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["field"]) == (
        "implausible_receipt",
        "lines.0.quantity",
    )


def test_the_chain_sets_its_own_limits(database: Database, tmp_path: Path) -> None:
    strict = make_api(database, tmp_path, max_receipt_amount="100")
    over = strict.client.post("/v1/receipts", json=SALE, headers=strict.as_("pos"))
    assert over.status_code == 422
    assert "more than the 100 a receipt may" in over.json()["detail"]
    strict.client.close()


def test_an_erased_member_leaves_no_trace_in_the_sqlite_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_database(make_engine(url))
    api = make_api(Database(url), tmp_path)
    old_card = api.card.encode()
    sale = {**SALE, "member_card": api.card}
    assert api.client.post("/v1/receipts", json=sale, headers=api.as_("pos")).status_code == 201
    assert any(old_card in file.read_bytes() for file in tmp_path.glob("shop.db*"))
    erase = api.client.post(f"/v1/members/{api.member_id}/erase", headers=api.as_("support"))
    assert erase.status_code == 200
    for file in tmp_path.glob("shop.db*"):  # the database, its write-ahead log, its index
        assert old_card not in file.read_bytes(), file.name
    api.client.close()
