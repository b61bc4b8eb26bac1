"""Admins keep the catalogue up to date over the API; history keeps its prices."""

from tests.api.conftest import Api
from tests.factories import NOW

SALE = {
    "store_code": "S001",
    "pos_receipt_no": "C-1",
    "sold_at": NOW.isoformat(),
    "lines": [{"sku": "EGGS", "quantity": "1"}],
}


def test_a_new_price_counts_from_the_next_sale_and_receipts_keep_theirs(api: Api) -> None:
    admin, till = api.as_("admin"), api.as_("pos")
    before = api.client.post("/v1/receipts", json=SALE, headers=till).json()
    changed = api.client.patch("/v1/products/EGGS", json={"regular_price": "17.20"}, headers=admin)
    assert changed.status_code == 200
    assert changed.json()["regular_price"] == "17.20"
    after = api.client.post("/v1/receipts", json={**SALE, "pos_receipt_no": "C-2"}, headers=till)
    assert (before["total"], after.json()["total"]) == ("15.80", "17.20")
    kept = api.client.get(f"/v1/receipts/{before['receipt_id']}", headers=till).json()
    assert kept["lines"][0]["unit_price"] == "15.80"


def test_admins_open_stores_and_list_goods_in_the_tree(api: Api) -> None:
    admin = api.as_("admin")
    store = {"code": "S777", "name": "Pudong", "region": "Shanghai"}
    assert api.client.post("/v1/stores", json=store, headers=admin).status_code == 201
    assert api.client.post("/v1/stores", json=store, headers=admin).status_code == 409
    renamed = api.client.patch("/v1/stores/S777", json={"name": "Pudong East"}, headers=admin)
    assert renamed.json()["name"] == "Pudong East"
    tree = [
        {"code": "D9", "name": "Drinks", "level": "department"},
        {"code": "C9", "name": "Tea", "level": "category", "parent_code": "D9"},
    ]
    for category in tree:
        assert api.client.post("/v1/categories", json=category, headers=admin).status_code == 201
    misplaced = {"code": "X9", "name": "Odd", "level": "subcategory", "parent_code": "D9"}
    refused = api.client.post("/v1/categories", json=misplaced, headers=admin)
    assert refused.json()["detail"] == "A subcategory must sit under a category"
    listed = api.client.get("/v1/categories", headers=api.as_("analyst")).json()
    assert ("C9", "D9") in [(c["code"], c["parent_code"]) for c in listed]
    tea = {"sku": "TEA-1", "name": "Oolong", "brand": "Hills", "category_code": "C9",
           "regular_price": "23.00"}  # fmt: skip
    assert api.client.post("/v1/products", json=tea, headers=admin).status_code == 201
    quote = api.client.post(
        "/v1/checkout/quote",
        json={"store_code": "S001", "lines": [{"sku": "TEA-1", "quantity": "2"}]},
        headers=api.as_("pos"),
    )
    assert quote.json()["total"] == "46.00"  # the till sees it at once
    assert (
        api.client.patch(
            "/v1/products/TEA-1", json={"regular_price": None}, headers=admin
        ).status_code
        == 422
    )
    assert api.client.post("/v1/products", json=tea, headers=api.as_("support")).status_code == 403
