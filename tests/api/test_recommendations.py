"""A member's recommendations over HTTP, from the stored lists."""

from sqlalchemy import select

from regulars.catalog.models import Product
from regulars.coupons.models import CouponStatus
from regulars.insights.offers import store_offers
from regulars.insights.recommendations import Recommended, store_recommendations
from regulars.members.models import Member
from regulars.program.service import apply_program
from tests.api.conftest import Api
from tests.factories import (
    NOW,
    PROGRAM,
    give_coupons,
    make_coupon_template,
    make_model_run,
)


def test_the_app_shows_the_members_list_or_the_popular_one(api: Api) -> None:
    with api.database.sessions() as session:
        found = session.execute(select(Product.sku, Product.id))
        ids = {sku: pid for sku, pid in found}  # noqa: C416  (a Result has keys(): not a dict)
        run_id = make_model_run(session)
        lists = [
            Recommended(api.member_id, 1, ids["RICE"], "buy_again", 0.8),
            Recommended(None, 1, ids["EGGS"], "popular", 50),
        ]
        store_recommendations(session, lists=lists, model_run_id=run_id)
        session.commit()
    own = api.client.get(f"/v1/members/{api.member_id}/recommendations", headers=api.as_("member"))
    assert own.status_code == 200, own.text
    assert own.json()["popular_instead"] is False
    assert [(p["sku"], p["reason"]) for p in own.json()["products"]] == [("RICE", "buy_again")]
    other = api.client.get(
        f"/v1/members/{api.other_member_id}/recommendations", headers=api.as_("support")
    )
    assert other.json()["popular_instead"] is True
    assert [p["sku"] for p in other.json()["products"]] == ["EGGS"]
    refused = api.client.get(
        f"/v1/members/{api.member_id}/recommendations?limit=0", headers=api.as_("member")
    )
    assert refused.status_code == 422


def test_the_app_shows_the_coupons_a_member_is_likeliest_to_redeem(api: Api) -> None:
    with api.database.sessions() as session:
        member = session.get(Member, api.member_id)
        assert member is not None
        fresh = make_coupon_template(session, "FRESH5")
        treat = make_coupon_template(session, "TREAT")
        give_coupons(session, member, fresh, CouponStatus.EXPIRED, times=3)
        give_coupons(session, member, treat, CouponStatus.REDEEMED, times=3)
        run_id = make_model_run(session)
        store_offers(session, model_run_id=run_id, now=NOW)
        session.commit()
    own = api.client.get(f"/v1/members/{api.member_id}/recommendations", headers=api.as_("member"))
    assert own.status_code == 200, own.text
    assert own.json()["offers_for_everyone"] is False
    assert [(o["code"], o["take_up"]) for o in own.json()["offers"]] == [
        ("TREAT", 1.0),
        ("FRESH5", 0.0),
    ]
    other = api.client.get(
        f"/v1/members/{api.other_member_id}/recommendations", headers=api.as_("support")
    )
    assert other.json()["offers_for_everyone"] is True
    assert [o["code"] for o in other.json()["offers"]] == ["TREAT", "FRESH5"]


RUNNING = """
[[promotions]]
code = "RICE5"
name = "rice 5% off"
kind = "percent_off"
skus = ["RICE"]
percent = 5

[[promotions]]
code = "GROCERYDAY"
name = "grocery Wednesdays"
kind = "amount_off"
categories = ["GROCERY"]
save = 2
weekdays = ["wednesday"]
priority = 50

[[promotions]]
code = "SILVER"
name = "silver rice"
kind = "percent_off"
skus = ["RICE"]
percent = 10
tiers = ["silver"]

[[promotions]]
code = "OVER"
name = "last year's rice"
kind = "percent_off"
skus = ["RICE"]
percent = 10
starts = 2020-01-01T00:00:00
ends = 2020-02-01T00:00:00

[[promotions]]
code = "ELSEWHERE"
name = "rice at the other store"
kind = "percent_off"
skus = ["RICE"]
percent = 10
stores = ["S002"]

[[promotions]]
code = "MJ100"
name = "spend 100 save 10"
kind = "spend_save"
threshold = 100
save = 10
"""


def test_the_app_shows_the_promotions_on_the_members_products_they_may_use(api: Api) -> None:
    with api.database.sessions() as session:
        apply_program(session, text=PROGRAM.format(pending_days=0) + RUNNING, now=NOW,
                      actor="test")  # fmt: skip
        found = session.execute(select(Product.sku, Product.id))
        ids = {sku: pid for sku, pid in found}  # noqa: C416  (a Result has keys(): not a dict)
        lists = [
            Recommended(api.member_id, 1, ids["EGGS"], "buy_again", 0.9),
            Recommended(api.member_id, 2, ids["RICE"], "buy_again", 0.8),
        ]
        store_recommendations(session, lists=lists, model_run_id=make_model_run(session))
        session.commit()
    own = api.client.get(f"/v1/members/{api.member_id}/recommendations", headers=api.as_("member"))
    assert own.status_code == 200, own.text
    # Grocery day is on eggs, the first product, and runs on Wednesdays only; rice 5% off
    # is on the second. Not the silver members' offer, one that ended, one for another
    # store, nor spend-and-save, which is on everything for everyone.
    assert [(p["code"], p["skus"], p["weekdays"]) for p in own.json()["promotions"]] == [
        ("GROCERYDAY", ["EGGS", "RICE"], ["wednesday"]),
        ("RICE5", ["RICE"], []),
    ]
