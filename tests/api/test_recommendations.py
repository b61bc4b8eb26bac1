"""A member's recommendations over HTTP, from the stored lists."""

from sqlalchemy import select

from regulars.catalog.models import Product
from regulars.coupons.models import CouponStatus
from regulars.insights.offers import store_offers
from regulars.insights.recommendations import Recommended, store_recommendations
from regulars.members.models import Member
from tests.api.conftest import Api
from tests.factories import NOW, give_coupons, make_coupon_template, make_model_run


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
