"""Next best offer from the coupons members were given: stored by the scoring run, read
per member, the chain-wide order for a member without a record."""

from datetime import timedelta

from sqlalchemy.orm import Session

from regulars.coupons.models import CouponStatus
from regulars.insights.offers import offers_of, store_offers
from regulars.members.models import Member
from regulars.privacy.service import erase_member
from tests.factories import NOW, give_coupons, make_coupon_template, make_member, make_model_run


def test_each_member_is_offered_what_they_redeem_and_a_stranger_what_everyone_does(
    session: Session,
) -> None:
    fresh = make_coupon_template(session, "FRESH5")
    baby = make_coupon_template(session, "BABY10")
    once = make_coupon_template(session, "ONCE", per_member_limit=1)
    gone = make_coupon_template(session, "XMAS", valid_until=NOW - timedelta(days=1))
    shoppers = [make_member(session, f"1380013{n:04d}") for n in range(30)]
    parent, cook, regular = shoppers[:3]
    stranger = make_member(session, "13900139000")
    for other in shoppers[2:]:  # 28 members: FRESH5 a third of the time, never BABY10
        give_coupons(session, other, fresh, CouponStatus.REDEEMED)
        give_coupons(session, other, fresh, CouponStatus.EXPIRED, times=2)
        give_coupons(session, other, baby, CouponStatus.EXPIRED, times=2)
        give_coupons(session, other, once, CouponStatus.REDEEMED)
        give_coupons(session, other, gone, CouponStatus.REDEEMED, times=3)
    give_coupons(session, parent, baby, CouponStatus.REDEEMED, times=10)
    give_coupons(
        session, parent, once, CouponStatus.ISSUED, valid_for_days=7
    )  # holds it, undecided
    give_coupons(session, cook, fresh, CouponStatus.REDEEMED, times=4)
    give_coupons(session, cook, baby, CouponStatus.EXPIRED, times=3)
    give_coupons(session, cook, baby, CouponStatus.VOIDED, times=5)  # voided: no answer either way
    # Still valid: redeemed early or not yet, its chance is not over, so it is not judged yet
    # (counting only the early redeemers would make a live template look irresistible).
    give_coupons(session, regular, fresh, CouponStatus.REDEEMED, times=6, valid_for_days=5)
    give_coupons(session, regular, fresh, CouponStatus.ISSUED, times=2, valid_for_days=5)

    assert (
        store_offers(session, model_run_id=make_model_run(session), now=NOW) == 28 * 2 + 2 + 3 + 3
    )

    fresh_rate, baby_rate = 32 / 88, 10 / 69  # redeemed / answered, over every member

    def offered(member: Member) -> tuple[list[tuple[str, float]], bool]:
        found, for_everyone = offers_of(session, member_id=member.id)
        return [(o.code, round(o.take_up, 6)) for o in found], for_everyone

    # Ten of ten: BABY10 first, shrunk by ten coupons' worth of the chain's rate. ONCE is
    # allowed once a member and the parent holds one; XMAS can no longer be issued.
    assert offered(parent) == (
        [("BABY10", round((10 + 10 * baby_rate) / 20, 6)), ("FRESH5", round(fresh_rate, 6))],
        False,
    )
    assert offered(cook) == (
        [("ONCE", 1.0), ("FRESH5", round((4 + 10 * fresh_rate) / 14, 6)),
         ("BABY10", round(10 * baby_rate / 13, 6))],
        False,
    )  # fmt: skip
    assert [code for code, _ in offered(regular)[0]] == ["FRESH5", "BABY10"]
    assert offered(stranger) == (
        [("ONCE", 1.0), ("FRESH5", round(fresh_rate, 6)), ("BABY10", round(baby_rate, 6))],
        True,
    )
    erase_member(session, member_id=parent.id, now=NOW)
    everyone, _ = offered(stranger)
    assert offered(parent) == ([o for o in everyone if o[0] != "ONCE"], True)  # holds ONCE
    store_offers(session, model_run_id=make_model_run(session), now=NOW)
    assert offered(parent)[1] is True  # a later run keeps no list of theirs


def test_nothing_to_offer_without_an_answered_coupon(session: Session) -> None:
    member = make_member(session, "13800138000")
    give_coupons(session, member, make_coupon_template(session, "FRESH5"), CouponStatus.VOIDED)
    assert store_offers(session, model_run_id=make_model_run(session), now=NOW) == 0
    assert offers_of(session, member_id=member.id) == ([], True)


def test_the_chain_wide_order_leaves_out_what_the_member_holds_to_the_limit(
    session: Session,
) -> None:
    fresh = make_coupon_template(session, "FRESH5")
    once = make_coupon_template(session, "ONCE", per_member_limit=1)
    shoppers = [make_member(session, f"1380013{n:04d}") for n in range(5)]
    for shopper in shoppers:
        give_coupons(session, shopper, once, CouponStatus.REDEEMED)
    give_coupons(session, shoppers[0], fresh, CouponStatus.EXPIRED)
    holder = make_member(session, "13900139000")
    give_coupons(session, holder, once, CouponStatus.ISSUED, valid_for_days=7)  # live: unjudged
    store_offers(session, model_run_id=make_model_run(session), now=NOW)

    def codes(member: Member) -> tuple[list[str], bool]:
        found, for_everyone = offers_of(session, member_id=member.id)
        return [o.code for o in found], for_everyone

    assert codes(make_member(session, "13900139001")) == (["ONCE", "FRESH5"], True)
    assert codes(holder) == (["FRESH5"], True)
    assert codes(shoppers[1]) == (["FRESH5"], False)


def test_a_coupon_is_judged_from_the_moment_it_can_no_longer_be_redeemed(
    session: Session,
) -> None:
    fresh = make_coupon_template(session, "FRESH5")
    member = make_member(session, "13800138000")
    give_coupons(session, member, fresh, CouponStatus.EXPIRED, valid_for_days=0)
    assert store_offers(session, model_run_id=make_model_run(session), now=NOW) == 2
