from decimal import Decimal

from regulars.coupons import codes
from regulars.coupons.models import CouponKind
from regulars.coupons.rules import PresentedCoupon, apply_coupons
from tests.promotions.test_rules import line


def coupon(code: str = "C1", template: str = "T", **terms: object) -> PresentedCoupon:
    return PresentedCoupon(
        code=code,
        template=template,
        name=template,  # type: ignore[arg-type]
        **{"kind": CouponKind.AMOUNT_OFF, "amount": Decimal(10), **terms},
    )


def test_codes_have_64_random_bits_and_a_check_that_catches_typos_and_swaps() -> None:
    code = codes.new_code()
    assert len(code) == 14
    assert codes.is_well_formed(code)
    assert not set(code) & set("01OIL")
    for i in range(13):
        wrong = code[:i] + ("A" if code[i] != "A" else "B") + code[i + 1 :]
        assert not codes.is_well_formed(wrong)
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        assert swapped == code or not codes.is_well_formed(swapped)
    assert codes.normalise(code[:4].lower() + "-" + code[4:]) == code
    assert len({codes.new_code() for _ in range(1000)}) == 1000


def test_amount_off_respects_minimum_spend_and_excluded_goods() -> None:
    lines = [line(1, "FORMULA", "268.00", excluded=True), line(2, "A", "30.00")]
    applied, rejected = apply_coupons([coupon(min_spend=Decimal(50))], lines, "S001")
    assert applied == []
    assert rejected[0].reason == "coupon_below_min_spend"
    applied, _ = apply_coupons([coupon(min_spend=Decimal(20))], lines, "S001")
    assert [x.discount for x in lines] == [Decimal(0), Decimal(10)]
    assert applied[0].discount == Decimal(10)


def test_percent_off_is_capped_and_free_items_must_be_in_the_cart() -> None:
    lines = [line(1, "A", "200.00")]
    apply_coupons(
        [coupon(kind=CouponKind.PERCENT_OFF, percent=Decimal(20), max_discount=Decimal(25))],
        lines,
        "S001",
    )
    assert lines[0].discount == Decimal(25)
    lines = [line(1, "A", "20.00"), line(2, "EGGS", "15.80", "2")]
    applied, _ = apply_coupons([coupon(kind=CouponKind.FREE_ITEM, free_sku="EGGS")], lines, "S001")
    assert applied[0].discount == Decimal("15.80")
    _, rejected = apply_coupons(
        [coupon(kind=CouponKind.FREE_ITEM, free_sku="MILK")], [line(1, "A", "20.00")], "S001"
    )
    assert rejected[0].reason == "coupon_free_item_missing"


def test_one_coupon_per_template_stores_and_problems_found_earlier() -> None:
    lines = [line(1, "A", "100.00")]
    applied, rejected = apply_coupons(
        [
            coupon("C1"),
            coupon("C2"),
            coupon("C3", template="U", stores=("S009",)),
            coupon("C4", template="V", problem=("coupon_redeemed", "already used")),
        ],
        lines,
        "S001",
    )
    assert [a.code for a in applied] == ["C1"]
    assert [(r.code, r.reason) for r in rejected] == [
        ("C2", "coupon_template_repeated"),
        ("C3", "coupon_not_for_store"),
        ("C4", "coupon_redeemed"),
    ]


def test_a_line_taken_by_an_exclusive_offer_takes_no_coupon() -> None:
    lines = [line(1, "A", "100.00"), line(2, "B", "100.00")]
    lines[0].locked = True
    applied, _ = apply_coupons([coupon(amount=Decimal(20))], lines, "S001")
    assert [x.discount for x in lines] == [Decimal(0), Decimal(20)]
    assert applied[0].lines == {2: Decimal(20)}
