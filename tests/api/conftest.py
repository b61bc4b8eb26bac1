"""An app on a fresh database with a key for every role and tokens for two members."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from regulars.access.models import Role
from regulars.access.service import create_key, issue_member_token
from regulars.api.app import create_app
from regulars.config import Settings
from regulars.coupons.service import add_template
from regulars.db import run_in_transaction
from regulars.demo.writers import COUPON_TEMPLATES
from regulars.program.service import apply_program
from tests.conftest import Database
from tests.factories import NOW, PROGRAM, make_member, make_product, make_store


@dataclass
class Api:
    client: TestClient
    headers: dict[str, dict[str, str]]  # role -> Authorization header
    member_id: int
    other_member_id: int
    card: str
    database: Database

    def as_(self, who: str) -> dict[str, str]:
        return self.headers[who]


def make_api(database: Database, tmp_path: Path, **overrides: object) -> Api:
    settings = Settings(environment="test", secret_key_file=tmp_path / "secret.key", **overrides)

    def shop(session):  # type: ignore[no-untyped-def]
        make_store(session, "S001")
        make_store(session, "S002")
        make_product(session, sku="RICE", price="50.00")
        make_product(session, sku="EGGS", price="15.80")
        for template in COUPON_TEMPLATES:
            add_template(session, data=template, now=NOW)
        apply_program(session, text=PROGRAM.format(pending_days=0), now=NOW, actor="test")
        a, b = make_member(session, "13800138000"), make_member(session, "13800138001")
        keys = {
            "admin": create_key(session, role=Role.ADMIN, name="ops", now=NOW)[1],
            "pos": create_key(session, role=Role.POS, name="till 1", now=NOW, store_code="S001")[1],
            "pos_other_store": create_key(
                session, role=Role.POS, name="till 9", now=NOW, store_code="S002"
            )[1],
            "support": create_key(session, role=Role.SUPPORT, name="agent 7", now=NOW)[1],
            "analyst": create_key(session, role=Role.ANALYST, name="analyst", now=NOW)[1],
            "marketing": create_key(session, role=Role.MARKETING, name="campaigns", now=NOW)[1],
            "app": create_key(session, role=Role.APP, name="member app", now=NOW)[1],
        }
        return a.id, b.id, a.card_number, keys

    a, b, card, keys = run_in_transaction(database.sessions, shop)
    app = create_app(database.url, settings)
    secret = app.state.secret
    with database.sessions() as session:
        tokens = {
            name: issue_member_token(
                session, member_id=mid, secret=secret, now=NOW, lifetime=timedelta(days=3650)
            )[0]
            for name, mid in (("member", a), ("other_member", b))
        }
    headers = {
        name: {"Authorization": f"Bearer {text}"} for name, text in {**keys, **tokens}.items()
    }
    headers["nobody"] = {}
    return Api(TestClient(app), headers, a, b, card, database)


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Iterator[Api]:
    made = make_api(database, tmp_path)
    yield made
    made.client.close()
