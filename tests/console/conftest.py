"""A small demo chain, scored, with a staff account for every role; a client per role.

The chain is made once per backend and shared: tests that change a member pick one of
their own (`Console.member`), so they do not see each other's changes.
"""

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from regulars.analytics.scoring import score_members
from regulars.analytics.warehouse import sync_warehouse
from regulars.api.app import create_app
from regulars.config import Settings
from regulars.console import core
from regulars.demo.generator import generate
from regulars.demo.writers import DEMO_STAFF, DEMO_STAFF_PASSWORD, write_database
from regulars.i18n import Language
from regulars.insights.models import MemberInsight
from regulars.members.models import Member
from regulars.program.models import ProgramVersion
from regulars.staff.models import StaffRole, StaffUser
from regulars.staff.service import set_language
from tests.conftest import Database, Template
from tests.factories import NOW

UNTIL = date(2026, 6, 1)
PASSWORD = DEMO_STAFF_PASSWORD
ROLES = tuple(StaffRole)


@dataclass
class Console:
    settings: Settings
    database: Database
    members: list[tuple[int, str, str | None]]  # id, card number, segment: one per test
    program_version: int  # the demo program's
    taken: itertools.count = field(default_factory=itertools.count)

    def app(self):  # type: ignore[no-untyped-def]
        return create_app(self.database.url, self.settings)

    def client(self, role: StaffRole | None = None, app=None) -> TestClient:  # type: ignore[no-untyped-def]
        """A browser of its own, logged in as the account of `role` (None: nobody)."""
        client = TestClient(app or self.app(), follow_redirects=False)
        if role is not None:
            self.speaks_english(role)
            answer = client.post(
                "/console/login", data={"username": DEMO_STAFF[role], "password": PASSWORD}
            )
            assert answer.status_code == 303, answer.text
        return client

    def speaks_english(self, role: StaffRole) -> None:
        """The account of `role` set to English, whatever a test chose before."""
        with self.database.sessions() as session:
            account = session.scalars(
                select(StaffUser).where(StaffUser.username == DEMO_STAFF[role])
            ).one()
            set_language(session, user=account, tag="en")
            session.commit()

    def member(self) -> tuple[int, str]:
        """A member no other test touches."""
        member_id, card, _ = self.members[next(self.taken)]
        return member_id, card


@pytest.fixture(scope="session")
def console(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Console:
    tmp = tmp_path_factory.mktemp(f"console-{template.backend}")
    database = Database(template.copy())
    chain = generate(members=300, months=4, seed=11, stores=3, until=UNTIL)
    write_database(database.sessions, chain, seed=11, now=NOW, progress=lambda _n, _c: None)
    settings = Settings(
        environment="test", secret_key_file=tmp / "secret.key", warehouse_dir=tmp / "warehouse"
    )
    sync_warehouse(database.engine, settings.warehouse_dir)
    score_members(
        database.sessions,
        warehouse=settings.warehouse_dir,
        out=tmp / "scores",
        zone=settings.zone,
        now=NOW,
    )
    with database.sessions() as session:
        rows = session.execute(
            select(Member.id, Member.card_number, MemberInsight.rfm_segment)
            .join(MemberInsight, MemberInsight.member_id == Member.id)
            .order_by(Member.id)
        ).all()
        version = session.scalars(select(ProgramVersion.id)).one()
        session.commit()
    return Console(settings, database, [tuple(r) for r in rows], version)  # type: ignore[misc]


def form_fields(page: Response, action: str) -> dict[str, str]:
    """The hidden fields (CSRF and form tokens) of the page's form that posts to `action`."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page.text, re.DOTALL)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))


@pytest.fixture
def support(console: Console) -> Iterator[TestClient]:
    with console.client(StaffRole.SUPPORT) as client:
        yield client


@pytest.fixture
def spoken(monkeypatch: pytest.MonkeyPatch) -> list[Language]:
    """Every language the console spoke in the test, with the messages it missed."""
    found: list[Language] = []
    original = core.language

    def spy(tag: str) -> Language:
        made = original(tag)
        found.append(made)
        return made

    monkeypatch.setattr(core, "language", spy)
    return found


def untranslated(spoken: list[Language]) -> set[str]:
    return set().union(*(t.missing for t in spoken if t.tag == "zh-CN"))
