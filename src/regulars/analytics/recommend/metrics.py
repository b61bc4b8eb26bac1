"""How good a set of lists is on the weeks after the cut-off: ranking metrics at k.

``lists`` is members × k product indices in rank order, -1 where a list is shorter;
``bought`` is members × products (sparse), non-zero where the member bought the product in
the test weeks. Relevance is binary: a product bought once in the test weeks is a hit as
much as one bought four times. Members who bought nothing in the test weeks are left out
of the ranking metrics (no list can be right or wrong for them), as is usual.

- precision@k: hits / k, with a short list still divided by k;
- recall@k: hits / products bought;
- NDCG@k: sum of 1 / log2(rank + 1) over hits, over the best possible for that member;
- MAP@k: mean over hits of precision at each hit's rank, over min(products bought, k);
- coverage: share of the recommendable products that appear in any list;
- novelty: mean -log2 of the share of members who bought each recommended product.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from regulars.analytics.recommend.history import IntArray

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ListQuality:
    precision: float
    recall: float
    ndcg: float
    map: float
    coverage: float
    novelty: float
    members: int  # members with purchases in the test weeks, over whom the means are taken


def hits(lists: IntArray, bought: sp.csr_matrix) -> npt.NDArray[np.bool_]:
    """Members × k: whether each listed product was bought in the test weeks."""
    found = sp.csr_matrix(bought).tocoo()
    products = bought.shape[1]
    keys = np.sort(found.row.astype(np.int64) * products + found.col)
    rows = np.repeat(np.arange(lists.shape[0], dtype=np.int64), lists.shape[1])
    asked = rows * products + lists.ravel()
    where = np.minimum(np.searchsorted(keys, asked), max(keys.size - 1, 0))
    matched = (keys[where] == asked) if keys.size else np.zeros(asked.size, dtype=bool)
    return (matched & (lists.ravel() >= 0)).reshape(lists.shape)


def list_quality(
    lists: IntArray, bought: sp.csr_matrix, *, popularity: FloatArray, recommendable: int
) -> ListQuality:
    """The metrics of the module docstring; ``popularity`` is each product's share of buyers."""
    k = lists.shape[1]
    relevant = np.diff(sp.csr_matrix(bought).indptr).astype(np.float64)
    judged = relevant > 0
    hit = hits(lists, bought)[judged].astype(np.float64)
    relevant = relevant[judged]
    ranks = np.arange(1, k + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    ideal = np.cumsum(discount)[np.minimum(relevant, k).astype(np.int64) - 1]
    precision_at = np.cumsum(hit, axis=1) / ranks
    listed = lists[lists >= 0]
    shares = np.maximum(popularity[listed], 1e-12)

    def mean(values: FloatArray) -> float:
        return float(values.mean()) if values.size else 0.0

    return ListQuality(
        precision=mean(hit.sum(axis=1) / k),
        recall=mean(hit.sum(axis=1) / relevant),
        ndcg=mean((hit * discount).sum(axis=1) / ideal),
        map=mean((precision_at * hit).sum(axis=1) / np.minimum(relevant, k)),
        coverage=float(np.unique(listed).size / recommendable) if recommendable else 0.0,
        novelty=mean(-np.log2(shares)),
        members=int(judged.sum()),
    )
