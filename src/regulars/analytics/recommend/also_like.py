"""You may also like: products bought by the same members as the ones you buy.

Item-to-item cosine similarity over members' histories (a member either bought a product
in the training window or not): two products are alike when the same households buy both,
as nappies and wipes, or beer and crisps. Counting buyers rather than purchase days keeps
one household's weekly milk from making milk similar to everything. The similarity is
shrunk by ``shrinkage`` so that two products sharing three buyers do not beat two that
share three hundred; a product fewer than ``min_buyers`` members bought has no
look-alikes and is nobody's. Each product keeps only its ``neighbours`` nearest products,
which bounds the work on a large range. The products are paired a block at a time, so a
range of 100,000 products never holds every pair at once.
"""

from typing import Final, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from regulars.analytics.clv_fitting import ModelNotFitted

FloatArray = npt.NDArray[np.float64]
PAIRS: Final = 1 << 24  # product pairs a block may hold at most (rows × products)


def _keep_nearest(similarity: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Each row's ``neighbours`` largest positive entries; the rest are dropped."""
    counts = np.zeros(similarity.shape[0], dtype=np.int64)
    cols: list[npt.NDArray[np.int32]] = []
    vals: list[FloatArray] = []
    for row in range(similarity.shape[0]):
        start, end = similarity.indptr[row], similarity.indptr[row + 1]
        data = similarity.data[start:end]
        keep = np.flatnonzero(data > 0)
        if keep.size > neighbours:
            keep = keep[np.argpartition(-data[keep], neighbours - 1)[:neighbours]]
        counts[row] = keep.size
        cols.append(similarity.indices[start:end][keep])
        vals.append(data[keep])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix(
        (np.concatenate(vals), np.concatenate(cols), indptr), shape=similarity.shape
    )


class AlsoLike:
    """Item-to-item cosine similarity learned from members' purchase histories.

    Parameters
    ----------
    neighbours:
        Similar products kept per product.
    shrinkage:
        Added to the cosine's denominator: similarity earned by few shared buyers shrinks.
    min_buyers:
        Members a product needs before it is compared at all.
    """

    def __init__(
        self, *, neighbours: int = 50, shrinkage: float = 10.0, min_buyers: int = 2
    ) -> None:
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.min_buyers = min_buyers

    def fit(self, purchase_days: sp.csr_matrix) -> Self:
        """Learn from a members × products matrix of purchase days (any positive count)."""
        bought = (sp.csr_matrix(purchase_days) > 0).astype(np.float64)
        buyers = np.asarray(bought.sum(axis=0)).ravel()
        bought = sp.csr_matrix(bought.multiply((buyers >= self.min_buyers)[None, :]))
        bought.eliminate_zeros()
        products = bought.shape[1]
        by_product = sp.csr_matrix(bought.T)
        rows = max(1, PAIRS // max(products, 1))
        blocks = []
        for start in range(0, products, rows):
            cosine = sp.csr_matrix(by_product[start : start + rows] @ bought)
            row = start + np.repeat(np.arange(cosine.shape[0]), np.diff(cosine.indptr))
            norm = np.sqrt(buyers[row] * buyers[cosine.indices]) + self.shrinkage
            cosine.data = np.where(row == cosine.indices, 0.0, cosine.data / norm)
            blocks.append(_keep_nearest(cosine, self.neighbours))
        self.similarity_ = sp.csr_matrix(sp.vstack(blocks)) if blocks else by_product @ bought
        self.buyers_ = buyers
        return self

    def affinity(self, purchase_days: sp.csr_matrix) -> FloatArray:
        """Members × products: how much each product resembles what the member buys.

        Each bought product votes with the log of its purchase days, so a staple counts
        more than a one-off without drowning it.
        """
        if not hasattr(self, "similarity_"):
            raise ModelNotFitted("fit the also-like model first")
        weights = sp.csr_matrix(purchase_days, dtype=np.float64)
        weights.data = np.log1p(weights.data)
        return np.asarray((weights @ self.similarity_).toarray(), dtype=np.float64)
