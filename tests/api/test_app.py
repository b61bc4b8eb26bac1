import json
import logging
import re
from pathlib import Path

import pytest

from regulars.api.app import create_app
from regulars.config import Settings
from regulars.db import make_engine, make_sessionmaker
from regulars.errors import DatabaseNotReady
from regulars.scheduler.schedule import DEFAULTS
from regulars.scheduler.service import run_due
from tests.api.conftest import Api, make_api
from tests.conftest import Database
from tests.factories import NOW


def test_health_and_version_need_no_key(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok", "database": "ok"}
    assert api.client.get("/version").json()["version"]


def test_health_says_when_the_database_does_not_answer(api: Api) -> None:
    # Port 9 on loopback has no server: the connection is refused at once.
    gone = make_engine("postgresql://nobody@127.0.0.1:9/none")
    api.client.app.state.readers = make_sessionmaker(gone)  # type: ignore[attr-defined]
    answer = api.client.get("/health")
    assert (answer.status_code, answer.json()["code"]) == (503, "database_unreachable")


def test_metrics_count_requests_sales_and_points(api: Api) -> None:
    def figure(name: str) -> float:
        text = api.client.get("/metrics").text
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
        return float(found.group(1)) if found else 0.0

    sales, earned = (
        figure("regulars_sales_total"),
        figure('regulars_points_total{movement="earned"}'),
    )
    sale = {
        "store_code": "S001",
        "pos_receipt_no": "M-1",
        "sold_at": NOW.isoformat(),
        "member_card": api.card,
        "lines": [{"sku": "RICE", "quantity": "2"}],
    }
    assert api.client.post("/v1/receipts", json=sale, headers=api.as_("pos")).status_code == 201
    assert api.client.post("/v1/receipts", json=sale, headers=api.as_("pos")).status_code == 200
    assert figure("regulars_sales_total") == sales + 1  # the replay is no new sale
    assert figure('regulars_points_total{movement="earned"}') == earned + 100
    route = 'method="POST",route="/v1/receipts",status="201"'
    assert figure(f"regulars_http_requests_total{{{route}}}") >= 1
    assert (
        figure('regulars_http_request_duration_seconds_count{method="POST",route="/v1/receipts"}')
        >= 2
    )


def test_requests_are_logged_as_json_lines_when_asked(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = make_api(database, tmp_path, log_format="json")
    requests = logging.getLogger("regulars.requests")
    requests.addHandler(caplog.handler)  # the log writes to its own stream, not the root's
    try:
        api.client.get("/v1/stores", headers={**api.as_("analyst"), "X-Request-Id": "r-42"})
    finally:
        requests.removeHandler(caplog.handler)
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "regulars.requests"]
    assert line["request_id"] == "r-42"
    assert (line["route"], line["status"], line["actor"]) == ("/v1/stores", 200, "analyst")
    api.client.close()


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


def test_metrics_say_when_each_scheduled_job_last_finished(api: Api, tmp_path: Path) -> None:
    jobs = tuple(entry for entry in DEFAULTS if entry.job == "expire-points")
    settings = Settings(environment="test", warehouse_dir=tmp_path)
    run_due(api.database.engine, settings, jobs, clock=lambda: NOW, holder="test")
    text = api.client.get("/metrics").text
    assert 'regulars_job_last_success_timestamp_seconds{job="expire-points"}' in text
