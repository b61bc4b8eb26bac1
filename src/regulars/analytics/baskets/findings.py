"""What a category manager asks of the rules: which goods from different aisles go together,
what changed since last period, and the report ``regulars analyze baskets`` writes."""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from regulars.analytics.baskets.basket import Baskets, share_text
from regulars.analytics.baskets.mining import Itemsets, frequent_itemsets
from regulars.analytics.baskets.readers import Level
from regulars.analytics.baskets.rules import Rules, association_rules, fisher_greater


@dataclass(frozen=True)
class ItemPair:
    """Two items from different categories and how much more often they share a basket
    than chance would have them (``lift``)."""

    first: str
    second: str
    first_category: str
    second_category: str
    count: int
    lift: float
    p_value: float


def item_categories(connection: duckdb.DuckDBPyConnection, level: Level | str) -> dict[str, str]:
    """Each warehouse item's category: a product's or a subcategory's parent category."""
    level = Level(level)
    item = {Level.product: "p.sku", Level.subcategory: "p.category_code"}.get(level, "c.code")
    rows = connection.execute(
        f"SELECT DISTINCT {item}, c.code FROM products p "
        "JOIN categories c ON c.category_id = p.parent_id"
    ).fetchall()
    return {str(name): str(category) for name, category in rows}


def strongest_cross_category_pairs(
    itemsets: Itemsets, category_of: Mapping[str, str], *, top: int = 10
) -> list[ItemPair]:
    """The frequent pairs whose items lie in different categories, highest lift first.

    Pairs come from the itemsets, not the rules, so a pair whose confidence is low both
    ways (two goods that are each rare beside the other) still counts. Items without a
    category are left out.
    """
    if itemsets.max_size < 2 or not len(itemsets.counts[1]):
        return []
    rows, together = itemsets.levels[1], itemsets.counts[1]
    first, second = (itemsets.count_of(rows[:, [k]]) for k in (0, 1))
    names = itemsets.item_names
    category = np.array([category_of.get(name, "") for name in names], dtype=object)
    cross = (category[rows[:, 0]] != category[rows[:, 1]]) & (category[rows[:, 0]] != "")
    cross &= category[rows[:, 1]] != ""
    lift = together * itemsets.baskets / (first * second)
    chosen = np.flatnonzero(cross & (lift > 1))
    chosen = chosen[np.lexsort((-together[chosen], -lift[chosen]))][:top]
    p = fisher_greater(together[chosen], first[chosen], second[chosen], itemsets.baskets)
    return [
        ItemPair(
            first=names[rows[i, 0]],
            second=names[rows[i, 1]],
            first_category=str(category[rows[i, 0]]),
            second_category=str(category[rows[i, 1]]),
            count=int(together[i]),
            lift=float(lift[i]),
            p_value=float(pi),
        )
        for i, pi in zip(chosen, p, strict=True)
    ]


@dataclass(frozen=True)
class RuleChange:
    """A rule in one period or both; ``None`` where it is not among that period's rules."""

    antecedent: tuple[str, ...]
    consequent: tuple[str, ...]
    lift_before: float | None
    lift_after: float | None
    confidence_before: float | None
    confidence_after: float | None

    @property
    def lift_change(self) -> float | None:
        if self.lift_before is None or self.lift_after is None:
            return None
        return self.lift_after - self.lift_before


@dataclass(frozen=True)
class PeriodComparison:
    """Rules that appeared, disappeared, and those in both periods by largest lift change."""

    appeared: list[RuleChange]
    disappeared: list[RuleChange]
    changed: list[RuleChange]


def _by_names(rules: Rules) -> dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[float, float]]:
    """Rules keyed by item names: two periods code their items independently."""
    lift, confidence = rules.lift, rules.confidence
    return {
        (tuple(sorted(rules.antecedent(i))), tuple(sorted(rules.consequent(i)))): (
            float(lift[i]),
            float(confidence[i]),
        )
        for i in range(len(rules))
    }


def compare_periods(before: Rules, after: Rules) -> PeriodComparison:
    """What the shoppers of ``after`` do differently from those of ``before``.

    A rule that "disappeared" fell below a threshold in the later period; it may still be
    there, weaker. Lift changes are the later lift less the earlier one, largest first.
    """
    old, new = _by_names(before), _by_names(after)

    def change(key: tuple[tuple[str, ...], tuple[str, ...]]) -> RuleChange:
        was, now = old.get(key), new.get(key)
        return RuleChange(
            key[0],
            key[1],
            was[0] if was else None,
            now[0] if now else None,
            was[1] if was else None,
            now[1] if now else None,
        )

    appeared = [change(k) for k in sorted(new.keys() - old.keys(), key=lambda k: -new[k][0])]
    gone = [change(k) for k in sorted(old.keys() - new.keys(), key=lambda k: -old[k][0])]
    both = [change(k) for k in old.keys() & new.keys()]
    both.sort(key=lambda c: (-abs(c.lift_change or 0.0), c.antecedent, c.consequent))
    return PeriodComparison(appeared, gone, both)


@dataclass(frozen=True)
class RuleLine:
    """One rule as a table row shows it."""

    antecedent: tuple[str, ...]
    consequent: tuple[str, ...]
    count: int
    support: float
    confidence: float
    lift: float
    p_value_bh: float


@dataclass(frozen=True)
class BasketReport:
    """The rules of some baskets, with what ``regulars analyze baskets`` prints and writes."""

    rules: Rules
    itemsets: int
    largest_itemset: int
    top: list[RuleLine]
    pairs: list[ItemPair]

    def summary(self) -> dict[str, Any]:
        rules = self.rules
        return {
            "baskets": rules.baskets,
            "items": len(rules.item_names),
            "min_support": share_text(rules.min_support),
            "min_confidence": share_text(rules.min_confidence),
            "frequent_itemsets": self.itemsets,
            "largest_itemset": self.largest_itemset,
            "rules": len(rules),
            "rules_at_confidence_threshold": int(rules.at_threshold().sum()),
            "rules_significant_bh_5pct": int((rules.p_value_bh < 0.05).sum()),
            "top_rules": [asdict(line) for line in self.top],
            "cross_category_pairs": [asdict(pair) for pair in self.pairs],
        }

    def write(self, out: Path) -> list[Path]:
        """``rules.parquet`` (every rule, every metric) and ``rules.json`` (the summary)."""
        out.mkdir(parents=True, exist_ok=True)
        self.rules.write_parquet(out / "rules.parquet")
        summary = out / "rules.json"
        summary.write_text(json.dumps(self.summary(), indent=2, ensure_ascii=False))
        return [out / "rules.parquet", summary]


def basket_report(
    baskets: Baskets,
    *,
    min_support: Fraction | str | float,
    min_confidence: Fraction | str | float,
    top: int = 20,
    category_of: Mapping[str, str] | None = None,
) -> BasketReport:
    """Mine ``baskets`` and keep what the command shows: the ``top`` rules by lift and, when
    categories are known, the strongest pairs across categories."""
    found = frequent_itemsets(baskets, min_support)
    rules = association_rules(found, min_confidence)
    support, confidence, lift = rules.support, rules.confidence, rules.lift
    lines = [
        RuleLine(
            rules.antecedent(i),
            rules.consequent(i),
            int(rules.count[i]),
            float(support[i]),
            float(confidence[i]),
            float(lift[i]),
            float(rules.p_value_bh[i]),
        )
        for i in rules.strongest(top)
    ]
    pairs = strongest_cross_category_pairs(found, category_of, top=top) if category_of else []
    return BasketReport(rules, len(found), found.max_size, lines, pairs)
