"""Basket analysis: exact counts and thresholds, metrics by hand, agreement with brute force."""

import json
import math
from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.stats import fisher_exact, hypergeom
from typer.testing import CliRunner

from regulars.analytics.baskets.basket import Baskets
from regulars.analytics.baskets.findings import (
    compare_periods,
    item_categories,
    strongest_cross_category_pairs,
)
from regulars.analytics.baskets.mining import frequent_itemsets
from regulars.analytics.baskets.readers import (
    BasketFilter,
    Level,
    read_basket_file,
    read_long_baskets,
    warehouse_baskets,
)
from regulars.analytics.baskets.rules import (
    Rules,
    association_rules,
    benjamini_hochberg,
    fisher_greater,
    holm,
)
from regulars.analytics.warehouse import open_warehouse
from regulars.cli import app
from regulars.demo.assortment import COMPLEMENTS
from regulars.errors import RegularsError
from tests.analytics.conftest import SHARED_DATA, DemoWarehouse

GROCERIES = SHARED_DATA / "groceries.csv"

# Five receipts; counts by hand: bread 3, milk 3, eggs 3, bread+milk 2, milk+eggs 2,
# bread+eggs 1, all three 1.
SHOP = [["bread", "milk"], ["bread", "milk", "eggs"], ["bread"], ["milk", "eggs"], ["eggs"]]

RuleKey = tuple[tuple[str, ...], tuple[str, ...]]


def rule_keys(rules: object) -> dict[RuleKey, int]:

    assert isinstance(rules, Rules)
    return {
        (tuple(sorted(rules.antecedent(i))), tuple(sorted(rules.consequent(i)))): int(count)
        for i, count in enumerate(rules.count)
    }


def itemset_table(baskets: Baskets, support: str) -> dict[tuple[str, ...], int]:
    found = frequent_itemsets(baskets, support)
    names = found.item_names
    return {
        tuple(sorted(names[i] for i in row)): int(count)
        for rows, counts in zip(found.levels, found.counts, strict=True)
        for row, count in zip(rows, counts, strict=True)
    }


def brute_force(
    baskets: Sequence[Sequence[str]], support: Fraction, confidence: Fraction
) -> tuple[dict[tuple[str, ...], int], dict[RuleKey, int]]:
    """Every subset of every basket counted one by one, and every split of the frequent ones."""
    sets = [frozenset(b) for b in baskets]
    items = sorted(set().union(*sets))
    n = len(sets)
    frequent: dict[tuple[str, ...], int] = {}
    for size in range(1, len(items) + 1):
        for candidate in combinations(items, size):
            count = sum(1 for s in sets if s.issuperset(candidate))
            if count * support.denominator >= support.numerator * n:
                frequent[candidate] = count
    rules: dict[RuleKey, int] = {}
    for itemset, count in frequent.items():
        for left in range(1, len(itemset)):
            for antecedent in combinations(itemset, left):
                consequent = tuple(i for i in itemset if i not in antecedent)
                if count * confidence.denominator >= confidence.numerator * frequent[antecedent]:
                    rules[(antecedent, consequent)] = count
    return frequent, rules


def test_groceries_has_5829_rules_482_exactly_at_the_threshold() -> None:
    baskets = read_basket_file(GROCERIES)
    assert len(baskets) == 9835
    itemsets = frequent_itemsets(baskets, "0.001")
    rules = association_rules(itemsets, "0.5")
    assert len(itemsets) == 13492
    assert len(rules) == 5829
    assert int(rules.at_threshold().sum()) == 482
    assert rules.count.min() >= 10  # 0.001 of 9,835 baskets is 9.835: ten or more


def test_the_command_says_how_many_rules_sit_exactly_on_the_threshold(tmp_path: Path) -> None:
    args = ["analyze", "baskets", "--baskets", str(GROCERIES), "--min-support", "0.001"]
    result = CliRunner().invoke(app, [*args, "--min-confidence", "0.5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "5,829 rules (482 exactly at confidence 0.5) from 9,835 baskets" in result.output


def test_groceries_rules_a_float_confidence_loses_at_one_fifth_are_kept() -> None:
    rules = association_rules(frequent_itemsets(read_basket_file(GROCERIES), "0.001"), "0.2")
    assert len(rules) == 25022
    n = rules.baskets
    # mlxtend 0.25's confidence: both supports multiplied back by N, then divided.
    rescaled = (rules.count / n * n) / (rules.antecedent_count / n * n)
    lost = rescaled < 0.2
    assert int(lost.sum()) == 5
    assert (rules.count[lost] * 5 == rules.antecedent_count[lost]).all()  # exactly 1/5


def test_tiny_shop_counts_and_metrics_by_hand() -> None:
    baskets = Baskets.from_lists(SHOP)
    assert itemset_table(baskets, "0.4") == {
        ("bread",): 3,
        ("eggs",): 3,
        ("milk",): 3,
        ("bread", "milk"): 2,
        ("eggs", "milk"): 2,
    }
    rules = association_rules(frequent_itemsets(baskets, "0.4"), "0.6")
    assert set(rule_keys(rules)) == {
        (("bread",), ("milk",)),
        (("milk",), ("bread",)),
        (("eggs",), ("milk",)),
        (("milk",), ("eggs",)),
    }
    i = list(rule_keys(rules)).index((("bread",), ("milk",)))
    assert rules.support[i] == pytest.approx(2 / 5)
    assert rules.confidence[i] == pytest.approx(2 / 3)
    assert rules.lift[i] == pytest.approx(10 / 9)  # 2 * 5 / (3 * 3)
    assert rules.leverage[i] == pytest.approx(2 / 5 - 9 / 25)
    assert rules.conviction[i] == pytest.approx((1 - 3 / 5) / (1 - 2 / 3))
    # P(X >= 2), X hypergeometric: 5 baskets, 3 with bread, 3 drawn (milk): (6 + 1) / 10.
    assert rules.p_value[i] == pytest.approx(0.7)
    assert len(association_rules(frequent_itemsets(baskets, "0.4"), "0.7")) == 0


def test_a_rule_that_never_fails_has_infinite_conviction() -> None:
    baskets = Baskets.from_lists([["tea", "biscuits"], ["tea", "biscuits"], ["biscuits"]])
    rules = association_rules(frequent_itemsets(baskets, "0.5"), "1")
    assert rule_keys(rules) == {(("tea",), ("biscuits",)): 2}
    assert rules.conviction[0] == np.inf
    assert rules.confidence[0] == 1.0


def test_a_rule_exactly_at_the_confidence_threshold_is_kept() -> None:
    baskets = Baskets.from_lists(SHOP)
    itemsets = frequent_itemsets(baskets, "0.4")
    exact = association_rules(itemsets, "2/3")
    assert len(exact) == 4
    assert exact.at_threshold().all()
    assert len(association_rules(itemsets, "0.6666666666666667")) == 0  # just above 2/3


def test_a_support_exactly_at_the_threshold_is_kept() -> None:
    # 0.07 * 100 is 7.000000000000001 in floating point; 7 of 100 baskets is 0.07 exactly.
    baskets = Baskets.from_lists([["rice", "oil"]] * 7 + [["water"]] * 93)
    found = itemset_table(baskets, "0.07")
    assert found[("oil", "rice")] == 7
    assert ("oil", "rice") not in itemset_table(baskets, "0.0701")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_brute_force_on_random_baskets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = [f"item{i}" for i in range(9)]
    popularity = rng.dirichlet(np.ones(9)) * 4
    raw = [
        [name for name, p in zip(names, popularity, strict=True) if rng.random() < min(p, 0.9)]
        for _ in range(60)
    ]
    for support, confidence in (("0.05", "0.5"), ("1/12", "0.3"), ("0.2", "0.8")):
        frequent, rules = brute_force(raw, Fraction(support), Fraction(confidence))
        baskets = Baskets.from_lists(raw)
        itemsets = frequent_itemsets(baskets, support)
        assert itemset_table(baskets, support) == frequent
        assert rule_keys(association_rules(itemsets, confidence)) == rules


def test_longest_itemsets_can_be_capped() -> None:
    baskets = Baskets.from_lists([["a", "b", "c", "d"]] * 3)
    assert frequent_itemsets(baskets, "0.5").max_size == 4
    assert len(frequent_itemsets(baskets, "0.5", max_size=2)) == 4 + 6


def test_fisher_p_values_equal_scipy_fisher_exact() -> None:
    together = np.array([2, 10, 40, 3, 25, 1])
    antecedent = np.array([3, 30, 100, 60, 200, 1])
    consequent = np.array([3, 50, 80, 70, 300, 900])
    baskets = 1000
    p = fisher_greater(together, antecedent, consequent, baskets)
    for k in range(len(p)):
        table = [
            [together[k], antecedent[k] - together[k]],
            [consequent[k] - together[k], baskets - antecedent[k] - consequent[k] + together[k]],
        ]
        expected = fisher_exact(table, alternative="greater").pvalue
        assert p[k] == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_fisher_p_values_equal_scipy_on_either_side_of_the_mode() -> None:
    rng = np.random.default_rng(8)
    baskets = 5000
    antecedent = rng.integers(1, 1500, 3000)
    consequent = rng.integers(1, 1500, 3000)
    expected_count = antecedent * consequent / baskets
    spread = np.sqrt(expected_count) * 4 + 2
    together = np.clip(
        np.round(expected_count + rng.uniform(-1, 1, 3000) * spread).astype(np.int64),
        np.maximum(0, antecedent + consequent - baskets),
        np.minimum(antecedent, consequent),
    )
    p = fisher_greater(together, antecedent, consequent, baskets)
    expected = hypergeom.sf(together - 1, baskets, antecedent, consequent)
    assert (together < expected_count - 2).sum() > 500  # well below the mode
    assert (together > expected_count + 2).sum() > 500  # well above it
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-14)


def exact_upper_tail(together: int, antecedent: int, consequent: int, baskets: int) -> float:
    """P(X >= together) summed in whole numbers, then divided once."""
    top = min(antecedent, consequent)
    ways = sum(
        math.comb(antecedent, x) * math.comb(baskets - antecedent, consequent - x)
        for x in range(together, top + 1)
    )
    return float(Fraction(ways, math.comb(baskets, consequent)))


@pytest.mark.parametrize("baskets", [10**6, 10**8])
def test_fisher_p_values_keep_their_digits_over_many_baskets(baskets: int) -> None:
    rng = np.random.default_rng(baskets)
    antecedent, consequent = rng.integers(1, 400, 60), rng.integers(1, 400, 60)
    together = rng.integers(0, np.minimum(antecedent, consequent) + 1)
    p = fisher_greater(together, antecedent, consequent, baskets)
    expected = [
        exact_upper_tail(*map(int, t), baskets)
        for t in zip(together, antecedent, consequent, strict=True)
    ]
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=0)
    assert fisher_greater(np.array([0]), np.array([1]), np.array([1]), baskets)[0] == 1.0


def test_rule_p_values_equal_fisher_exact_on_groceries_rules() -> None:
    rules = association_rules(frequent_itemsets(read_basket_file(GROCERIES), "0.005"), "0.3")
    n = rules.baskets
    for k in range(0, len(rules), max(1, len(rules) // 8)):
        c, a = int(rules.count[k]), int(rules.antecedent_count[k])
        b = int(rules.consequent_count[k])
        expected = fisher_exact([[c, a - c], [b - c, n - a - b + c]], alternative="greater").pvalue
        assert rules.p_value[k] == pytest.approx(expected, rel=1e-9)


def test_adjusted_p_values_are_monotone_and_not_below_the_raw_ones() -> None:
    p = np.random.default_rng(5).random(200) ** 3
    bh, fw = benjamini_hochberg(p), holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(bh[order]) >= 0)
    assert np.all(np.diff(fw[order]) >= 0)
    assert np.all(bh >= p)
    assert np.all(fw >= bh)
    assert np.all(fw <= 1)
    assert bh[order[-1]] == pytest.approx(p[order[-1]])  # the largest is left as it is


@pytest.mark.parametrize(
    ("support", "confidence", "field"),
    [("0", "0.5", "min_support"), ("1.5", "0.5", "min_support"), ("0.1", "-1", "min_confidence")],
)
def test_thresholds_outside_zero_to_one_are_refused(
    support: str, confidence: str, field: str
) -> None:
    baskets = Baskets.from_lists(SHOP)
    with pytest.raises(RegularsError) as caught:
        association_rules(frequent_itemsets(baskets, support), confidence)
    assert caught.value.code == "bad_threshold"
    assert caught.value.field == field


def test_a_threshold_that_is_no_number_is_refused() -> None:
    with pytest.raises(RegularsError, match="0.001") as caught:
        frequent_itemsets(Baskets.from_lists(SHOP), "a lot")
    assert caught.value.field == "min_support"


def test_an_empty_basket_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "baskets.csv"
    empty.write_text("\n\n")
    with pytest.raises(RegularsError) as caught:
        read_basket_file(empty)
    assert caught.value.code == "no_baskets"
    with pytest.raises(RegularsError) as missing:
        read_basket_file(tmp_path / "nowhere.csv")
    assert missing.value.code == "basket_file_not_found"


@pytest.mark.parametrize("top", ["0", "-1"])
def test_a_command_asked_to_show_no_rules_says_so(top: str, tmp_path: Path) -> None:
    args = ["analyze", "baskets", "--baskets", str(GROCERIES), "--top", top]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "--top must be at least 1" in result.output
    assert not (tmp_path / "out").exists()


def test_too_low_a_support_is_refused_with_a_threshold_that_works() -> None:
    rng = np.random.default_rng(0)
    raw = [[f"i{j}" for j in range(20) if rng.random() < 0.5] for _ in range(200)]
    with pytest.raises(RegularsError, match="try a support of at least") as caught:
        frequent_itemsets(Baskets.from_lists(raw), "0.005", max_itemsets=5000)
    assert caught.value.code == "too_many_itemsets"
    assert caught.value.field == "min_support"


def test_too_low_a_confidence_is_refused_from_an_estimate_before_the_rules_are_made() -> None:
    itemsets = frequent_itemsets(read_basket_file(GROCERIES), "0.001")
    with pytest.raises(RegularsError, match=r"would keep about [\d,]+ rules") as caught:
        association_rules(itemsets, "0.01", max_rules=1000)
    assert (caught.value.code, caught.value.field) == ("too_many_itemsets", "min_confidence")
    # Near the limit the estimate never decides: the exact count does, either way.
    assert len(association_rules(itemsets, "0.5", max_rules=5829)) == 5829
    with pytest.raises(RegularsError, match="keeps more than 5,828 rules"):
        association_rules(itemsets, "0.5", max_rules=5828)


def test_long_file_gives_the_same_baskets_as_lists(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    lines = [(f"r{n}", item) for n, basket in enumerate(SHOP) for item in basket]
    path.write_text("receipt,product\n" + "\n".join(f"{r},{i}" for r, i in lines) + "\n")
    read = read_long_baskets(path, basket_col="receipt", item_col="product")
    assert itemset_table(read, "0.2") == itemset_table(Baskets.from_lists(SHOP), "0.2")
    with pytest.raises(RegularsError) as caught:
        read_long_baskets(path, basket_col="ticket", item_col="product")
    assert caught.value.field == "basket_col"


def test_cross_category_pairs_and_period_changes() -> None:
    baskets = Baskets.from_lists(SHOP)
    itemsets = frequent_itemsets(baskets, "0.2")
    pairs = strongest_cross_category_pairs(
        itemsets, {"bread": "bakery", "milk": "dairy", "eggs": "dairy"}
    )
    assert [(p.first, p.second) for p in pairs] == [("bread", "milk")]
    assert pairs[0].lift == pytest.approx(10 / 9)
    before = association_rules(frequent_itemsets(baskets, "0.4"), "0.6")
    later = Baskets.from_lists([*SHOP, ["bread", "milk"], ["tea"]])
    after = association_rules(frequent_itemsets(later, "0.4"), "0.6")
    changes = compare_periods(before, after)
    assert {(c.antecedent, c.consequent) for c in changes.disappeared} == {
        (("eggs",), ("milk",)),
        (("milk",), ("eggs",)),
    }
    assert not changes.appeared
    bread_milk = next(c for c in changes.changed if c.antecedent == ("bread",))
    assert bread_milk.lift_change == pytest.approx(3 * 7 / (4 * 4) - 10 / 9)


def test_command_writes_rules_from_a_baskets_file(tmp_path: Path) -> None:
    source = tmp_path / "baskets.csv"
    source.write_text("\n".join(",".join(b) for b in SHOP) + "\n")
    out = tmp_path / "out"
    args = [
        "analyze",
        "baskets",
        "--baskets",
        str(source),
        "--out",
        str(out),
        "--min-support",
        "0.4",
    ]
    result = CliRunner().invoke(app, [*args, "--min-confidence", "2/3"])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out / "rules.parquet").num_rows == 4
    summary = json.loads((out / "rules.json").read_text())
    assert summary["rules"] == 4
    assert summary["rules_at_confidence_threshold"] == 4
    assert summary["min_support"] == "0.4"
    bad = CliRunner().invoke(app, [*args, "--min-confidence", "2"])
    assert bad.exit_code == 1


def test_warehouse_subcategory_rules_find_the_demo_complements(
    demo_warehouse: DemoWarehouse,
) -> None:
    connection = open_warehouse(demo_warehouse.folder)
    baskets = warehouse_baskets(connection, level=Level.subcategory)
    rules = association_rules(frequent_itemsets(baskets, "0.005", max_size=2), "0.2")
    strongest = {(rules.antecedent(i), rules.consequent(i)) for i in rules.strongest(20)}
    planted = {((first,), (second,)) for first, second, _ in COMPLEMENTS}
    assert len(strongest & planted) >= 3, strongest
    categories = item_categories(connection, Level.subcategory)
    assert categories["NOOD"] != categories["EGGS"]
    weekend = warehouse_baskets(connection, where=BasketFilter(weekdays=(6, 7), hours=(8, 20)))
    assert 0 < len(weekend) < len(baskets)
    with pytest.raises(RegularsError) as caught:
        warehouse_baskets(connection, where=BasketFilter(stores=("NO-SUCH-STORE",)))
    assert caught.value.field == "stores"
    dairy = warehouse_baskets(connection, where=BasketFilter(category="FRESH.DAIRY_AND_EGGS"))
    assert 0 < len(dairy) < len(baskets)
    under = {
        code
        for (code,) in connection.execute(
            "SELECT c.code FROM categories c JOIN categories up ON c.parent_id = up.category_id "
            "WHERE up.code = 'FRESH.DAIRY_AND_EGGS'"
        ).fetchall()
    } & set(dairy.item_names)
    assert {"EGGS", "MILK"} <= under
    held = {dairy.item_names.index(code) for code in under}
    for basket in range(len(dairy)):  # every basket holds dairy, and what went with it
        assert held & set(dairy.items[dairy.indptr[basket] : dairy.indptr[basket + 1]].tolist())
    assert len(set(dairy.item_names)) > len(under)
    eggs = warehouse_baskets(connection, where=BasketFilter(category="EGGS"))
    assert len(eggs) < len(dairy)
    with pytest.raises(RegularsError) as caught:
        warehouse_baskets(connection, where=BasketFilter(category="NO-SUCH-AISLE"))
    assert caught.value.field == "category"


def test_the_command_mines_a_segments_recent_baskets_in_the_warehouse(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    out = tmp_path / "champions"
    args = ["analyze", "baskets", "--warehouse", str(demo_warehouse.folder), "--out", str(out)]
    args += ["--days", "60", "--min-support", "0.01", "--min-confidence", "0.2", "--compare"]
    everyone = CliRunner().invoke(app, args)
    assert everyone.exit_code == 0, everyone.output
    whole = json.loads((out / "rules.json").read_text())["baskets"]
    champions = CliRunner().invoke(app, [*args, "--segment", "Champions"])
    assert champions.exit_code == 0, champions.output
    assert 0 < json.loads((out / "rules.json").read_text())["baskets"] < whole
    unknown = CliRunner().invoke(app, [*args, "--segment", "Nobody"])
    assert unknown.exit_code == 1
    assert "no segment 'Nobody'; there are" in unknown.output


def test_the_command_mines_a_shopper_types_or_listed_members_baskets(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    out = tmp_path / "typed"
    args = ["analyze", "baskets", "--warehouse", str(demo_warehouse.folder), "--out", str(out)]
    args += ["--min-support", "0.01", "--min-confidence", "0.2"]
    assert CliRunner().invoke(app, args).exit_code == 0
    whole = json.loads((out / "rules.json").read_text())["baskets"]
    typed = CliRunner().invoke(app, [*args, "--shopper-type", "price_sensitive"])
    assert typed.exit_code == 0, typed.output
    price_sensitive = json.loads((out / "rules.json").read_text())["baskets"]
    assert 0 < price_sensitive < whole
    unknown = CliRunner().invoke(app, [*args, "--shopper-type", "bargain_hunter"])
    assert unknown.exit_code == 1
    assert "no shopper_type 'bargain_hunter'; there are" in unknown.output
    connection = open_warehouse(demo_warehouse.folder)
    [(member, receipts)] = connection.execute(
        "SELECT member_id, count(*) FROM receipts WHERE member_id IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchall()
    listed = tmp_path / "members.txt"
    listed.write_text(f"member_id\n{member}\n")
    one = CliRunner().invoke(app, [*args, "--members", str(listed), "--min-support", "0.2"])
    assert one.exit_code == 0, one.output
    assert json.loads((out / "rules.json").read_text())["baskets"] == receipts
    listed.write_text("member_id\n12\nnot-a-member\n")
    bad = CliRunner().invoke(app, [*args, "--members", str(listed)])
    assert bad.exit_code == 1
    assert "'not-a-member' is not a member id" in bad.output


def test_the_command_mines_a_transactions_file_by_receipt(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    lines = tmp_path / "lines.csv"
    connection = open_warehouse(demo_warehouse.folder)
    connection.execute(
        f"COPY (SELECT customer_id, purchased_at, amount, receipt_id, sku FROM transactions "
        f"WHERE sku IS NOT NULL) TO '{lines}' (HEADER)"
    )
    [(receipts,)] = connection.execute(
        "SELECT count(DISTINCT receipt_id) FROM transactions WHERE sku IS NOT NULL"
    ).fetchall()
    out = tmp_path / "rules"
    result = CliRunner().invoke(
        app,
        ["analyze", "baskets", "--transactions", str(lines), "--customer-col", "customer_id",
         "--date-col", "purchased_at", "--amount-col", "amount", "--receipt-col", "receipt_id",
         "--sku-col", "sku", "--min-support", "0.003", "--min-confidence", "0.1",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "rules.json").read_text())
    assert summary["baskets"] == receipts
    assert summary["rules"] == pq.read_table(out / "rules.parquet").num_rows > 0
