"""The console in a real Chromium: what staff do, by mouse and keyboard, and accessibility.

The browser is the system's Chromium (Debian's package), driven by Playwright; axe-core
comes from the npm registry with the other console assets. Neither missing is a reason to
skip: the tests fail and say what to install.
"""

import csv
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select, update

from regulars.campaigns.optout import Links
from regulars.clock import utc_now
from regulars.config import secret_key
from regulars.console.app import console_routes
from regulars.console.core import Allowed
from regulars.demo.voice import VISIT_SURVEY
from regulars.demo.writers import DEMO_STAFF
from regulars.members.models import Member
from regulars.staff.models import StaffRole, StaffSession
from regulars.surveys.models import Survey, SurveyInvitation, SurveyResponse
from tests.console.conftest import PASSWORD, Console
from tests.console.test_console import pages

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# As root and without network: no sandbox, and none of Chromium's calls home.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Site:
    url: str
    console: Console

    def __add__(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="session")
def site(console: Console) -> Iterator[Site]:
    """The console served by a real server on a loopback port of its own."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(console.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", console)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")  # Playwright keeps an event loop running while it is open
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("no Chromium: install Debian's package with `apt-get install chromium`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def log_in(page: Page, site: Site, role: StaffRole, target: str = "/console") -> None:
    site.console.speaks_english(role)
    page.goto(site + target)
    page.fill("#username", DEMO_STAFF[role])
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")  # the keyboard alone logs in
    page.wait_for_url(f"{site.url}{target}")


def test_an_agent_finds_a_member_adjusts_points_and_sees_it_in_the_ledger(
    console: Console, site: Site, page: Page
) -> None:
    member_id, card = console.member()
    log_in(page, site, StaffRole.SUPPORT)
    page.get_by_role("link", name="Members").click()
    page.fill("#q", card)  # htmx shows the member as the agent types
    page.locator("#found").get_by_role("link", name=card).click()
    page.wait_for_url(f"{site.url}/console/members/{member_id}")
    page.fill("#points", "75")
    page.fill("#reason", "late delivery")
    page.get_by_role("button", name="Adjust", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The points were adjusted.")
    first_row = page.locator("#ledger tbody tr").first
    expect(first_row).to_contain_text("late delivery")
    expect(first_row).to_contain_text("75")
    expect(first_row).to_contain_text("support")


def test_contact_details_are_shown_only_when_asked(
    console: Console, site: Site, page: Page
) -> None:
    member_id, _ = console.member()
    log_in(page, site, StaffRole.SUPPORT, f"/console/members/{member_id}")
    contact = page.locator("#contact")
    expect(contact).to_contain_text("****")
    page.get_by_role("button", name="Show contact details").click()
    expect(contact).to_contain_text("+86")
    expect(contact).not_to_contain_text("****")


def test_an_analyst_exports_a_segment(
    console: Console, site: Site, page: Page, tmp_path: Path
) -> None:
    log_in(page, site, StaffRole.ANALYST, "/console/segments")
    first = page.locator("table").first.locator("tbody tr").first
    segment_members = int(first.locator("td").first.inner_text().replace(",", ""))
    with page.expect_download() as download:
        first.get_by_role("link", name="CSV").click()
    saved = tmp_path / "segment.csv"
    download.value.save_as(saved)
    with saved.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == segment_members
    assert "phone" not in rows[0]  # an analyst gets no contact details


def test_switching_language_changes_every_word_and_stays(site: Site, page: Page) -> None:
    log_in(page, site, StaffRole.ANALYST)
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("link", name="仪表盘")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.reload()
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()


def test_an_expired_session_goes_to_the_login_and_back(
    console: Console, site: Site, page: Page
) -> None:
    log_in(page, site, StaffRole.ANALYST, "/console/program")
    with console.database.sessions() as session:  # the working day ended
        session.execute(update(StaffSession).values(expires_at=StaffSession.created_at))
        session.commit()
    page.get_by_role("link", name="Segments").click()
    page.wait_for_url("**/console/login?next=/console/segments")
    page.fill("#username", "analyst")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site.url}/console/segments")


def test_a_role_sees_only_its_pages_in_the_menu_and_is_stopped_at_the_others(
    site: Site, page: Page
) -> None:
    log_in(page, site, StaffRole.STORE_MANAGER)
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link")).to_have_text(["Dashboard", "Cases", "Reports", "Baskets"])
    answer = page.goto(site + "/console/members")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("alert")).to_have_text("Your role does not allow this page or action.")


def _allowed_pages(console: Console, role: StaffRole) -> list[str]:
    """The pages of `pages()` whose route admits `role`."""
    member_id = console.members[0][0]
    admits = {
        route.path: call.roles
        for route in console_routes()
        for call in [d.call for d in route.dependant.dependencies]
        if isinstance(call, Allowed)
    }
    found = []
    for path in pages(console, member_id):
        bare = path.split("?")[0]
        for template, roles in admits.items():
            if _fits(template, bare) and role in roles:
                found.append(path)
                break
    return found


def _fits(template: str, path: str) -> bool:
    wanted, given = template.split("/"), path.split("/")
    return len(wanted) == len(given) and all(
        w == g or w.startswith("{") for w, g in zip(wanted, given, strict=True)
    )


@pytest.mark.parametrize("role", list(StaffRole))
def test_every_page_passes_an_accessibility_check(
    console: Console, site: Site, page: Page, role: StaffRole
) -> None:
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: run `make install` (npm ci)")
    log_in(page, site, role)
    checked = _allowed_pages(console, role)
    assert checked, role
    for path in checked:
        page.goto(site + path)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => (await axe.run(document)).violations")
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:120]})"
            for v in found
            if v["impact"] in {"serious", "critical"}
        ]
        assert not serious, f"{path} as {role}: " + "; ".join(serious)


def test_the_keyboard_reaches_the_menu_and_the_content(site: Site, page: Page) -> None:
    log_in(page, site, StaffRole.ADMIN)
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Dashboard")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/console/members")
    expect(page.locator("#q")).to_be_focused()


def test_the_dashboard_and_the_reports_draw_their_charts(site: Site, page: Page) -> None:
    log_in(page, site, StaffRole.ANALYST)
    expect(page.locator(".plot-container .main-svg").first).to_be_visible()
    page.goto(site + "/console/reports")
    sections = page.get_by_role("navigation", name="Report sections").get_by_role("link")
    drawn = 0
    for number in range(1, sections.count() + 1):
        page.goto(site + f"/console/reports/{number}")
        drawn += page.locator(".plot-container .main-svg").count() > 0
    assert drawn >= 3  # segments, value, retention, ... each with its chart


def _axe_serious(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in {"serious", "critical"}]


def test_a_member_answers_a_survey_through_its_link_in_their_language(
    console: Console, site: Site, page: Page
) -> None:
    with console.database.sessions() as session:
        answered = select(SurveyResponse.invitation_id)
        invitation = session.scalars(
            select(SurveyInvitation)
            .join(Survey, Survey.id == SurveyInvitation.survey_id)
            .where(Survey.code == VISIT_SURVEY, SurveyInvitation.id.not_in(answered))
            .order_by(SurveyInvitation.id)
        ).first()
        assert invitation is not None
        member = session.get_one(Member, invitation.member_id)
        member.language = "en"
        invitation.expires_at = utc_now() + timedelta(days=7)
        invitation_id = invitation.id
        session.commit()
    link = Links(site.url, secret_key(console.settings)).survey(invitation_id)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("How was your visit?")
    assert not _axe_serious(page)
    page.get_by_role("group", name="How likely are you to recommend us").get_by_label("9").check()
    page.get_by_role("button", name="Send my answers").click()  # the browser holds it back
    expect(page.get_by_role("status")).to_have_count(0)
    assert page.locator("input:invalid").count() > 0  # the questions still unanswered
    for group in page.get_by_role("group").all():
        if group.locator("input[type=radio]").count() and not group.locator(":checked").count():
            group.get_by_label("7", exact=True).check()
    page.fill("textarea", "Fresh fruit, long queue")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you for your answers.")
    with console.database.sessions() as session:
        kept = session.scalars(
            select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id)
        ).one()
        assert (kept.nps, kept.overall, kept.comment) == (9, 7, "Fresh fruit, long queue")


def test_a_surveys_results_and_the_complaint_figures_draw_their_charts(
    site: Site, page: Page
) -> None:
    log_in(page, site, StaffRole.SUPPORT, f"/console/surveys/{VISIT_SURVEY}")
    expect(page.locator(".plot-container .main-svg").first).to_be_visible()
    assert not _axe_serious(page)
    page.goto(site + "/console/cases/figures?days=365")
    expect(page.locator(".plot-container .main-svg").first).to_be_visible()
    assert not _axe_serious(page)
