"""Every /v1 endpoint against every role, generated from the route table.

An endpoint without an `allow(...)` rule fails here, so none can slip in unguarded. Member
tokens reach their own account only (OWASP API1); lower roles cannot reach admin actions
(API5).
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from regulars.access.models import Role
from tests.api.conftest import Api, make_api
from tests.conftest import Database

# Least privileged first, and erasure last: once a member is erased their token is closed.
CALLERS = (
    "nobody",
    "pos",
    "analyst",
    "marketing",
    "app",
    "other_member",
    "member",
    "support",
    "admin",
)
ROLE_OF = {
    "admin": Role.ADMIN,
    "pos": Role.POS,
    "support": Role.SUPPORT,
    "analyst": Role.ANALYST,
    "marketing": Role.MARKETING,
    "app": Role.APP,
    "member": Role.MEMBER,
    "other_member": Role.MEMBER,
}


def admitted(dependant: Dependant) -> set[Role] | None:
    for sub in dependant.dependencies:
        found = getattr(sub.call, "admitted", None) or admitted(sub)
        if found:
            return set(found)
    return None


def api_routes(routes: list[object]) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (which newer FastAPI keeps as a wrapper)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def routes(api: Api) -> list[tuple[APIRoute, set[Role]]]:
    found = []
    for route in api_routes(api.client.app.routes):  # type: ignore[attr-defined]
        if route.path.startswith("/v1"):
            roles = admitted(route.dependant)
            assert roles is not None, f"{route.path} has no allow(...) rule"
            found.append((route, roles))
    assert len(found) >= 25
    return found


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Iterator[Api]:
    """Many unauthenticated calls on purpose: the failed-login throttle is set out of the way."""
    made = make_api(database, tmp_path, failed_auth_per_minute=100_000)
    yield made
    made.client.close()


def test_every_endpoint_admits_exactly_its_roles(api: Api) -> None:
    values = {
        "member_id": str(api.member_id),
        "receipt_id": "1",
        "code": "WELCOME10",
        "sku": "RICE",
        "name": "lapsing",
        "day": "2027-02-06",
        "case_id": "1",
    }
    for route, roles in sorted(routes(api), key=lambda found: found[0].path.endswith("/erase")):
        path = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], route.path)
        for method in route.methods:
            for caller in CALLERS:
                response = api.client.request(method, path, headers=api.as_(caller), json={})
                where = (
                    f"{caller} {method} {route.path}: {response.status_code} {response.text[:120]}"
                )
                if caller == "nobody":
                    assert response.status_code == 401, where
                elif ROLE_OF[caller] not in roles:
                    assert response.status_code == 403, where
                elif caller == "other_member" and "{member_id}" in route.path:
                    assert response.status_code == 403, where  # someone else's account
                else:
                    assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where


def test_analysts_and_marketing_never_reach_personal_data(api: Api) -> None:
    for route, roles in routes(api):
        if "{member_id}" in route.path or route.path == "/v1/members":
            assert Role.ANALYST not in roles, route.path
            assert Role.MARKETING not in roles, route.path
