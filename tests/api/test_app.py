import re

import pytest

from regulars.api.app import create_app
from regulars.config import Settings
from regulars.errors import DatabaseNotReady
from tests.api.conftest import Api


def test_health_and_version_need_no_key(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    assert api.client.get("/version").json()["version"]


def test_stores_and_product_pages(api: Api) -> None:
    stores = api.client.get("/v1/stores", headers=api.as_("analyst")).json()
    assert [s["code"] for s in stores] == ["S001", "S002"]
    first = api.client.get("/v1/products", params={"limit": 1}, headers=api.as_("pos")).json()
    rest = api.client.get(
        "/v1/products", params={"after": first[-1]["id"]}, headers=api.as_("pos")
    ).json()
    assert [p["sku"] for p in first + rest] == ["RICE", "EGGS"]
    assert first[0]["regular_price"] == "50.00"


def test_bad_input_is_problem_json_naming_the_field(api: Api) -> None:
    response = api.client.get("/v1/products", params={"limit": 0}, headers=api.as_("admin"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["errors"][0]["field"] == "limit"


def test_no_key_is_401_and_a_wrong_key_too(api: Api) -> None:
    assert api.client.get("/v1/stores").status_code == 401
    wrong = {"Authorization": "Bearer rgl_000000000000_nope"}
    response = api.client.get("/v1/stores", headers=wrong)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_api_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(environment="test", secret_key_file=tmp_path / "k")
    with pytest.raises(DatabaseNotReady, match="regulars db upgrade"):
        create_app(f"sqlite:///{tmp_path / 'empty.db'}", settings)


def test_keys_are_rate_limited_and_failed_logins_throttled(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.api.conftest import make_api

    api = make_api(database, tmp_path, failed_auth_per_minute=3, rate_limit_per_minute=5)
    codes = [api.client.get("/v1/stores", headers=api.as_("analyst")).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    limited = api.client.get("/v1/stores", headers=api.as_("analyst"))
    assert int(limited.headers["Retry-After"]) >= 1
    assert api.client.get("/v1/stores", headers=api.as_("support")).status_code == 200
    wrong = {"Authorization": "Bearer rgl_000000000000_nope"}
    failing = [api.client.get("/v1/stores", headers=wrong) for _ in range(4)]
    assert [answer.status_code for answer in failing] == [401, 401, 401, 429]
    assert "failed logins from this address" in failing[-1].json()["detail"]
    # The same address with a good key is not held back by its neighbour's failures.
    assert api.client.get("/v1/stores", headers=api.as_("admin")).status_code == 200


def test_reads_go_on_while_a_writer_holds_the_database(api) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from regulars.db import make_engine

    engine = make_engine(api.database.url)
    with engine.connect() as writer:
        writer.execute(text("update store set name = name"))  # holds the write lock
        response = api.client.get("/v1/stores", headers=api.as_("analyst"))
        writer.rollback()
    engine.dispose()
    assert response.status_code == 200
    assert len(response.json()) == 2


def test_the_docs_work_without_internet(api: Api) -> None:
    for page in ("/docs", "/redoc"):
        html = api.client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/docs-assets/"), asset  # nothing from a CDN
            assert api.client.get(asset).status_code == 200, asset
