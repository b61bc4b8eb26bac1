"""Journeys, the calendar and the message preview in the console, in both languages."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from regulars.campaigns.models import Campaign, CampaignStatus
from regulars.campaigns.service import campaign_results
from regulars.clock import utc_now
from regulars.demo.marketing import WIN_BACK
from regulars.demo.models import DemoCampaignTruth
from regulars.i18n import Language, language
from regulars.journeys.plan import EXAMPLE
from regulars.journeys.service import run_journeys
from regulars.members.models import ConsentChannel
from regulars.staff.models import StaffRole
from tests.console.conftest import Console, form_fields, untranslated

JOURNEY = """
name = "birthday treat"
trigger = "birthday"
control_share = 0.2
[[steps]]
do = "send"
channel = "sms"
body = "{name}，生日快乐！"
[[steps]]
do = "wait"
days = 7
[[steps]]
do = "branch"
when = "bought"
then = "end"
[[steps]]
do = "points"
points = 20
"""


def _in_chinese(console: Console, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.get("/console")
    browser.post(
        "/console/account/language",
        data={**form_fields(page, "/console/account/language"), "lang": "zh-CN"},
    )


def test_marketing_writes_a_journey_and_reads_what_each_step_did(
    console: Console, spoken: list[Language]
) -> None:
    with console.client(StaffRole.MARKETING) as marketing:
        page = marketing.get("/console/journeys")
        fields = form_fields(page, "/console/journeys")
        broken = JOURNEY.replace("days = 7", "days = 0")
        refused = marketing.post("/console/journeys", data={**fields, "definition": broken})
        assert refused.status_code == 422
        assert 'id="definition-error"' in refused.text
        assert "steps.1.wait.days" in refused.text
        assert "days = 0" in refused.text  # what was typed is kept
        made = marketing.post("/console/journeys", data={**fields, "definition": JOURNEY})
        assert made.headers["location"] == "/console/journeys/birthday%20treat"
        with console.database.sessions() as session:
            runs = run_journeys(session, now=utc_now(), weekly_cap=9, links=None)
            session.commit()
        [run] = [r for r in runs if r.journey == "birthday treat"]
        assert run.entered > run.held_back > 0  # some of the 300 are born this month
        _in_chinese(console, marketing)
        shown = marketing.get("/console/journeys/birthday treat")
        assert shown.status_code == 200
        chinese = language("zh-CN")
        for result, count in run.steps.items():  # sent, no consent, waiting
            assert f"{chinese.told(result)} {count}" in shown.text
        paused = marketing.post(
            "/console/journeys/birthday treat/pause",
            data=form_fields(shown, "/console/journeys/birthday treat/pause"),
        )
        assert paused.status_code == 303
        assert "已暂停" in marketing.get("/console/journeys").text
    assert not untranslated(spoken)


def test_the_calendar_shows_holidays_and_campaigns_sent_and_due(
    console: Console, spoken: list[Language]
) -> None:
    due = utc_now() + timedelta(days=3)
    with console.client(StaffRole.MARKETING) as marketing:
        page = marketing.get("/console/calendar")
        fields = form_fields(page, "/console/calendar/holidays")
        wrong = marketing.post(
            "/console/calendar/holidays", data={**fields, "name": "Double 11", "day": "11/11"}
        )
        assert wrong.status_code == 422
        assert 'id="day-error"' in wrong.text
        added = marketing.post(
            "/console/calendar/holidays",
            data={**fields, "name": "Store anniversary", "day": f"{due.year}-11-11"},
        )
        assert added.headers["location"] == f"/console/calendar?month={due.year}-11"
        november = marketing.get(f"/console/calendar?month={due.year}-11")
        assert "Store anniversary" in november.text
        removed = marketing.post(
            "/console/calendar/holidays/remove",
            data={**form_fields(november, "/console/calendar/holidays/remove"),
                  "name": "Store anniversary", "day": f"{due.year}-11-11"},
        )  # fmt: skip
        assert removed.status_code == 303
        assert (
            "Store anniversary" not in marketing.get(f"/console/calendar?month={due.year}-11").text
        )
        with console.database.sessions() as session:
            session.add(
                Campaign(
                    name="weekend", audience="everyone", channel=ConsentChannel.SMS,
                    body="hi", control_share=Decimal(0), window_days=14,
                    status=CampaignStatus.DRAFT, created_at=utc_now(), created_by="t",
                    scheduled_for=due,
                )
            )  # fmt: skip
            session.commit()
        _in_chinese(console, marketing)
        month = marketing.get(f"/console/calendar?month={due:%Y-%m}").text
        assert 'href="/console/campaigns/weekend"' in month
        assert "活动待发送" in month
    assert not untranslated(spoken)


def test_a_message_is_previewed_for_a_real_member_before_the_campaign_exists(
    console: Console,
) -> None:
    _, card = console.member()
    with console.client(StaffRole.MARKETING) as marketing:
        page = marketing.get("/console/campaigns")
        token = {"X-CSRF-Token": form_fields(page, "/console/campaigns")["csrf"]}
        draft = {"body": "{name}: {points} points, {coupon_code}", "preview_card": card}
        shown = marketing.post("/console/campaigns/preview", data=draft, headers=token)
        assert shown.status_code == 200
        assert "points, [coupon_code]" in shown.text
        assert "{name}" not in shown.text
        unknown = marketing.post(
            "/console/campaigns/preview", data=draft | {"preview_card": "0"}, headers=token
        )
        assert 'class="error"' in unknown.text


def test_the_demo_campaign_measures_the_uplift_the_demo_hid(console: Console) -> None:
    with console.database.sessions() as session:
        truth = session.scalars(select(DemoCampaignTruth)).one()
        found = campaign_results(session, name=WIN_BACK, now=utc_now(), gross_margin=Decimal("0.2"))
    # A fixed chain is one draw: the truth must lie within 3.29 standard errors (the 99.9%
    # interval) of the measure, or the measure is biased.
    error = (found.conversion.high - found.conversion.low) / (2 * 1.96)
    assert abs(found.conversion.value - truth.uplift) <= 3.29 * error
    assert found.messages["opened"] > found.messages["clicked"] > 0
    with console.client(StaffRole.ANALYST) as analyst:
        page = analyst.get(f"/console/campaigns/{WIN_BACK}")
    assert "Conversion:" in page.text


def test_a_journey_is_previewed_for_a_real_member_before_it_is_saved(console: Console) -> None:
    _, card = console.member()
    with console.client(StaffRole.MARKETING) as marketing:
        page = marketing.get("/console/journeys")
        token = {"X-CSRF-Token": form_fields(page, "/console/journeys")["csrf"]}
        asked = {"definition": EXAMPLE, "preview_card": card}
        shown = marketing.post("/console/journeys/preview", data=asked, headers=token)
        assert shown.status_code == 200
        assert "[expiring_points]" in shown.text  # only the run knows the figures
        assert "Step 1" in shown.text
        broken = asked | {"definition": EXAMPLE.replace("{expiry_date}", "{lapse_day}")}
        refused = marketing.post("/console/journeys/preview", data=broken, headers=token)
        assert 'class="error"' in refused.text
        assert "{lapse_day}" in refused.text
