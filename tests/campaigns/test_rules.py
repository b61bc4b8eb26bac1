import math
from decimal import Decimal

import numpy as np
import pytest

from regulars.campaigns.rules import (
    check_template,
    difference_in_means,
    difference_in_rates,
    in_control,
    render,
    smallest_detectable_lift,
)
from regulars.errors import InvalidInput


def test_the_control_group_is_the_chosen_share_and_the_same_every_time() -> None:
    held = [in_control(7, member, Decimal("0.2")) for member in range(50_000)]
    assert sum(held) / len(held) == pytest.approx(0.2, abs=0.01)
    assert held == [in_control(7, member, Decimal("0.2")) for member in range(50_000)]
    other = [in_control(8, member, Decimal("0.2")) for member in range(50_000)]
    both = sum(a and b for a, b in zip(held, other, strict=True)) / len(held)
    assert both == pytest.approx(0.04, abs=0.005)  # campaigns draw independently
    assert not any(in_control(7, member, Decimal(0)) for member in range(1000))


def test_a_message_may_use_only_the_values_there_are() -> None:
    check_template("{name}, {points} points expire soon", field="body")
    with pytest.raises(InvalidInput, match=r"uses \{balance\}") as refused:
        check_template("{name}, your {balance} points", field="body")
    assert refused.value.field == "body"
    with pytest.raises(InvalidInput, match="not a template"):
        check_template("50% off {", field="body")
    assert render("{name}: {points}", {"name": "Li", "points": 300}) == "Li: 300"


def test_the_interval_of_a_difference_in_rates_covers_the_truth_95_times_in_100() -> None:
    rng = np.random.default_rng(1)
    covered, false_alarms = 0, 0
    for _ in range(2000):
        treated, control = rng.binomial(1500, 0.25), rng.binomial(500, 0.20)
        found = difference_in_rates(int(treated), 1500, int(control), 500)
        covered += found.low <= 0.05 <= found.high
        same = difference_in_rates(int(rng.binomial(1500, 0.2)), 1500, int(control), 500)
        false_alarms += same.significant
    assert covered / 2000 == pytest.approx(0.95, abs=0.015)
    assert false_alarms / 2000 == pytest.approx(0.05, abs=0.015)


def test_the_difference_in_means_is_welchs() -> None:
    treated, control = [0.0, 10.0, 20.0, 30.0], [0.0, 0.0, 10.0]
    found = difference_in_means(treated, control)
    error = math.sqrt(np.var(treated, ddof=1) / 4 + np.var(control, ddof=1) / 3)
    assert found.value == pytest.approx(15 - 10 / 3)
    assert found.high - found.value == pytest.approx(1.959964 * error, rel=1e-5)
    assert math.isnan(difference_in_means([1.0], control).value)


def test_a_lift_of_the_smallest_detectable_size_is_found_four_times_in_five() -> None:
    rng = np.random.default_rng(2)
    lift = smallest_detectable_lift(4000, 1000, 0.10)
    found = sum(
        difference_in_rates(
            int(rng.binomial(4000, 0.10 + lift)), 4000, int(rng.binomial(1000, 0.10)), 1000
        ).significant
        for _ in range(2000)
    )
    assert found / 2000 == pytest.approx(0.80, abs=0.03)
    assert smallest_detectable_lift(4000, 0, 0.1) == math.inf
    assert 0 < smallest_detectable_lift(1000, 1000, 0.0) < 0.01  # nobody bought yet
