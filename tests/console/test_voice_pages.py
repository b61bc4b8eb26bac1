"""Surveys and the case page's category and closed loop in the console, in both languages."""

import os
import re
import time

from sqlalchemy import func, select

from regulars.cases.models import Case
from regulars.catalog.models import Category, Product, Store
from regulars.console import baskets
from regulars.coupons.models import CouponTemplate
from regulars.demo.voice import CASE_SURVEY, VISIT_SURVEY
from regulars.i18n import Language
from regulars.insights.models import OfferRecommendation, Recommendation
from regulars.staff.models import StaffRole
from regulars.surveys.models import SurveyResponse
from tests.console.conftest import Console, form_fields, untranslated
from tests.console.test_marketing_pages import _in_chinese


def test_marketing_builds_a_survey_and_reads_its_results(
    console: Console, spoken: list[Language]
) -> None:
    with console.client(StaffRole.MARKETING) as marketing:
        _in_chinese(console, marketing)
        page = marketing.get("/console/surveys")
        assert page.status_code == 200
        assert VISIT_SURVEY in page.text
        fields = form_fields(page, "/console/surveys")
        survey = {
            **fields, "code": "store-visit", "title": "门店体验", "title_en": "Store visit",
            "questions": ["nps", "rating:parking"], "trigger": "audience", "points": "5",
            "sample_percent": "150", "cap_days": "30", "valid_days": "7",
        }  # fmt: skip
        refused = marketing.post("/console/surveys", data=survey)
        assert refused.status_code == 422
        assert 'id="sample_percent-error"' in refused.text
        assert 'value="store-visit"' in refused.text  # what was typed is kept
        made = marketing.post("/console/surveys", data=survey | {"sample_percent": "10"})
        assert made.status_code == 303, made.text
        assert made.headers["location"] == "/console/surveys/store-visit"
        results = marketing.get(f"/console/surveys/{VISIT_SURVEY}")
        assert "plotly" in results.text  # the drivers chart
        assert "In the members' own words" not in results.text  # comments are personal
        assert "成员的原话" not in results.text
    assert untranslated(spoken) == set()


def test_an_agent_reads_the_comments_and_a_case_shows_how_its_handling_was_rated(
    console: Console, spoken: list[Language]
) -> None:
    with console.database.sessions() as session:
        rated = session.scalars(
            select(SurveyResponse.case_id).where(SurveyResponse.case_id.is_not(None))
        ).first()
        commented = session.scalar(select(func.count()).where(SurveyResponse.comment != ""))
    assert rated is not None
    with console.client(StaffRole.SUPPORT) as support:
        _in_chinese(console, support)
        results = support.get(f"/console/surveys/{VISIT_SURVEY}")
        assert results.status_code == 200
        assert ("会员原话" in results.text) == bool(commented)
        case = support.get(f"/console/cases/{rated}")
        assert "会员对处理的评价" in case.text
        assert support.get(f"/console/surveys/{CASE_SURVEY}").status_code == 200
    assert untranslated(spoken) == set()


def test_an_agent_confirms_a_suggested_category(console: Console) -> None:
    with console.database.sessions() as session:
        case_id = session.scalars(select(Case.id).order_by(Case.id.desc())).first()
        session.get_one(Case, case_id).category_confirmed = False
        session.commit()
    with console.client(StaffRole.SUPPORT) as support:
        page = support.get(f"/console/cases/{case_id}")
        assert "suggested, not yet confirmed" in page.text
        fields = form_fields(page, f"/console/cases/{case_id}/category")
        done = support.post(
            f"/console/cases/{case_id}/category", data=fields | {"category": "delivery"}
        )
        assert done.status_code == 303
        assert "suggested, not yet confirmed" not in support.get(done.headers["location"]).text
    with console.database.sessions() as session:
        case = session.get_one(Case, case_id)
        assert (case.category, case.category_confirmed) == ("delivery", True)


def test_the_complaint_figures_count_the_cases_a_store_manager_sees_their_own(
    console: Console, spoken: list[Language]
) -> None:
    with console.client(StaffRole.SUPPORT) as support:
        _in_chinese(console, support)
        whole = support.get("/console/cases/figures?days=365")
        assert whole.status_code == 200
    with console.client(StaffRole.STORE_MANAGER) as manager:
        own = manager.get("/console/cases/figures?days=365")
        assert own.status_code == 200
    with console.database.sessions() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        store_cases = session.scalar(
            select(func.count()).where(Case.store_id == Store.id, Store.code == "S001")
        )
    assert f"<dt>投诉工单</dt><dd>{cases:,}</dd>" in whole.text
    assert f"<dd>{store_cases:,}</dd>" in own.text
    assert untranslated(spoken) == set()


def test_text_no_database_stores_is_refused_by_every_form_and_search(console: Console) -> None:
    with console.client(StaffRole.MARKETING) as marketing:
        page = marketing.get("/console/surveys")
        made = marketing.post(
            "/console/surveys",
            data={**form_fields(page, "/console/surveys"), "code": "nul\x00", "title": "t",
                  "title_en": "t", "questions": ["nps"]},
        )  # fmt: skip
        assert made.status_code == 422
        assert "NUL" in made.text
    with console.client(StaffRole.SUPPORT) as support:
        found = support.get("/console/members", params={"q": "138\x00"})
        assert found.status_code == 422


def test_the_scoring_run_left_each_member_their_recommendations(console: Console) -> None:
    member_id, _ = console.member()
    with console.database.sessions() as session:
        listed = session.execute(
            select(Recommendation.member_id, Product.excluded_from_promotions).join(
                Product, Product.id == Recommendation.product_id
            )
        ).all()
    assert {m for m, _ in listed if m is not None}  # members with their own lists
    assert any(m is None for m, _ in listed)  # and the popular one
    assert not any(excluded for _, excluded in listed)  # never tobacco or infant formula
    own = {m for m, _ in listed}
    with console.client(StaffRole.SUPPORT) as support:
        page = support.get(f"/console/members/{member_id}")
        assert page.status_code == 200
        said_popular = "the chain's popular products" in page.text
        assert said_popular == (member_id not in own)


def test_the_scoring_run_left_members_the_coupons_they_are_likeliest_to_redeem(
    console: Console,
) -> None:
    with console.database.sessions() as session:
        offered = session.execute(
            select(OfferRecommendation.member_id, CouponTemplate.code, OfferRecommendation.take_up)
            .join(CouponTemplate, CouponTemplate.id == OfferRecommendation.template_id)
            .order_by(OfferRecommendation.member_id, OfferRecommendation.rank)
        ).all()
    assert any(m is None for m, _, _ in offered)  # the chain-wide order
    member_id, best, _ = next(row for row in offered if row[0] is not None)
    assert all(0.0 <= rate <= 1.0 for _, _, rate in offered)
    with console.client(StaffRole.SUPPORT) as support:
        page = support.get(f"/console/members/{member_id}")
        assert page.status_code == 200
        assert best in page.text


def test_the_member_360_names_the_promotions_running_on_their_products(
    console: Console,
) -> None:
    with console.database.sessions() as session:
        egg_lovers = session.scalars(
            select(Recommendation.member_id)
            .join(Product, Product.id == Recommendation.product_id)
            .join(Category, Category.id == Product.category_id)
            .where(Category.code == "EGGS", Recommendation.member_id.is_not(None))
        ).all()
    assert egg_lovers
    with console.client(StaffRole.SUPPORT) as support:
        page = support.get(f"/console/members/{egg_lovers[0]}")
        assert page.status_code == 200
        assert "EGGS-2ND" in page.text  # the program's second box of eggs offer
        assert "MJ-200-30" not in page.text  # spend-and-save is for everyone alike


def test_the_baskets_page_says_in_chinese_why_it_refuses(
    console: Console, spoken: list[Language]
) -> None:
    with console.client(StaffRole.STORE_MANAGER) as manager:
        _in_chinese(console, manager)
        for asked in (
            "min_support=2", "min_support=abc", "hours=25-30", "region=Atlantis",
            "category=NOPE", "min_support=0.000000001",
        ):  # fmt: skip
            page = manager.get(f"/console/baskets?{asked}")
            assert page.status_code == 200, asked
            assert 'class="error"' in page.text, asked
    assert untranslated(spoken) == set()


def _baskets_mined(page: str) -> int:
    found = re.search(r"(?:from |来自)([\d,]+) ?(?:baskets|个购物篮)", page)
    assert found, page
    return int(found.group(1).replace(",", ""))


def test_a_category_manager_sees_what_sells_together_and_a_bad_threshold_says_why(
    console: Console,
) -> None:
    with console.client(StaffRole.STORE_MANAGER) as manager:
        page = manager.get("/console/baskets?min_support=0.01&min_confidence=0.1")
        assert page.status_code == 200
        assert "thresholds met exactly" in page.text or "阈值" in page.text
        assert " → " in page.text  # at least one rule
        typed = manager.get(
            "/console/baskets?min_support=0.01&min_confidence=0.1&shopper=price_sensitive"
        )
        assert typed.status_code == 200
        assert 'value="price_sensitive" selected' in typed.text
        assert 0 < _baskets_mined(typed.text) < _baskets_mined(page.text)
        dairy = manager.get(
            "/console/baskets?min_support=0.01&min_confidence=0.1&category=FRESH.DAIRY_AND_EGGS"
        )
        assert 'value="FRESH.DAIRY_AND_EGGS" selected' in dairy.text
        assert 0 < _baskets_mined(dairy.text) < _baskets_mined(page.text)
        bad = manager.get("/console/baskets?min_support=2")
        assert bad.status_code == 200
        assert 'role="alert"' in bad.text


def test_the_baskets_page_mines_again_only_after_the_warehouse_is_synced(
    console: Console,
) -> None:
    asked = "/console/baskets?min_support=0.02&min_confidence=0.3&days=60"
    state = console.settings.warehouse_dir / "_state.json"
    with console.client(StaffRole.ANALYST) as analyst:
        first = analyst.get(asked)
        mined = baskets._mined.cache_info().misses
        again = analyst.get(asked)
        assert baskets._mined.cache_info().misses == mined  # kept, not mined again
        assert again.text.count(" → ") == first.text.count(" → ") > 0
        state.write_text(state.read_text())  # what a sync leaves behind
        os.utime(state, ns=(time.time_ns(), time.time_ns() + 10**9))
        analyst.get(asked)
        assert baskets._mined.cache_info().misses == mined + 1
