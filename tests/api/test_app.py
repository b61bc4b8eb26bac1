import pytest
from fastapi.testclient import TestClient

from regulars.api.app import create_app
from regulars.db import run_in_transaction
from regulars.errors import DatabaseNotReady
from tests.conftest import Database
from tests.factories import make_product, make_store


@pytest.fixture
def client(database: Database) -> TestClient:
    def shop(session):  # type: ignore[no-untyped-def]
        make_store(session, "S002")
        make_store(session, "S001")
        for i in range(3):
            make_product(session, sku=f"SKU-{i}")

    run_in_transaction(database.sessions, shop)
    return TestClient(create_app(database.url))


def test_health_and_version_answer(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/version").json()["version"]


def test_stores_and_product_pages(client: TestClient) -> None:
    assert [s["code"] for s in client.get("/v1/stores").json()] == ["S001", "S002"]
    first = client.get("/v1/products", params={"limit": 2}).json()
    rest = client.get("/v1/products", params={"after": first[-1]["id"]}).json()
    assert [p["sku"] for p in first + rest] == ["SKU-0", "SKU-1", "SKU-2"]
    assert first[0]["regular_price"] == "4.50"


def test_bad_input_is_problem_json_naming_the_field(client: TestClient) -> None:
    response = client.get("/v1/products", params={"limit": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["errors"][0]["field"] == "limit"


def test_the_api_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatabaseNotReady, match="regulars db upgrade"):
        create_app(f"sqlite:///{tmp_path / 'empty.db'}")
