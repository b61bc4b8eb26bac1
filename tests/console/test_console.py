"""The console through HTTP, as a browser without JavaScript uses it."""

import csv
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from regulars.analytics.kpis import Sales
from regulars.audit.models import AuditEntry
from regulars.cases.models import Case
from regulars.clock import utc_now
from regulars.console import core
from regulars.console.app import allowed_roles, console_routes
from regulars.console.dashboard import figures
from regulars.demo.voice import CASE_SURVEY, VISIT_SURVEY
from regulars.i18n import Language
from regulars.insights.models import ModelRun
from regulars.insights.service import churn_drivers, member_insight
from regulars.members.models import Member
from regulars.points.models import PointEntry
from regulars.staff.models import StaffRole, StaffSession
from regulars.staff.service import IDLE
from tests.console.conftest import PASSWORD, Console, form_fields, untranslated


def entries(console: Console, member_id: int) -> list[tuple[int, str | None]]:
    with console.database.sessions() as session:
        query = select(PointEntry.points, PointEntry.reason).where(
            PointEntry.member_id == member_id, PointEntry.kind == "adjust"
        )
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def audited(console: Console, action: str) -> list[AuditEntry]:
    with console.database.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == f"console {action}")
        return list(session.scalars(query))


def test_a_page_asks_for_a_login_and_then_opens_where_the_user_was(console: Console) -> None:
    with console.client() as browser:
        asked = browser.get("/console/segments?start=2026-03-01")
        assert asked.status_code == 303
        assert (
            asked.headers["location"]
            == "/console/login?next=/console/segments%3Fstart%3D2026-03-01"
        )
        login = browser.post(
            "/console/login",
            data={
                "username": "analyst",
                "password": PASSWORD,
                "next": "/console/segments?start=2026-03-01",
            },
        )
        assert login.headers["location"] == "/console/segments?start=2026-03-01"
        assert browser.get("/console/segments").status_code == 200


def test_a_login_never_sends_the_user_to_another_site(console: Console) -> None:
    with console.client() as browser:
        for target in ("https://evil.example/console", "//evil.example/console", "/v1/members"):
            login = browser.post(
                "/console/login", data={"username": "analyst", "password": PASSWORD, "next": target}
            )
            assert login.headers["location"] == "/console"


def test_a_wrong_password_is_refused_and_a_guessed_name_then_waits(console: Console) -> None:
    app = console.app()
    with console.client(app=app) as browser:
        for _ in range(5):
            wrong = browser.post(
                "/console/login", data={"username": "admin", "password": "nope-nope-nope"}
            )
            assert wrong.status_code == 401
            assert "用户名或密码错误" in wrong.text  # the console speaks Chinese by default
        right = browser.post("/console/login", data={"username": "admin", "password": PASSWORD})
        assert right.status_code == 429  # even the right password, while the name waits
        assert "COOKIE" not in right.headers.get("set-cookie", "")
        assert browser.get("/console").status_code == 303
    with console.client(StaffRole.ANALYST, app=app) as other:  # another name is not held up
        assert other.get("/console").status_code == 200


def test_logging_out_ends_the_session_for_good(console: Console) -> None:
    with console.client(StaffRole.ANALYST) as browser:
        page = browser.get("/console")
        cookie = browser.cookies.get(core.COOKIE)
        out = browser.post("/console/logout", data=form_fields(page, "/console/logout"))
        assert out.headers["location"] == "/console/login"
        browser.cookies.set(core.COOKIE, cookie or "", path="/console")  # a copy kept elsewhere
        assert browser.get("/console").status_code == 303


def test_an_agent_adjusts_points_and_the_ledger_and_audit_show_it(
    console: Console, support: TestClient
) -> None:
    member_id, _ = console.member()
    page = support.get(f"/console/members/{member_id}")
    fields = form_fields(page, f"/console/members/{member_id}/points")
    done = support.post(
        f"/console/members/{member_id}/points",
        data={**fields, "points": "120", "reason": "broken eggs"},
    )
    assert done.status_code == 303
    shown = support.get(done.headers["location"])
    assert "The points were adjusted." in shown.text
    ledger = re.search(r'<table id="ledger">.*?</table>', shown.text, re.DOTALL)
    assert ledger
    assert "broken eggs" in ledger.group(0)
    assert ">120<" in ledger.group(0)
    assert entries(console, member_id) == [(120, "broken eggs")]
    assert any(e.object == f"member_id={member_id}" for e in audited(console, "adjust points"))


def test_a_form_sent_twice_does_its_work_once(console: Console, support: TestClient) -> None:
    member_id, _ = console.member()
    page = support.get(f"/console/members/{member_id}")
    form = {
        **form_fields(page, f"/console/members/{member_id}/points"),
        "points": "-1",
        "reason": "twice",
    }
    form["points"] = "30"
    first = support.post(f"/console/members/{member_id}/points", data=form)
    second = support.post(f"/console/members/{member_id}/points", data=form)
    assert first.headers["location"] == second.headers["location"]
    assert entries(console, member_id) == [(30, "twice")]


def test_an_agent_cannot_adjust_beyond_their_cap_and_nothing_is_written(
    console: Console, support: TestClient
) -> None:
    member_id, _ = console.member()
    page = support.get(f"/console/members/{member_id}")
    fields = form_fields(page, f"/console/members/{member_id}/points")
    for points, field, message in (
        ("600", "points", "your role may adjust at most 500 points at a time"),
        ("ten", "points", "give a whole number"),
        ("50", "reason", "say why"),
    ):
        refused = support.post(
            f"/console/members/{member_id}/points",
            data={**fields, "points": points, "reason": "" if field == "reason" else "goodwill"},
        )
        assert refused.status_code == 422
        beside = re.search(
            rf'<span class="field-error" id="{field}-error"[^>]*>([^<]*)', refused.text
        )
        assert beside
        assert message in beside.group(1)
        assert f'value="{points}"' in refused.text  # what was typed is kept
    assert entries(console, member_id) == []
    # The same form, corrected, still goes through: a refusal does not use up its token.
    fine = support.post(
        f"/console/members/{member_id}/points",
        data={**fields, "points": "500", "reason": "goodwill"},
    )
    assert fine.status_code == 303
    assert entries(console, member_id) == [(500, "goodwill")]


def test_a_form_without_its_csrf_token_is_refused(console: Console, support: TestClient) -> None:
    member_id, _ = console.member()
    for token in ("", "0" * 64):
        refused = support.post(
            f"/console/members/{member_id}/points",
            data={"csrf": token, "points": "10", "reason": "forged"},
        )
        assert refused.status_code == 403
    assert entries(console, member_id) == []


def test_contact_details_are_masked_until_shown_and_every_showing_is_audited(
    console: Console, support: TestClient
) -> None:
    member_id, _ = console.member()
    with console.database.sessions() as session:
        phone = session.get(Member, member_id).phone  # type: ignore[union-attr]
    assert phone
    assert phone.startswith("+86")
    national = phone.removeprefix("+86")
    page = support.get(f"/console/members/{member_id}")
    assert national not in page.text
    assert f"{national[:3]}****{national[-4:]}" in page.text
    before = len(audited(console, "reveal personal data"))
    shown = support.post(
        f"/console/members/{member_id}/reveal",
        data=form_fields(page, f"/console/members/{member_id}/reveal"),
        headers={"HX-Request": "true"},
    )
    assert shown.status_code == 200
    assert phone in shown.text
    after = audited(console, "reveal personal data")
    assert len(after) == before + 1
    assert after[-1].actor == "support"


@pytest.mark.parametrize(
    ("role", "contacts"), [(StaffRole.SUPPORT, True), (StaffRole.ANALYST, False)]
)
def test_a_segment_exports_whole_with_contacts_only_for_roles_that_may_see_them(
    console: Console, role: StaffRole, contacts: bool
) -> None:
    segment = max(
        {s for *_, s in console.members if s}, key=lambda s: sum(m[2] == s for m in console.members)
    )
    size = sum(m[2] == segment for m in console.members)
    before = len(audited(console, f"export segment {segment}"))
    with console.client(role) as browser:
        answer = browser.get(f"/console/segments/{segment}/export")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == size
    assert {r["segment"] for r in rows} == {segment}
    assert ("phone" in rows[0]) is contacts
    if contacts:
        assert all(r["phone"].startswith("+86") for r in rows)
    assert len(audited(console, f"export segment {segment}")) == before + contacts


def test_a_segment_lists_its_members_a_page_at_a_time(
    console: Console, support: TestClient
) -> None:
    segment = max(
        {s for *_, s in console.members if s}, key=lambda s: sum(m[2] == s for m in console.members)
    )
    cards = {card for _, card, s in console.members if s == segment}
    seen: list[str] = []
    page = support.get(f"/console/segments/{segment}/members")
    while True:
        seen += re.findall(r'href="/console/members/\d+">(\d+)<', page.text)
        following = re.search(r'href="(/console/segments/[^"]+\?after=\d+)"', page.text)
        if not following:
            break
        page = support.get(following.group(1))
    assert len(seen) == len(cards)
    assert set(seen) == cards


def test_the_store_manager_sees_their_store_beside_the_chain(console: Console) -> None:
    with console.client(StaffRole.STORE_MANAGER) as manager:
        page = manager.get("/console?store=S002")  # another store: not theirs to pick
    assert page.status_code == 200
    assert "Chain" in page.text
    assert 'name="store"' not in page.text


def test_every_page_is_fully_translated_into_chinese(
    console: Console, spoken: list[Language]
) -> None:
    member_id, _ = console.member()
    with console.client(StaffRole.ADMIN) as browser:
        page = browser.get("/console")
        browser.post(
            "/console/account/language",
            data={**form_fields(page, "/console/account/language"), "lang": "zh-CN"},
        )
        for path in pages(console, member_id):
            assert browser.get(path).status_code == 200, path
        browser.post(
            "/console/logout", data=form_fields(browser.get("/console"), "/console/logout")
        )
        login = browser.get("/console/login").text
    missing = untranslated(spoken)
    assert not missing, "untranslated:\n" + "\n".join(sorted(missing))
    assert "登录" in login  # the browser keeps the language after logout


def first_case(console: Console) -> int:
    with console.database.sessions() as session:
        found = session.scalar(select(func.min(Case.id)))
    assert found is not None
    return found


def pages(console: Console, member_id: int) -> Iterator[str]:
    segment = next(s for *_, s in console.members if s)
    yield from (
        "/console",
        "/console?days=7&channel=store",
        "/console/members",
        f"/console/members/{member_id}",
        "/console/cases",
        f"/console/cases/{first_case(console)}",
        "/console/cases/figures",
        "/console/cases/figures?days=365",
        "/console/surveys",
        f"/console/surveys/{VISIT_SURVEY}",
        f"/console/surveys/{CASE_SURVEY}",
        "/console/segments",
        "/console/segments?start=2026-03-01&end=2026-05-01",
        "/console/audiences",
        "/console/campaigns",
        "/console/journeys",
        "/console/calendar",
        f"/console/segments/{segment}/members",
        "/console/program",
        f"/console/program/versions/{console.program_version}",
        "/console/program/edit",
        "/console/coupons",
        "/console/reports",
        "/console/reports/1",
        "/console/baskets",
        "/console/baskets?level=product&week=weekend&hours=8-12&min_support=0.002",
        "/console/baskets?min_support=2",
        "/console/users",
    )


def test_the_program_shows_its_proposal_errors_beside_the_field(console: Console) -> None:
    with console.client(StaffRole.ADMIN) as admin:
        page = admin.get("/console/program/edit")
        fields = form_fields(page, "/console/program/simulate")
        source = re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.DOTALL)
        assert source
        broken = admin.post("/console/program/apply", data={**fields, "source": "name = \n"})
        assert broken.status_code == 422
        assert re.search(r'id="source-error"[^>]*>[^<]*not valid TOML', broken.text)
        what_if = admin.post(
            "/console/program/simulate",
            data={
                **fields,
                "source": _unescape(source.group(1)),
                "start": "2026-05-01",
                "end": "2026-05-31",
            },
        )
        assert what_if.status_code == 200
        assert "What the proposal would have done" in what_if.text


def _unescape(html: str) -> str:
    return (
        html.replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


def test_erasing_asks_for_the_card_number(console: Console, support: TestClient) -> None:
    member_id, card = console.member()
    page = support.get(f"/console/members/{member_id}")
    fields = form_fields(page, f"/console/members/{member_id}/erase")
    refused = support.post(f"/console/members/{member_id}/erase", data={**fields, "confirm": "123"})
    assert refused.status_code == 422
    assert 'id="confirm-error"' in refused.text
    done = support.post(f"/console/members/{member_id}/erase", data={**fields, "confirm": card})
    assert done.status_code == 303
    with console.database.sessions() as session:
        member = session.get(Member, member_id)
        assert member
        assert member.phone is None
        assert member.status == "erased"


def test_an_admin_creates_and_disables_a_staff_account(console: Console) -> None:
    with console.client(StaffRole.ADMIN) as admin:
        page = admin.get("/console/users")
        fields = form_fields(page, "/console/users")
        short = admin.post(
            "/console/users",
            data={**fields, "username": "li.na", "role": "support", "password": "short"},
        )
        assert short.status_code == 422
        assert 'id="password-error"' in short.text
        made = admin.post(
            "/console/users",
            data={
                **fields,
                "username": "li.na",
                "display_name": "Li Na",
                "role": "support",
                "password": PASSWORD,
                "language": "zh-CN",
            },
        )
        assert made.status_code == 303
        with console.client() as newcomer:
            assert (
                newcomer.post(
                    "/console/login", data={"username": "li.na", "password": PASSWORD}
                ).status_code
                == 303
            )
            assert "会员" in newcomer.get("/console/members").text  # her language
            page = admin.get("/console/users")
            admin.post(
                "/console/users/disable",
                data={**form_fields(page, "/console/users/disable"), "username": "li.na"},
            )
            assert newcomer.get("/console/members").status_code == 303  # her session ended
    with console.database.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.like("console % staff user li.na"))
            )
            == 2
        )


def test_each_role_reaches_exactly_the_pages_and_actions_its_routes_admit(console: Console) -> None:
    """Generated from the route table: every console route, every role."""
    member_id = console.members[-1][0]
    values = {
        "member_id": str(member_id),
        "segment": next(s for *_, s in console.members if s),
        "version_id": str(console.program_version),
        "number": "1",
        "name": "no such campaign",
        "case_id": "1",
        "code": "no-such-survey",
    }
    checked = 0
    for role in StaffRole:
        with console.client(role) as browser:
            csrf = form_fields(browser.get("/console"), "/console/logout")["csrf"]
            # Logging out last, so that the session lasts through the others.
            for route in sorted(console_routes(), key=lambda r: r.path.endswith("/logout")):
                roles = allowed_roles(route)
                if roles is None:
                    continue
                path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)
                for method in route.methods or ():
                    answer = browser.request(
                        method, path, data={"csrf": csrf} if method == "POST" else None
                    )
                    if role in roles:
                        assert answer.status_code != 403, (role, method, path)
                        sent_to = answer.headers.get("location", "")
                        assert "login?next" not in sent_to, (role, path)
                    else:
                        assert answer.status_code == 403, (role, method, path, answer.status_code)
                    checked += 1
    assert checked > 4 * 20


def test_the_desk_finds_a_member_by_name_and_shows_the_name_masked(
    console: Console, support: TestClient
) -> None:
    member_id, card = console.member()
    with console.database.sessions() as session:
        name = session.get(Member, member_id).name  # type: ignore[union-attr]
    assert name
    page = support.get("/console/members", params={"q": name}).text
    results = page[page.index('<div id="found"') :]
    assert card in results
    assert name not in results  # what the agent typed, not what the record holds
    assert f"{name[0]}*" in results


def test_the_dashboard_works_its_figures_out_once_per_warehouse_sync(
    console: Console, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse"
    shutil.copytree(console.settings.warehouse_dir, warehouse)
    first = figures(warehouse, 30, Sales(), "Asia/Shanghai")
    assert figures(warehouse, 30, Sales(), "Asia/Shanghai") is first  # kept
    assert figures(warehouse, 7, Sales(), "Asia/Shanghai") is not first  # another period
    state = warehouse / "_state.json"
    os.utime(state, ns=(state.stat().st_atime_ns, state.stat().st_mtime_ns + 1))  # a sync
    again = figures(warehouse, 30, Sales(), "Asia/Shanghai")
    assert again is not first
    # Worked out afresh, from the same data (sums of money by DuckDB's threads may differ in
    # their last bits).
    assert [k.value for k in again.kpis.kpis] == pytest.approx([k.value for k in first.kpis.kpis])


def test_the_member_360_says_what_drives_their_churn_risk(
    console: Console, support: TestClient
) -> None:
    member_id, _ = console.member()
    with console.database.sessions() as session:
        run = session.get(ModelRun, member_insight(session, member_id=member_id).model_run_id)
        assert run is not None
        drivers = churn_drivers(run, member_id=member_id)
    assert len(drivers) == 3
    page = support.get(f"/console/members/{member_id}").text
    table = page[page.index("What moves the churn risk most") :]
    shown = re.findall(r'<th scope="row">([^<]+)</th>', table)[:3]
    assert shown == [d.feature.replace("_", " ").capitalize() for d in drivers]
    effects = re.findall(r"(raises|lowers) the risk", table)[:3]
    assert effects == ["raises" if d.contribution > 0 else "lowers" for d in drivers]


def test_a_form_sent_after_the_session_ended_returns_to_its_page_after_login(
    console: Console, support: TestClient
) -> None:
    member_id, _ = console.member()
    page = support.get(f"/console/members/{member_id}")
    fields = form_fields(page, f"/console/members/{member_id}/points")
    with console.database.sessions() as session:
        idle = utc_now() - IDLE  # the agent went to lunch
        session.execute(update(StaffSession).values(last_seen_at=idle))
        session.commit()
    sent = support.post(
        f"/console/members/{member_id}/points",
        data={**fields, "points": "5", "reason": "too late"},
        headers={"Referer": f"http://testserver/console/members/{member_id}"},
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/console/login?next=/console/members/{member_id}"
    assert entries(console, member_id) == []


def test_a_new_coupon_template_shows_every_wrong_field_beside_itself(console: Console) -> None:
    with console.client(StaffRole.ADMIN) as admin:
        fields = form_fields(admin.get("/console/coupons"), "/console/coupons/templates")
        wrong = admin.post(
            "/console/coupons/templates",
            data={**fields, "code": "", "name": "Spring", "kind": "percent_off", "valid_days": "0"},
        )
        assert wrong.status_code == 422
        for field in ("code", "valid_days"):
            assert f'id="{field}-error"' in wrong.text, field
        assert 'value="Spring"' in wrong.text
        # A rule across fields speaks once the fields themselves are right.
        incomplete = admin.post(
            "/console/coupons/templates",
            data={**fields, "code": "SPRING8", "name": "Spring", "kind": "percent_off"},
        )
        assert re.search(r'id="percent-error"[^>]*>[^<]*coupon needs percent', incomplete.text)
        made = admin.post(
            "/console/coupons/templates",
            data={
                **fields,
                "code": "SPRING8",
                "name": "Spring",
                "kind": "percent_off",
                "percent": "8",
                "valid_days": "14",
            },  # fmt: skip
        )
        assert made.status_code == 303
        listed = admin.get("/console/coupons").text
    assert '<th scope="row">SPRING8</th>' in listed


def test_marketing_builds_an_audience_and_sends_a_campaign_from_the_console(
    console: Console,
) -> None:
    definition = '{"kind": "tier", "values": ["regular", "silver", "gold", "diamond"]}'
    with console.client(StaffRole.MARKETING) as marketing:
        page = marketing.get("/console/audiences")
        counted = marketing.post(
            "/console/audiences/count",
            data={"definition": definition},
            headers={"X-CSRF-Token": form_fields(page, "/console/audiences")["csrf"]},
        )
        members = int(re.sub(r"\D", "", counted.text))
        assert members > 200
        token = {"X-CSRF-Token": form_fields(page, "/console/audiences")["csrf"]}
        broken = marketing.post("/console/audiences/count", data={"definition": "{"}, headers=token)
        assert "not JSON" in broken.text
        fields = form_fields(page, "/console/audiences")
        saved = marketing.post(
            "/console/audiences", data={**fields, "name": "everyone", "definition": definition}
        )
        assert saved.status_code == 303
        page = marketing.get("/console/campaigns")
        fields = form_fields(page, "/console/campaigns")
        campaign = {
            "name": "hello", "audience": "everyone", "channel": "sms", "control_share": "0.2",
            "window_days": "14", "body": "{name}: {points}",
        }  # fmt: skip
        wrong = marketing.post("/console/campaigns", data={**fields, **campaign, "body": "{nick}"})
        assert wrong.status_code == 422
        assert 'id="body-error"' in wrong.text
        made = marketing.post("/console/campaigns", data={**fields, **campaign})
        assert made.headers["location"] == "/console/campaigns/hello"
        page = marketing.get("/console/campaigns/hello")
        assert f"Sent now, it would go to {members:,} members" in page.text
        sent = marketing.post(
            "/console/campaigns/hello/send", data=form_fields(page, "/console/campaigns/hello/send")
        )
        assert sent.status_code == 303
        results = marketing.get("/console/campaigns/hello").text
    assert "Results" in results
    groups = re.findall(
        r'<th scope="row">Members</th><td class="num">([\d,]+)</td><td class="num">([\d,]+)</td>',
        results,
    )
    treated, held = (int(n.replace(",", "")) for n in groups[0])
    assert treated + held == members
