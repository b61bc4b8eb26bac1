"""Driver importance (LMG) with bootstrap intervals: RelativeImportance against a naive peer.

Ours takes the R² of all 2^p predictor subsets from a correlation matrix by one rank-one
update per subset, batched over the resamples, then Shapley weights in one product. The
peer, in the same run, is the textbook way: the R² of each subset from a
``numpy.linalg.lstsq`` refit (with intercept) on the rows, then each predictor's gain
averaged over the orders of entry. The order average is taken through the number of orders
in which each subset comes just before the predictor, |S|! (p - |S| - 1)!: a loop over
10! orders would only add Python time to a peer already far behind.

The peer fits the full data once (the point estimate) and ``--peer-resamples`` resamples;
its time for all ``--resamples`` is that per-resample time multiplied, printed as such.
It runs with one BLAS thread, its fastest setting: threaded LAPACK on a 5000 x 11 least
squares only adds overhead, ten times over on a busy machine. Ours runs as installed
(``--one-thread`` limits it too). Point estimates of both sides are compared, to show they
compute the same thing.

Run from the repository: .venv/bin/python bench/drivers.py [--rows 5000] [--predictors 10]
"""

import argparse
from math import factorial
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
from timing import best_of

from regulars.analytics.drivers import RelativeImportance

Array = np.ndarray[Any, np.dtype[np.float64]]


def survey(rows: int, predictors: int, seed: int) -> tuple[Array, Array]:
    """Satisfaction items correlated 0.4 with each other, and an overall score from them."""
    rng = np.random.default_rng(seed)
    covariance = np.full((predictors, predictors), 0.4) + 0.6 * np.eye(predictors)
    items = rng.multivariate_normal(np.zeros(predictors), covariance, size=rows)
    overall = items @ np.linspace(1.0, 0.1, predictors) + rng.normal(size=rows)
    return items, overall


def naive_lmg(items: Array, overall: Array) -> Array:
    """LMG by refitting least squares on every subset of the items."""
    rows, predictors = items.shape
    centred = overall - overall.mean()
    total = centred @ centred
    r2 = np.zeros(1 << predictors)
    for mask in range(1, 1 << predictors):
        chosen = [j for j in range(predictors) if mask >> j & 1]
        design = np.column_stack([np.ones(rows), items[:, chosen]])
        coefficients = np.linalg.lstsq(design, overall, rcond=None)[0]
        residuals = overall - design @ coefficients
        r2[mask] = 1 - residuals @ residuals / total
    importance = np.zeros(predictors)
    for j in range(predictors):
        for mask in range(1 << predictors):
            if not mask >> j & 1:
                size = mask.bit_count()
                orders = factorial(size) * factorial(predictors - size - 1)
                importance[j] += orders * (r2[mask | 1 << j] - r2[mask])
    return importance / factorial(predictors)


def naive_bootstrap(items: Array, overall: Array, resamples: int, seed: int) -> Array:
    rng = np.random.default_rng(seed)
    rows = len(overall)
    picks = (rng.integers(0, rows, size=rows) for _ in range(resamples))
    return np.array([naive_lmg(items[pick], overall[pick]) for pick in picks])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--predictors", type=int, default=10)
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--peer-resamples", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one-thread", action="store_true")
    args = parser.parse_args()
    if args.one_thread:
        threadpool_limits(limits=1)

    items, overall = survey(args.rows, args.predictors, args.seed)
    names = [f"item {j}" for j in range(args.predictors)]
    point = RelativeImportance(n_bootstrap=0)
    ours_point, fitted = best_of(args.repeat, lambda: point.fit(items, overall, names))
    full = RelativeImportance(n_bootstrap=args.resamples, random_state=args.seed)
    ours_full, _ = best_of(args.repeat, lambda: full.fit(items, overall, names))
    with threadpool_limits(limits=1):
        peer_point, peer_importance = best_of(1, lambda: naive_lmg(items, overall))
        peer_sample, _ = best_of(
            1, lambda: naive_bootstrap(items, overall, args.peer_resamples, args.seed)
        )
    peer_full = peer_point + peer_sample / args.peer_resamples * args.resamples

    print(
        f"{args.rows:,} rows, {args.predictors} predictors ({1 << args.predictors:,} subsets), "
        f"R² {fitted.r2_:.4f}"
    )
    difference = np.abs(fitted.importance_ - peer_importance).max()
    print(f"max |importance difference| against the peer: {difference:.2e}")
    print(
        f"point estimate          regulars {ours_point * 1000:9.1f} ms   "
        f"lstsq peer {peer_point * 1000:9.1f} ms   ratio {peer_point / ours_point:7.0f}x"
    )
    print(
        f"with {args.resamples} resamples   regulars {ours_full:9.2f} s    "
        f"lstsq peer {peer_full:9.1f} s    ratio {peer_full / ours_full:7.0f}x "
        f"(peer: {args.peer_resamples} resamples timed, scaled)"
    )


if __name__ == "__main__":
    main()
