"""Frequent itemsets and association rules: ours against mlxtend's fpgrowth + association_rules.

The peer runs in its own virtual environment (the project does not depend on pandas or
mlxtend), as a subprocess that times only its mining and rules, like ours, and hands back
its time and its rules; the rules of both sides are compared one by one. Reading and
one-hot encoding the file are left out on both sides. Ours also computes Fisher p-values
with Benjamini-Hochberg and Holm corrections, which mlxtend does not.

Then a synthetic chain: 1,000,000 baskets over 5,000 products (Zipf-like popularity,
planted complementary pairs and triples), mined at support 0.0005, with time and peak
memory of the process.

Set up the peer once:
    python3.11 -m venv /tmp/mlxtend-venv && /tmp/mlxtend-venv/bin/pip install mlxtend pandas
Run from the repository: .venv/bin/python bench/baskets.py [--peer /tmp/mlxtend-venv/bin/python]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import best_of

from regulars.analytics.baskets.basket import Baskets
from regulars.analytics.baskets.mining import frequent_itemsets
from regulars.analytics.baskets.readers import read_basket_file
from regulars.analytics.baskets.rules import association_rules

GROCERIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "groceries.csv"

PEER = """
import csv, json, sys, time
import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder
path, repeat = sys.argv[1], int(sys.argv[4])
support, confidence = float(sys.argv[2]), float(sys.argv[3])
with open(path, newline="") as f:
    baskets = [sorted({x.strip() for x in row if x.strip()}) for row in csv.reader(f)]
baskets = [b for b in baskets if b]
encoder = TransactionEncoder()
onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
best = float("inf")
for _ in range(repeat):
    started = time.perf_counter()
    itemsets = fpgrowth(onehot, min_support=support, use_colnames=True)
    rules = association_rules(
        itemsets, metric="confidence", min_threshold=confidence, num_itemsets=len(onehot)
    )
    best = min(best, time.perf_counter() - started)
print(json.dumps({
    "seconds": best,
    "itemsets": len(itemsets),
    "rules": [[sorted(r.antecedents), sorted(r.consequents), r.lift] for r in rules.itertuples()],
}))
"""


def peer(python: str, path: Path, support: str, confidence: str, repeat: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(PEER)
    done = subprocess.run(
        [python, script.name, str(path), support, confidence, str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def groceries(python: str, support: str, confidence: str, repeat: int) -> None:
    baskets = read_basket_file(GROCERIES)

    def ours() -> object:
        return association_rules(frequent_itemsets(baskets, support), confidence)

    seconds, rules = best_of(repeat, ours)
    mine = {
        (tuple(sorted(rules.antecedent(i))), tuple(sorted(rules.consequent(i)))): rules.lift[i]
        for i in range(len(rules))
    }
    theirs = peer(python, GROCERIES, support, confidence, repeat)
    other = {(tuple(a), tuple(c)): lift for a, c, lift in theirs["rules"]}
    same = mine.keys() == other.keys()
    worst = max((abs(mine[k] - other[k]) / other[k] for k in mine.keys() & other.keys()), default=0)
    print(f"groceries.csv, {len(baskets):,} baskets, support {support}, confidence {confidence}")
    print(
        f"  ours:    {seconds * 1000:8.1f} ms  {len(rules):,} rules "
        f"({int(rules.at_threshold().sum())} at the confidence threshold), with Fisher p"
    )
    print(
        f"  mlxtend: {theirs['seconds'] * 1000:8.1f} ms  {len(other):,} rules "
        f"({theirs['itemsets']:,} itemsets)"
    )
    print(
        f"  ratio:   {theirs['seconds'] / seconds:8.1f}x  identical rules: {same}; "
        f"only ours {len(mine.keys() - other.keys())}, only mlxtend "
        f"{len(other.keys() - mine.keys())}; largest relative lift difference {worst:.1e}"
    )


def synthetic_chain(baskets: int, products: int, seed: int) -> Baskets:
    """Basket sizes 1 + Poisson(9); products by Zipf-like popularity (exponent 0.9), and a
    tenth of the products each pulling a partner (and sometimes a third) into the basket."""
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(9, baskets)
    weights = 1 / np.arange(1, products + 1) ** 0.9
    owner = np.repeat(np.arange(baskets), sizes)
    items = rng.choice(products, size=owner.size, p=weights / weights.sum())
    anchors = rng.choice(products, products // 10, replace=False)
    partner = np.full(products, -1)
    partner[anchors] = rng.integers(0, products, anchors.size)
    pulls = (partner[items] >= 0) & (rng.random(items.size) < 0.4)
    extra_owner, extra = owner[pulls], partner[items[pulls]]
    third = rng.random(extra.size) < 0.3
    owner = np.concatenate([owner, extra_owner, extra_owner[third]])
    items = np.concatenate([items, extra, (extra[third] * 7 + 1) % products])
    names = [f"P{i:05d}" for i in range(products)]
    return Baskets.from_codes(owner, items, names, basket_count=baskets)


def large(baskets: int, products: int, support: str, confidence: str, seed: int) -> None:
    started = time.perf_counter()
    chain = synthetic_chain(baskets, products, seed)
    made = time.perf_counter() - started
    started = time.perf_counter()
    itemsets = frequent_itemsets(chain, support)
    mined = time.perf_counter() - started
    started = time.perf_counter()
    rules = association_rules(itemsets, confidence)
    ruled = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    sizes = ", ".join(f"{len(c):,}" for c in itemsets.counts)
    print(
        f"synthetic chain: {len(chain):,} baskets, {products:,} products, "
        f"{len(chain.items):,} lines (made in {made:.1f} s)"
    )
    print(
        f"  support {support}: {len(itemsets):,} frequent itemsets by size [{sizes}] "
        f"in {mined:.1f} s"
    )
    print(f"  confidence {confidence}: {len(rules):,} rules with Fisher p in {ruled:.1f} s")
    print(f"  total {mined + ruled:.1f} s, peak memory of the process {peak:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", default="/tmp/mlxtend-venv/bin/python")
    parser.add_argument("--support", default="0.001")
    parser.add_argument("--confidence", default="0.5")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baskets", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--large-support", default="0.0005")
    parser.add_argument("--large-confidence", default="0.3")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    if not args.skip_peer:
        if not Path(args.peer).exists():
            sys.exit(f"no peer at {args.peer}; see this script's docstring")
        groceries(args.peer, args.support, args.confidence, args.repeat)
    large(args.baskets, args.products, args.large_support, args.large_confidence, args.seed)


if __name__ == "__main__":
    main()
