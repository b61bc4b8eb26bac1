"""Top-N lists per member: the two baselines, the two models alone, and their blend.

A list is ranked from candidate entries (member, product, layer, score): a lower layer
always wins, then a higher score, then the better seller. Only candidates are ranked,
never every product for every member: the member's own products, the ``k`` products
most like them, and the ``2k`` best sellers their usual store stocks, which fill every
list whatever the other layers hold. A range of 100,000 products thus costs what its
members buy, not members × products.

Every list obeys the same exclusions (``PurchaseHistory.allows``): nothing excluded from
promotion, nothing the member's usual store did not sell. A member with no history gets
the best sellers only, and is flagged ``fallback``.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Final, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import scipy.sparse as sp

from regulars.analytics.recommend.also_like import AlsoLike
from regulars.analytics.recommend.buy_again import BuyAgain
from regulars.analytics.recommend.history import IntArray, PurchaseHistory

FloatArray = npt.NDArray[np.float64]
CELLS: Final = 1 << 22  # members × products held densely at once while finding look-alikes


class Reason(StrEnum):
    BUY_AGAIN = "buy_again"
    ALSO_LIKE = "also_like"
    POPULAR = "popular"


REASONS: Final = tuple(Reason)


@dataclass(frozen=True)
class Blend:
    """How the blend weighs a member's own purchases.

    Each purchase day counts ``0.5 ** (age / half_life_days)`` (``None``: every day alike,
    which is the own-favourites order), and a regular's total is raised by
    ``1 + due_weight × the chance it is bought within the horizon``. Which blend suits a
    chain is measured, not assumed: see ``evaluation.choose_blend``.
    """

    half_life_days: float | None = None
    due_weight: float = 0.0

    def weighted_days(self, history: PurchaseHistory, as_of_day: int) -> sp.csr_matrix:
        """Members × products: purchase days weighted by their age at ``as_of_day``."""
        age = (as_of_day - history.day).astype(np.float64)
        weight = (
            np.ones(age.size) if self.half_life_days is None else 0.5 ** (age / self.half_life_days)
        )
        return sp.csr_matrix((weight, (history.member, history.product)), shape=history.shape)

    def __str__(self) -> str:
        recency = (
            "every purchase day alike"
            if self.half_life_days is None
            else f"purchase days halved every {self.half_life_days / 7:g} weeks"
        )
        return f"{recency}, due regulars ×(1 + {self.due_weight:g} × chance)"


# The candidates a chain's blend is chosen from, the plain one first (it wins ties).
BLENDS: Final = tuple(Blend(h, d) for h in (None, 182.0, 91.0) for d in (0.0, 1.0))


@dataclass(frozen=True)
class MemberLists:
    """Members' ranked lists: ``products`` and ``scores`` are members × k, -1 / NaN padded;
    ``reasons`` indexes ``REASONS``; ``fallback`` marks members without history."""

    member: IntArray
    products: IntArray
    scores: FloatArray
    reasons: npt.NDArray[np.int8]
    fallback: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Candidates:
    """Entries a list may hold: ``row`` into the members asked for, the product, the layer
    (lower wins), the score it ranks by (higher wins), and the reason and score shown."""

    row: IntArray
    product: IntArray
    layer: IntArray
    score: FloatArray
    reason: npt.NDArray[np.int8]
    shown: FloatArray

    @classmethod
    def of(cls, matrix: sp.spmatrix, *, layer: int, reason: Reason) -> Self:
        """The positive entries of a members × products matrix, shown as they rank."""
        found = sp.coo_matrix(matrix)
        keep = found.data > 0
        score = found.data[keep].astype(np.float64)
        return cls.at(found.row[keep], found.col[keep], score, layer=layer, reason=reason)

    @classmethod
    def at(
        cls, row: npt.ArrayLike, product: npt.ArrayLike, score: FloatArray, *, layer: int,
        reason: Reason,
    ) -> Self:  # fmt: skip
        rows = np.asarray(row, dtype=np.int64)
        return cls(
            rows,
            np.asarray(product, dtype=np.int64),
            np.full(rows.size, layer, dtype=np.int64),
            score,
            np.full(rows.size, REASONS.index(reason), dtype=np.int8),
            score,
        )

    @classmethod
    def joined(cls, parts: Sequence["Candidates"]) -> Self:
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    def taken(self, keep: npt.NDArray[np.bool_] | IntArray) -> "Candidates":
        return Candidates(*(getattr(self, f.name)[keep] for f in fields(self)))


def top_products(scores: FloatArray, allowed: npt.NDArray[np.bool_], k: int) -> IntArray:
    """Each row's ``k`` best allowed products with a positive score, best first; -1 pads."""
    masked = np.where(allowed & (scores > 0), scores, -np.inf)
    k = min(k, masked.shape[1])
    best = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(masked, best, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    return np.where(np.isfinite(np.take_along_axis(masked, best, axis=1)), best, -1)


def chunks(members: IntArray, products: int) -> Iterator[tuple[int, IntArray]]:
    """``members`` in runs small enough to hold densely against every product, each with
    the position of its first member."""
    size = max(1, CELLS // max(products, 1))
    for start in range(0, members.size, size):
        yield start, members[start : start + size]


def buyer_share(history: PurchaseHistory) -> FloatArray:
    """Each product's share of members who bought it: the popularity of the baselines."""
    products = history.shape[1]
    pairs = np.unique(history.member * products + history.product)
    buyers = np.bincount(pairs % products, minlength=products) if products else pairs
    return np.asarray(buyers / max(history.shape[0], 1), dtype=np.float64)


def _best_sellers(
    history: PurchaseHistory, members: IntArray, k: int, popularity: FloatArray, *, layer: int
) -> Candidates:
    """Each member's ``2k`` best sellers among what their usual store stocks: with at most
    ``k`` of them taken by the layers above, at least ``k`` are left to fill the list."""
    order = np.argsort(-popularity, kind="stable")
    order = order[(popularity[order] > 0) & ~history.excluded[order]]
    stores = history.usual_store[members]
    rows: list[IntArray] = []
    products: list[IntArray] = []
    for store in np.unique(stores):
        shelf = order if store < 0 else order[history.stocked[store, order]]
        who = np.flatnonzero(stores == store)
        rows.append(np.repeat(who, min(shelf.size, 2 * k)))
        products.append(np.tile(shelf[: 2 * k], who.size))
    product = np.concatenate(products) if products else np.zeros(0, dtype=np.int64)
    return Candidates.at(
        np.concatenate(rows) if rows else product, product, popularity[product], layer=layer,
        reason=Reason.POPULAR,
    )  # fmt: skip


def _ranked(
    history: PurchaseHistory,
    members: IntArray,
    k: int,
    candidates: Candidates,
    popularity: FloatArray,
) -> MemberLists:
    """Each member's ``k`` best allowed candidates (see the module's docstring)."""
    c = candidates.taken(history.allows(members[candidates.row], candidates.product))
    # One entry per member and product: the one from the lowest layer, then the best score.
    order = np.lexsort((-c.score, c.layer, c.product, c.row))
    pair = c.row[order] * history.shape[1] + c.product[order]
    c = c.taken(order[np.concatenate([[True], pair[1:] != pair[:-1]]) if pair.size else order])
    c = c.taken(np.lexsort((-popularity[c.product], -c.score, c.layer, c.row)))
    rank = np.arange(c.row.size) - np.searchsorted(c.row, c.row)
    c, rank = c.taken(rank < k), rank[rank < k]
    products = np.full((members.size, k), -1, dtype=np.int64)
    scores = np.full((members.size, k), np.nan)
    reasons = np.full((members.size, k), -1, dtype=np.int8)
    products[c.row, rank] = c.product
    scores[c.row, rank] = c.shown
    reasons[c.row, rank] = c.reason
    bought = np.bincount(history.member, minlength=history.shape[0])[members] > 0
    return MemberLists(members, products, scores, reasons, ~bought)


def _look_alikes(
    history: PurchaseHistory, members: IntArray, k: int, also_like: AlsoLike,
    leave_out: sp.csr_matrix,
) -> tuple[Candidates, sp.csr_matrix]:  # fmt: skip
    """Each member's ``k`` allowed products most like what they buy, outside ``leave_out``
    (members × products), scored by their share of the member's likeness; and that share
    at the entries of ``leave_out``."""
    days = history.purchase_days()
    found: list[Candidates] = []
    inside: list[sp.csr_matrix] = []
    for start, chunk in chunks(members, history.shape[1]):
        affinity = also_like.affinity(days[chunk])
        total = affinity.sum(axis=1, keepdims=True)
        share = affinity / np.where(total > 0, total, 1.0)
        left = sp.csr_matrix(leave_out[start : start + chunk.size] > 0)
        inside.append(sp.csr_matrix(left.multiply(share)))
        share[left.nonzero()] = 0.0
        best = top_products(share, history.allowed(chunk), k)
        row, rank = np.nonzero(best >= 0)
        product = best[row, rank]
        found.append(
            Candidates.at(start + row, product, share[row, product], layer=0,
                          reason=Reason.ALSO_LIKE)
        )  # fmt: skip
    empty = sp.csr_matrix(leave_out.shape)
    return (
        Candidates.joined(found)
        if found
        else Candidates.of(empty, layer=0, reason=Reason.ALSO_LIKE),
        sp.csr_matrix(sp.vstack(inside)) if inside else empty,
    )


def popular_lists(history: PurchaseHistory, members: IntArray, k: int) -> MemberLists:
    """Baseline: the chain's best sellers by share of buyers, the same for everyone."""
    popularity = buyer_share(history)
    fill = _best_sellers(history, members, k, popularity, layer=0)
    return _ranked(history, members, k, fill, popularity)


def favourite_lists(history: PurchaseHistory, members: IntArray, k: int) -> MemberLists:
    """Baseline: the member's own most bought products (purchase days), ties and gaps
    filled by the best sellers."""
    popularity = buyer_share(history)
    own = Candidates.of(history.purchase_days()[members], layer=0, reason=Reason.BUY_AGAIN)
    fill = _best_sellers(history, members, k, popularity, layer=1)
    return _ranked(history, members, k, Candidates.joined([own, fill]), popularity)


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
    popularity = buyer_share(history)
    layers: list[Candidates] = []
    if buy_again is not None:
        due = buy_again.due_scores(as_of_day)[members]
        layers.append(Candidates.of(due, layer=0, reason=Reason.BUY_AGAIN))
    if also_like is not None:
        regular = (
            buy_again.regulars()[members]
            if buy_again
            else sp.csr_matrix((members.size, history.shape[1]))
        )
        alike, _ = _look_alikes(history, members, k, also_like, regular)
        layers.append(Candidates(**{**vars(alike), "layer": alike.layer + len(layers)}))
    layers.append(_best_sellers(history, members, k, popularity, layer=len(layers)))
    return _ranked(history, members, k, Candidates.joined(layers), popularity)


def blended_lists(
    history: PurchaseHistory,
    members: IntArray,
    k: int,
    *,
    buy_again: BuyAgain,
    also_like: AlsoLike,
    as_of_day: int,
    blend: Blend = Blend(),
) -> MemberLists:
    """What the member buys most, as ``blend`` weighs it, then products like those.

    The order is the member's weighted purchase days (``Blend``) plus the product's share
    of the member's likeness. The shares sum to one over the products, so they settle ties
    between the member's own products and rank the ones never bought. Rows are
    ``buy_again`` for the member's regulars (score: the chance of buying within the
    horizon), ``also_like`` for other products the likeness ranked (score: its share), and
    ``popular`` for the best sellers that fill the list.
    """
    (found,) = blend_candidates(
        history,
        members,
        k,
        buy_again=buy_again,
        also_like=also_like,
        as_of_day=as_of_day,
        blends=(blend,),
    )
    return found


def _values_at(matrix: sp.spmatrix, row: IntArray, col: IntArray) -> FloatArray:
    return np.asarray(sp.csr_matrix(matrix)[row, col], dtype=np.float64).ravel()


def blend_candidates(
    history: PurchaseHistory,
    members: IntArray,
    k: int,
    *,
    buy_again: BuyAgain,
    also_like: AlsoLike,
    as_of_day: int,
    blends: Sequence[Blend],
) -> list[MemberLists]:
    """``blended_lists`` for each of ``blends``, sharing the work they have in common."""
    popularity = buyer_share(history)
    days = history.purchase_days()[members]
    alike, liked = _look_alikes(history, members, k, also_like, days)
    alike = Candidates(**{**vars(alike), "score": 0.999 * alike.score})
    fill = _best_sellers(history, members, k, popularity, layer=1)
    own = sp.coo_matrix(days)
    row, product = own.row.astype(np.int64), own.col.astype(np.int64)
    chance = _values_at(buy_again.due_scores(as_of_day)[members], row, product)
    likeness = _values_at(liked, row, product)
    regular = chance > 0  # the due scores are positive exactly at the member's regulars
    shown = np.where(regular, chance, likeness)
    reason = np.where(regular, REASONS.index(Reason.BUY_AGAIN), REASONS.index(Reason.ALSO_LIKE))
    found = []
    for blend in blends:
        weighted = _values_at(blend.weighted_days(history, as_of_day)[members], row, product)
        score = weighted * (1.0 + blend.due_weight * chance) + 0.999 * likeness
        mine = Candidates(row, product, np.zeros(row.size, np.int64), score,
                          reason.astype(np.int8), shown)  # fmt: skip
        joined = Candidates.joined([mine, alike, fill])
        found.append(_ranked(history, members, k, joined, popularity))
    return found


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
