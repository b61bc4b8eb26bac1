"""You may also like: products bought by the same members as the ones you buy.

Item-to-item cosine similarity over members' histories (a member either bought a product
in the training window or not): two products are alike when the same households buy both,
as nappies and wipes, or beer and crisps. Counting buyers rather than purchase days keeps
one household's weekly milk from making milk similar to everything. The similarity is
shrunk by ``shrinkage`` so that two products sharing three buyers do not beat two that
share three hundred, and each product keeps only its ``neighbours`` nearest products,
which bounds the work on a large range.
"""

from typing import Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from regulars.analytics.clv_fitting import ModelNotFitted

FloatArray = npt.NDArray[np.float64]


def _keep_nearest(similarity: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Each row's ``neighbours`` largest entries; the rest are dropped."""
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int32]] = []
    vals: list[FloatArray] = []
    for row in range(similarity.shape[0]):
        start, end = similarity.indptr[row], similarity.indptr[row + 1]
        data = similarity.data[start:end]
        if data.size > neighbours:
            keep = np.argpartition(-data, neighbours - 1)[:neighbours]
        else:
            keep = np.arange(data.size)
        rows.append(np.full(keep.size, row, dtype=np.int64))
        cols.append(similarity.indices[start:end][keep])
        vals.append(data[keep])
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=similarity.shape,
    )


class AlsoLike:
    """Item-to-item cosine similarity learned from members' purchase histories.

    Parameters
    ----------
    neighbours:
        Similar products kept per product.
    shrinkage:
        Added to the cosine's denominator: similarity earned by few shared buyers shrinks.
    """

    def __init__(self, *, neighbours: int = 50, shrinkage: float = 10.0) -> None:
        self.neighbours = neighbours
        self.shrinkage = shrinkage

    def fit(self, purchase_days: sp.csr_matrix) -> Self:
        """Learn from a members × products matrix of purchase days (any positive count)."""
        bought = (sp.csr_matrix(purchase_days) > 0).astype(np.float64)
        together = sp.csr_matrix(bought.T @ bought)
        buyers = np.asarray(bought.sum(axis=0)).ravel()
        together.setdiag(0.0)
        together.eliminate_zeros()
        coo = together.tocoo()
        norm = np.sqrt(buyers[coo.row] * buyers[coo.col]) + self.shrinkage
        cosine = sp.csr_matrix((coo.data / norm, (coo.row, coo.col)), shape=together.shape)
        self.similarity_ = _keep_nearest(cosine, self.neighbours)
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
