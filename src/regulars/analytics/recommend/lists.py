"""Top-N lists per member: the two baselines, the two models alone, and their blend.

Every list obeys the same exclusions (``PurchaseHistory.allowed``): nothing excluded from
promotion, nothing the member's usual store did not sell. The models alone rank
the due regulars (reason ``buy_again``) or products like the ones the member buys
(``also_like``) first; the blend is described at ``blended_lists``. The chain's best
sellers (``popular``) fill every list. A
member with no history gets the best sellers only, and is flagged ``fallback``.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import scipy.sparse as sp

from regulars.analytics.recommend.also_like import AlsoLike
from regulars.analytics.recommend.buy_again import BuyAgain
from regulars.analytics.recommend.history import IntArray, PurchaseHistory

FloatArray = npt.NDArray[np.float64]
CHUNK: Final = 4096  # members scored at once: a dense chunk × products stays small


class Reason(StrEnum):
    BUY_AGAIN = "buy_again"
    ALSO_LIKE = "also_like"
    POPULAR = "popular"


REASONS: Final = tuple(Reason)


@dataclass(frozen=True)
class MemberLists:
    """Members' ranked lists: ``products`` and ``scores`` are members × k, -1 / NaN padded;
    ``reasons`` indexes ``REASONS``; ``fallback`` marks members without history."""

    member: IntArray
    products: IntArray
    scores: FloatArray
    reasons: npt.NDArray[np.int8]
    fallback: npt.NDArray[np.bool_]


def top_products(scores: FloatArray, allowed: npt.NDArray[np.bool_], k: int) -> IntArray:
    """Each row's ``k`` best allowed products with a positive score, best first; -1 pads."""
    masked = np.where(allowed & (scores > 0), scores, -np.inf)
    k = min(k, masked.shape[1])
    best = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(masked, best, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    return np.where(np.isfinite(np.take_along_axis(masked, best, axis=1)), best, -1)


def buyer_share(history: PurchaseHistory) -> FloatArray:
    """Each product's share of members who bought it: the popularity of the baselines."""
    bought = np.zeros(history.shape, dtype=bool)
    bought[history.member, history.product] = True
    return np.asarray(bought.sum(axis=0) / max(history.shape[0], 1), dtype=np.float64)


def _popular_tiebreak(history: PurchaseHistory) -> FloatArray:
    """A score below 1 that orders by popularity, so equal scores fall to the best seller."""
    share = buyer_share(history)
    return share / (share.max() + 1.0) if share.size else share


def _lists(
    history: PurchaseHistory,
    members: IntArray,
    k: int,
    layers: list[tuple[Reason, FloatArray]],
) -> MemberLists:
    """Rank by layer (a higher layer always wins), then by the layer's score."""
    allowed = history.allowed(members)
    total = np.zeros((members.size, history.shape[1]))
    reason = np.full(total.shape, len(REASONS) - 1, dtype=np.int8)
    for level, (why, score) in enumerate(reversed(layers)):
        present = score > 0
        total = np.where(present, level + np.minimum(score, 1.0 - 1e-9), total)
        reason = np.where(present, np.int8(REASONS.index(why)), reason)
    best = top_products(total, allowed, k)
    rows = np.arange(members.size)[:, None]
    padded = best < 0
    safe = np.where(padded, 0, best)
    return MemberLists(
        member=members,
        products=best,
        scores=np.where(padded, np.nan, total[rows, safe] % 1.0),
        reasons=np.where(padded, -1, reason[rows, safe]).astype(np.int8),
        fallback=np.zeros(members.size, dtype=bool),
    )


def popular_lists(history: PurchaseHistory, members: IntArray, k: int) -> MemberLists:
    """Baseline: the chain's best sellers by share of buyers, the same for everyone."""
    share = np.broadcast_to(_popular_tiebreak(history), (members.size, history.shape[1]))
    return _lists(history, members, k, [(Reason.POPULAR, np.array(share))])


def favourite_lists(history: PurchaseHistory, members: IntArray, k: int) -> MemberLists:
    """Baseline: the member's own most bought products (purchase days), ties and gaps
    filled by the best sellers."""
    days = history.purchase_days()[members].toarray()
    tie = _popular_tiebreak(history)
    own = np.where(days > 0, days / (days.max(initial=0.0) + 1.0) + tie * 1e-3, 0.0)
    popular = np.broadcast_to(tie, days.shape)
    return _lists(history, members, k, [(Reason.BUY_AGAIN, own), (Reason.POPULAR, popular)])


def model_lists(
    history: PurchaseHistory,
    members: IntArray,
    k: int,
    *,
    buy_again: BuyAgain | None,
    also_like: AlsoLike | None,
    as_of_day: int,
) -> MemberLists:
    """One model alone: due regulars (``buy_again``) or look-alikes of what the member buys
    that are not already regulars (``also_like``), then best sellers."""
    tie = _popular_tiebreak(history)
    due = buy_again.due_scores(as_of_day) if buy_again else None
    regular = buy_again.regulars() if buy_again else None
    days = history.purchase_days()
    found: list[MemberLists] = []
    for start in range(0, members.size, CHUNK):
        chunk = members[start : start + CHUNK]
        layers: list[tuple[Reason, FloatArray]] = []
        if due is not None:
            layers.append((Reason.BUY_AGAIN, due[chunk].toarray()))
        if also_like is not None:
            layers.append((Reason.ALSO_LIKE, _likeness(also_like, days[chunk], regular, chunk)))
        layers.append((Reason.POPULAR, np.broadcast_to(tie, (chunk.size, tie.size)).copy()))
        found.append(_lists(history, chunk, k, layers))
    return _flagged(_joined(found, k), days, members)


def _likeness(
    also_like: AlsoLike, days: sp.csr_matrix, regular: sp.csr_matrix | None, chunk: IntArray
) -> FloatArray:
    """Each product's share of the member's total likeness, regulars left out."""
    affinity = also_like.affinity(days)
    if regular is not None:
        affinity[regular[chunk].toarray() > 0] = 0.0
    total = affinity.sum(axis=1, keepdims=True)
    return np.asarray(affinity / np.where(total > 0, total, 1.0), dtype=np.float64)


def blended_lists(
    history: PurchaseHistory,
    members: IntArray,
    k: int,
    *,
    buy_again: BuyAgain,
    also_like: AlsoLike,
    as_of_day: int,
) -> MemberLists:
    """What the member buys most, ties and first-time products settled by likeness.

    The order is purchase days plus the product's share of the member's likeness (below
    one, so it only settles ties and ranks products never bought). On the demo chain this
    beats ranking the regulars by how due they are, because its households buy at random
    moments rather than on cycles; the due probability is still what a regular's row
    shows as its score, and a chain with real cycles can rank by ``model_lists`` instead.
    Rows are ``buy_again`` for the member's regulars, ``also_like`` for other products the
    likeness ranked, and ``popular`` for the best sellers that fill the list.
    """
    tie = _popular_tiebreak(history)
    due = buy_again.due_scores(as_of_day)
    regular = buy_again.regulars()
    days = history.purchase_days()
    found: list[MemberLists] = []
    for start in range(0, members.size, CHUNK):
        chunk = members[start : start + CHUNK]
        bought = days[chunk].toarray()
        likeness = _likeness(also_like, days[chunk], None, chunk)
        own = bought + 0.999 * likeness + 1e-6 * tie
        own = np.where((bought > 0) | (likeness > 0), own, 0.0)
        popular = np.broadcast_to(tie, own.shape).copy()
        ranked = _lists(
            history, chunk, k, [(Reason.ALSO_LIKE, own / (own.max(initial=0.0) + 1.0)),
                                (Reason.POPULAR, popular)]
        )  # fmt: skip
        rows = np.arange(chunk.size)[:, None]
        safe = np.where(ranked.products < 0, 0, ranked.products)
        is_regular = (regular[chunk].toarray() > 0)[rows, safe] & (ranked.products >= 0)
        liked = ranked.reasons == REASONS.index(Reason.ALSO_LIKE)
        reasons = np.where(is_regular, np.int8(REASONS.index(Reason.BUY_AGAIN)), ranked.reasons)
        scores = np.where(liked, likeness[rows, safe], ranked.scores)
        scores = np.where(is_regular, due[chunk].toarray()[rows, safe], scores)
        found.append(
            MemberLists(chunk, ranked.products, scores, reasons.astype(np.int8), ranked.fallback)
        )
    return _flagged(_joined(found, k), days, members)


def _flagged(lists: MemberLists, days: sp.csr_matrix, members: IntArray) -> MemberLists:
    has_history = np.diff(sp.csr_matrix(days).indptr)[members] > 0
    return MemberLists(lists.member, lists.products, lists.scores, lists.reasons, ~has_history)


def _joined(parts: list[MemberLists], k: int) -> MemberLists:
    if not parts:
        empty = np.zeros((0, k))
        return MemberLists(
            np.zeros(0, np.int64), empty.astype(np.int64), empty, empty.astype(np.int8),
            np.zeros(0, bool),
        )  # fmt: skip
    return MemberLists(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in MemberLists.__dataclass_fields__)
    )


def recommendation_table(history: PurchaseHistory, lists: MemberLists) -> pa.Table:
    """One row per member and rank, for writing back to member profiles.

    Columns: member_id, rank (1 = best), sku, reason, score (the layer's own score: a due
    probability, a relative likeness, a share of buyers) and fallback.
    """
    listed = lists.products >= 0
    row, rank = np.nonzero(listed)
    return pa.table(
        {
            "member_id": pa.array(history.members[lists.member[row]]),
            "rank": pa.array(rank + 1, type=pa.int16()),
            "sku": pa.array(history.products[lists.products[row, rank]]),
            "reason": pa.array(np.array([r.value for r in REASONS])[lists.reasons[row, rank]]),
            "score": pa.array(lists.scores[row, rank]),
            "fallback": pa.array(lists.fallback[row]),
        }
    )
