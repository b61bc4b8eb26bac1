"""Association rules from frequent itemsets, kept by exact confidence, with their metrics.

Why floating-point tools can report fewer rules at the same thresholds: they store
supports as shares, ``count / N``, and compute confidence as ``support(A ∪ C) / support(A)``,
a quotient of two rounded quotients. When the true confidence is exactly the threshold the
float may land just below it: of 9,835 baskets, (1/9835) / (10/9835) is
0.09999999999999999, not 0.1, and ``>= 0.1`` drops the rule; likewise 243/810 against 0.3
and 189/210 against 0.9. (mlxtend 0.25 multiplies both supports back by N before
dividing, which mostly, not always, lands on the counts' quotient: on groceries.csv at
support 0.001 it keeps all 5,829 rules at 0.5, 482 of them exactly at it, but loses five
of 25,022 at 0.2.) Supports fail the same way when the least count is a float product:
``ceil(0.07 * 100)`` is 8, since 0.07 * 100 is 7.000000000000001, so an itemset in exactly
7% of 100 baskets is lost. Here every comparison is between whole numbers: a rule A → C is
kept when ``count(A ∪ C) * den >= num * count(A)`` for ``min_confidence = num/den``, read
exactly from its decimal text. The metrics are then floats, for people to read and sort by.

Every non-empty proper subset of a frequent itemset is tried as the antecedent, the rest
being the consequent, as mlxtend's ``association_rules`` does; each such subset is
frequent itself, so its count is looked up, never recounted.

The p-value is Fisher's exact test of positive association, one-sided, on the 2 x 2 table
of baskets with and without A against with and without C: the chance, were A and C
independent given their counts, of seeing them together in ``count(A ∪ C)`` baskets or
more, the upper tail of a hypergeometric distribution. Benjamini–Hochberg (false discovery
rate) and Holm (family-wise error) adjust it across the rules reported. The rules were
already screened by support and confidence on the same data, so even adjusted p-values
flatter them a little: read them as a ranking of how surprising each rule is, not as a
confirmatory test.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from regulars.analytics.baskets.basket import (
    Codes,
    TooManyItemsets,
    at_least,
    parse_share,
    share_text,
)
from regulars.analytics.baskets.hypergeometric import log_pmf
from regulars.analytics.baskets.mining import Itemsets

MAX_RULES: Final = 20_000_000
SAMPLE: Final = 100_000  # (itemset, split) pairs of each size the estimate looks at
ESTIMATE_MARGIN: Final = 1.5  # refused from the estimate only beyond this times the limit

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Rules:
    """Rules A → C with the counts they rest on; metrics derive from the counts.

    Antecedent ``i`` is ``antecedent_items[antecedent_indptr[i]:antecedent_indptr[i + 1]]``
    (item codes into ``item_names``), and likewise the consequent.
    """

    antecedent_indptr: Codes
    antecedent_items: Codes
    consequent_indptr: Codes
    consequent_items: Codes
    count: Codes  # baskets with A and C
    antecedent_count: Codes
    consequent_count: Codes
    baskets: int
    item_names: tuple[str, ...]
    min_support: Fraction
    min_confidence: Fraction
    p_value: Floats
    p_value_bh: Floats
    p_value_holm: Floats

    def __len__(self) -> int:
        return len(self.count)

    @property
    def support(self) -> Floats:
        return self.count / self.baskets

    @property
    def confidence(self) -> Floats:
        return self.count / self.antecedent_count

    @property
    def lift(self) -> Floats:
        return self.count * self.baskets / (self.antecedent_count * self.consequent_count)

    @property
    def leverage(self) -> Floats:
        n = self.baskets
        return (self.count * n - self.antecedent_count * self.consequent_count) / (n * n)

    @property
    def conviction(self) -> Floats:
        """How much more often A would come without C if they were independent; infinite
        for a rule that never fails."""
        failures = (self.antecedent_count - self.count).astype(np.float64)
        expected = self.antecedent_count * (self.baskets - self.consequent_count) / self.baskets
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(failures > 0, expected / failures, np.inf)

    def at_threshold(self) -> npt.NDArray[np.bool_]:
        """Rules whose confidence is exactly the threshold, the ones floats tend to lose."""
        share = self.min_confidence
        return self.count * share.denominator == share.numerator * self.antecedent_count

    def antecedent(self, i: int) -> tuple[str, ...]:
        items = self.antecedent_items[self.antecedent_indptr[i] : self.antecedent_indptr[i + 1]]
        return tuple(self.item_names[j] for j in items)

    def consequent(self, i: int) -> tuple[str, ...]:
        items = self.consequent_items[self.consequent_indptr[i] : self.consequent_indptr[i + 1]]
        return tuple(self.item_names[j] for j in items)

    def strongest(self, n: int = 20) -> list[int]:
        """The ``n`` rules with the highest lift (ties: more baskets first), by position."""
        order = np.lexsort((-self.count, -self.lift))
        return [int(i) for i in order[:n]]

    def to_arrow(self) -> pa.Table:
        """One row per rule: item names, counts and every metric."""
        names = pa.array(self.item_names, type=pa.string())

        def side(indptr: Codes, items: Codes) -> pa.ListArray:
            return pa.ListArray.from_arrays(
                pa.array(indptr, type=pa.int64()).cast(pa.int32()), names.take(items)
            )

        return pa.table(
            {
                "antecedent": side(self.antecedent_indptr, self.antecedent_items),
                "consequent": side(self.consequent_indptr, self.consequent_items),
                "count": self.count,
                "antecedent_count": self.antecedent_count,
                "consequent_count": self.consequent_count,
                "support": self.support,
                "confidence": self.confidence,
                "lift": self.lift,
                "leverage": self.leverage,
                "conviction": self.conviction,
                "p_value": self.p_value,
                "p_value_bh": self.p_value_bh,
                "p_value_holm": self.p_value_holm,
            }
        )

    def write_parquet(self, path: Any) -> None:
        pq.write_table(self.to_arrow(), path)


def association_rules(
    itemsets: Itemsets,
    min_confidence: Fraction | str | float,
    *,
    max_rules: int = MAX_RULES,
) -> Rules:
    """Every rule A → C from the frequent itemsets whose confidence is at least the threshold.

    Parameters
    ----------
    itemsets:
        From ``frequent_itemsets``; A, C and A ∪ C are all among them.
    min_confidence:
        The least share of A's baskets that also hold C, read exactly (``parse_share``):
        kept when ``count(A ∪ C) * den >= num * count(A)``.
    max_rules:
        Refuse with ``too_many_itemsets`` rather than hold more rules than this.
    """
    confidence = parse_share(min_confidence, "min_confidence")
    splits = sum(len(rows) * (2 ** rows.shape[1] - 2) for rows in itemsets.levels)
    estimate = _estimated_rules(itemsets, confidence) if splits > max_rules else 0.0
    if estimate > ESTIMATE_MARGIN * max_rules:
        raise TooManyItemsets(
            f"confidence {share_text(confidence)} would keep about {estimate:,.0f} rules, more "
            f"than {max_rules:,}; raise min_confidence or min_support",
            field="min_confidence",
        )
    parts: list[tuple[Codes, Codes, Codes, Codes, Codes]] = []
    kept = 0
    for size in range(2, itemsets.max_size + 1):
        rows, counts = itemsets.levels[size - 1], itemsets.counts[size - 1]
        if not len(rows):
            continue
        for chosen, rest in _splits(size):
            antecedent = rows[:, chosen]
            antecedent_count = itemsets.count_of(antecedent)
            keep = at_least(counts, confidence, antecedent_count)
            if not keep.any():
                continue
            consequent = rows[keep][:, rest]
            parts.append(
                (
                    antecedent[keep],
                    consequent,
                    counts[keep],
                    antecedent_count[keep],
                    itemsets.count_of(consequent),
                )
            )
            kept += int(keep.sum())
            if kept > max_rules:
                raise TooManyItemsets(
                    f"confidence {share_text(confidence)} keeps more than {max_rules:,} "
                    "rules; raise min_confidence or min_support",
                    field="min_confidence",
                )
    return _rules(parts, itemsets, confidence)


def _splits(size: int) -> Iterator[tuple[list[int], list[int]]]:
    """Every way to split an itemset's positions into antecedent and consequent."""
    for left in range(1, size):
        for chosen in combinations(range(size), left):
            yield list(chosen), [j for j in range(size) if j not in chosen]


def _estimated_rules(itemsets: Itemsets, confidence: Fraction) -> float:
    """How many rules ``confidence`` keeps, from at most ``SAMPLE`` (itemset, split) pairs
    of each size drawn evenly at random (every pair where a size has no more): a threshold
    far too low is refused before millions of rules are made only to be thrown away."""
    rng = np.random.default_rng(0)
    total = 0.0
    for size in range(2, itemsets.max_size + 1):
        rows, counts = itemsets.levels[size - 1], itemsets.counts[size - 1]
        splits = 2**size - 2
        if not len(rows):
            continue
        if len(rows) * splits <= SAMPLE:
            row = np.repeat(np.arange(len(rows)), splits)
            mask = np.tile(np.arange(1, splits + 1), len(rows))
        else:
            row = rng.integers(0, len(rows), SAMPLE)
            mask = rng.integers(1, splits + 1, SAMPLE)
        chosen = (mask[:, None] >> np.arange(size)) & 1 == 1  # positions in the antecedent
        kept = 0
        for left in range(1, size):
            has = chosen.sum(axis=1) == left
            antecedent = rows[row[has]][chosen[has]].reshape(-1, left)
            kept += int(at_least(counts[row[has]], confidence, itemsets.count_of(antecedent)).sum())
        total += kept * len(rows) * splits / len(row)
    return total


def _ragged(blocks: list[Codes]) -> tuple[Codes, Codes]:
    """Blocks of equal-width rows as one CSR pair (indptr, items)."""
    if not blocks:
        return np.zeros(1, np.int64), np.zeros(0, np.int64)
    lengths = np.concatenate([np.full(len(b), b.shape[1], dtype=np.int64) for b in blocks])
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr, np.concatenate([b.ravel() for b in blocks])


def _rules(
    parts: list[tuple[Codes, Codes, Codes, Codes, Codes]],
    itemsets: Itemsets,
    confidence: Fraction,
) -> Rules:
    def joined(k: int) -> Codes:
        return np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.int64)

    count, antecedent_count, consequent_count = joined(2), joined(3), joined(4)
    p = fisher_greater(count, antecedent_count, consequent_count, itemsets.baskets)
    return Rules(
        *_ragged([part[0] for part in parts]),
        *_ragged([part[1] for part in parts]),
        count=count,
        antecedent_count=antecedent_count,
        consequent_count=consequent_count,
        baskets=itemsets.baskets,
        item_names=itemsets.item_names,
        min_support=itemsets.min_support,
        min_confidence=confidence,
        p_value=p,
        p_value_bh=benjamini_hochberg(p),
        p_value_holm=holm(p),
    )


def fisher_greater(together: Codes, antecedent: Codes, consequent: Codes, baskets: int) -> Floats:
    """Fisher's exact one-sided p-value of positive association, for many tables at once.

    The table is [[together, antecedent - together], [consequent - together, rest]]; with
    its margins fixed, ``together`` is hypergeometric (N baskets, ``antecedent`` of them
    marked, ``consequent`` drawn), and the p-value is its upper tail P(X >= together), the
    number ``scipy.stats.fisher_exact(alternative="greater")`` gives table by table.

    Why not ``scipy.stats.hypergeom.sf``: it costs ~30 µs a table, more than mining
    groceries.csv whole. Each term of the distribution is a known ratio times its
    neighbour, and the terms fall away from the mode. So a table at or above its mode sums
    its upper tail upwards, and one below sums the lower tail P(X < together) downwards
    and takes it from one: either way the terms shrink as the sum goes on, all tables step
    together, and a table stops once its terms no longer change its sum. The first term
    comes from ``log_pmf``, whose digits do not fade as the baskets grow into millions.
    """
    if not len(together):
        return np.zeros(0)
    c, a, b = (np.asarray(v, dtype=np.float64) for v in (together, antecedent, consequent))
    n = float(baskets)
    rest = n - a - b
    upper = c >= np.floor((a + 1) * (b + 1) / (n + 2))  # at or above the mode
    start = np.where(upper, c, c - 1)  # the first term each tail sums
    low, high = np.maximum(0.0, a + b - n), np.minimum(a, b)
    has = upper | (start >= low)  # a lower tail below the least possible count is empty
    first = log_pmf(start, a, b, n)
    x, term, total = start.copy(), np.ones(len(c)), np.where(has, 1.0, 0.0)
    active = np.flatnonzero(has & np.where(upper, x < high, x > low))
    while len(active):
        xa, up = x[active], upper[active]
        aa, ba, ra = a[active], b[active], rest[active]
        term[active] *= np.where(
            up,
            (aa - xa) * (ba - xa) / ((xa + 1) * (ra + xa + 1)),
            xa * (ra + xa) / np.maximum((aa - xa + 1) * (ba - xa + 1), 1.0),
        )
        total[active] += term[active]
        x[active] = np.where(up, xa + 1, xa - 1)
        still = term[active] > 1e-17 * total[active]
        edge = np.where(upper[active], x[active] < high[active], x[active] > low[active])
        active = active[still & edge]
    with np.errstate(under="ignore"):
        tail = np.where(has, np.exp(first) * total, 0.0)
    p = np.where(upper, tail, 1.0 - tail)
    return np.where(c <= low, 1.0, np.clip(p, 0.0, 1.0))  # the least count possible: sure


def benjamini_hochberg(p: Floats) -> Floats:
    """Benjamini–Hochberg adjusted p-values (the false discovery rate at which each is
    significant); each is at least its raw p-value and they keep the raw p-values' order."""
    m = len(p)
    if not m:
        return np.zeros(0)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def holm(p: Floats) -> Floats:
    """Holm's step-down adjusted p-values (family-wise error), never below the raw ones."""
    m = len(p)
    if not m:
        return np.zeros(0)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted = np.maximum.accumulate(scaled).clip(max=1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out
