"""Buy again: the products a member buys on a cycle, ranked by how due they are.

Each member's product with at least ``min_repeats`` purchase days is a regular. Its gaps
between purchases are taken to follow a Weibull distribution whose median is the member's
own median gap: a shape above 1 means the chance of buying grows as the last purchase
ages, which is what a cycle is (milk weekly, rice monthly). The score is the chance the
member buys it within the next ``horizon_days``:

    P(buys within h | s days since the last) = alive × (1 - S(s + h) / S(s))

where ``S`` is the Weibull survival function and ``alive`` the chance the member still buys
the product at all. Before seeing the gap, that chance is ``n / (n + prior_repeats)`` for
``n`` purchase days, so two purchases earn less trust than twenty; a gap far beyond the
usual cycle then lowers it by Bayes' rule (someone who still bought it would probably have
done so by now). A weekly product last bought ten days ago thus outranks a monthly one
bought five days ago, and a weekly product untouched for three months sinks.
"""

from typing import Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.analytics.recommend.history import IntArray, PurchaseHistory
from regulars.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]


def due_probability(
    days_since: FloatArray,
    typical_interval: FloatArray,
    repeats: FloatArray,
    *,
    horizon_days: float,
    regularity: float = 1.5,
    prior_repeats: float = 1.0,
) -> FloatArray:
    """The chance of a purchase within ``horizon_days`` (see the module's docstring)."""
    interval = np.maximum(np.asarray(typical_interval, dtype=np.float64), 1.0)
    scale = interval / np.log(2.0) ** (1.0 / regularity)
    since = np.maximum(np.asarray(days_since, dtype=np.float64), 0.0)
    waited = (since / scale) ** regularity  # -log S(s)
    later = ((since + horizon_days) / scale) ** regularity
    within = -np.expm1(waited - later)
    trust = repeats / (repeats + prior_repeats)
    still = np.exp(-waited)
    alive = trust * still / (trust * still + 1.0 - trust)
    return np.asarray(alive * within, dtype=np.float64)


def _medians(group: IntArray, values: FloatArray, groups: int) -> FloatArray:
    """The median of ``values`` within each group, without a Python loop over groups."""
    order = np.lexsort((values, group))
    ordered = values[order]
    counts = np.bincount(group, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    low = starts + np.maximum(counts - 1, 0) // 2
    high = starts + counts // 2
    found = np.full(groups, np.nan)
    has = counts > 0
    found[has] = (ordered[low[has]] + ordered[high[has]]) / 2.0
    return found


class BuyAgain:
    """Learns each member's regulars and their cycles; scores how due each one is.

    Parameters
    ----------
    min_repeats:
        Purchase days that make a product one of the member's regulars.
    horizon_days:
        The window the score is the purchase chance of: the weeks a list stays in use.
    regularity:
        Weibull shape of the gaps: 1 is memoryless, higher is more clockwork.
    prior_repeats:
        How many purchase days the trust in a regular is shrunk by.
    """

    def __init__(
        self,
        *,
        min_repeats: int = 2,
        horizon_days: float = 28.0,
        regularity: float = 1.5,
        prior_repeats: float = 1.0,
    ) -> None:
        self.min_repeats = min_repeats
        self.horizon_days = horizon_days
        self.regularity = regularity
        self.prior_repeats = prior_repeats

    def fit(self, history: PurchaseHistory) -> Self:
        if self.min_repeats < 2:
            raise InvalidInput("a cycle needs at least two purchase days", field="min_repeats")
        order = np.lexsort((history.day, history.product, history.member))
        member, product, day = history.member[order], history.product[order], history.day[order]
        pairs = member * len(history.products) + product
        first = np.concatenate([[True], pairs[1:] != pairs[:-1]]) if pairs.size else pairs > 0
        pair_of_row = np.cumsum(first) - 1
        starts = np.flatnonzero(first)
        repeats = np.bincount(pair_of_row, minlength=starts.size)
        gaps = np.diff(day).astype(np.float64)
        gap_pair = pair_of_row[1:]
        same = ~first[1:]
        interval = _medians(gap_pair[same], gaps[same], starts.size)
        last = np.maximum.reduceat(day, starts) if starts.size else day
        regular = repeats >= self.min_repeats
        self.member_ = member[starts][regular]
        self.product_ = product[starts][regular]
        self.repeats_ = repeats[regular].astype(np.float64)
        self.typical_interval_ = interval[regular]
        self.last_day_ = last[regular]
        self.shape_ = history.shape
        return self

    def _check(self) -> None:
        if not hasattr(self, "member_"):
            raise ModelNotFitted("fit the buy-again model first")

    def regulars(self) -> sp.csr_matrix:
        """Members × products: 1 where the product is one of the member's regulars."""
        self._check()
        ones = np.ones(self.member_.size)
        return sp.csr_matrix((ones, (self.member_, self.product_)), shape=self.shape_)

    def due_scores(self, as_of_day: int) -> sp.csr_matrix:
        """Members × products: the chance of buying each regular within the horizon."""
        self._check()
        score = due_probability(
            (as_of_day - self.last_day_).astype(np.float64),
            self.typical_interval_,
            self.repeats_,
            horizon_days=self.horizon_days,
            regularity=self.regularity,
            prior_repeats=self.prior_repeats,
        )
        # A due score of exactly 0 would vanish from the sparse matrix; keep it tiny.
        kept = np.maximum(score, 1e-12)
        return sp.csr_matrix((kept, (self.member_, self.product_)), shape=self.shape_)
