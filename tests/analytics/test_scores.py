"""Survey scores with their intervals, against values worked out by hand."""

from math import sqrt

import pytest

from regulars.analytics.scores import Estimate, estimates_by_group, mean_score, nps


def test_nps_of_a_small_sample_by_hand() -> None:
    # 5 promoters (9-10), 2 passives (7-8), 3 detractors (0-6) of 10
    estimate = nps([10, 10, 9, 9, 9, 8, 7, 6, 2, 0])
    half_width = 1.959963984540054 * sqrt((0.5 + 0.3 - 0.2**2) / 10)
    assert estimate.value == pytest.approx(0.2)
    assert estimate.low == pytest.approx(0.2 - half_width)
    assert estimate.high == pytest.approx(0.2 + half_width)
    assert half_width == pytest.approx(0.540325, abs=1e-6)
    assert estimate.n == 10


def test_nps_edges() -> None:
    assert nps([9]) == Estimate(1.0, None, None, 1)
    assert nps([10, 9, 10]) == Estimate(1.0, 1.0, 1.0, 3)  # no spread observed
    clipped = nps([0, 0, 0, 10], confidence=0.99)
    assert clipped.value == -0.5
    assert clipped.low == -1.0
    bad_answers: list[tuple[list[float], str]] = [
        ([11], "0 to 10"),
        ([7.5], "whole numbers"),
        ([], "empty"),
    ]
    for bad, message in bad_answers:
        with pytest.raises(ValueError, match=message):
            nps(bad)
    with pytest.raises(ValueError, match="NaN"):
        nps([9, float("nan")])


def test_mean_score_uses_a_t_interval() -> None:
    estimate = mean_score([1, 2, 3, 4, 5])
    # s = sqrt(2.5), t(0.975, 4) = 2.7764451
    half_width = 2.7764451051977987 * sqrt(2.5) / sqrt(5)
    assert (estimate.value, estimate.n) == (3.0, 5)
    assert estimate.low == pytest.approx(3 - half_width)
    assert estimate.high == pytest.approx(3 + half_width)
    assert half_width == pytest.approx(1.963243, abs=1e-6)
    assert mean_score([4]) == Estimate(4.0, None, None, 1)
    narrower = mean_score([1, 2, 3, 4, 5], confidence=0.8)
    assert narrower.low is not None
    assert narrower.low > 3 - half_width


def test_estimates_by_group_match_each_group_alone() -> None:
    stores = ["north", "south", "north", "east", "south", "north"]
    scores = [10, 3, 9, 8, 10, 6]
    by_store = estimates_by_group(stores, scores)
    assert list(by_store) == ["east", "north", "south"]
    assert by_store["north"] == nps([10, 9, 6])
    assert by_store["south"] == nps([3, 10])
    assert by_store["east"] == Estimate(0.0, None, None, 1)
    months = [("2026-02", "gold"), ("2026-01", "gold"), ("2026-02", "gold")]
    by_month = estimates_by_group(months, [4, 5, 2], estimate=mean_score)
    assert list(by_month) == [("2026-01", "gold"), ("2026-02", "gold")]
    assert by_month[("2026-02", "gold")] == mean_score([4, 2])
    with pytest.raises(ValueError, match="groups has 2 labels for 3 scores"):
        estimates_by_group(["a", "b"], [1, 2, 3])
