from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from regulars.sales import rules


def test_line_amount_rounds_weighed_goods_half_up_to_the_cent() -> None:
    # 0.455 kg at 12.90/kg = 5.8695 → 5.87
    assert rules.line_amount(Decimal("0.455"), Decimal("12.90"), Decimal("0")) == Decimal("5.87")
    assert rules.line_amount(Decimal("3"), Decimal("4.50"), Decimal("1.00")) == Decimal("12.50")


def test_refunds_in_steps_add_up_to_exactly_what_was_paid() -> None:
    paid, quantity = Decimal("10.00"), Decimal("3")
    done_qty, done_amount = Decimal("0"), Decimal("0")
    parts = []
    for _ in range(3):
        part = rules.refund_amount(
            line_quantity=quantity,
            line_amount=paid,
            refunded_quantity=done_qty,
            refunded_amount=done_amount,
            quantity=Decimal("1"),
        )
        parts.append(part)
        done_qty += 1
        done_amount += part
    assert parts == [Decimal("3.33"), Decimal("3.34"), Decimal("3.33")]
    assert sum(parts) == paid


def test_fingerprint_ignores_key_order_but_not_content() -> None:
    assert rules.fingerprint({"a": 1, "b": 2}) == rules.fingerprint({"b": 2, "a": 1})
    assert rules.fingerprint({"a": 1}) != rules.fingerprint({"a": 2})


@given(
    cents=st.integers(0, 10**6),
    steps=st.lists(st.integers(1, 5), min_size=1, max_size=8),
)
def test_refund_steps_are_never_negative_and_add_up_to_at_most_the_line(
    cents: int, steps: list[int]
) -> None:
    paid, quantity = Decimal(cents).scaleb(-2), Decimal(sum(steps))
    done_qty, done_amount = Decimal(0), Decimal(0)
    for step in steps:
        part = rules.refund_amount(
            line_quantity=quantity,
            line_amount=paid,
            refunded_quantity=done_qty,
            refunded_amount=done_amount,
            quantity=Decimal(step),
        )
        assert part >= 0
        done_qty += step
        done_amount += part
        assert done_amount <= paid
    assert done_amount == paid


def test_tiny_lines_refunded_unit_by_unit_never_go_negative() -> None:
    parts, done = [], Decimal(0)
    for n in range(4):
        part = rules.refund_amount(
            line_quantity=Decimal(4),
            line_amount=Decimal("0.02"),
            refunded_quantity=Decimal(n),
            refunded_amount=done,
            quantity=Decimal(1),
        )
        parts.append(part)
        done += part
    assert parts == [Decimal("0.01"), Decimal("0.00"), Decimal("0.01"), Decimal("0.00")]
