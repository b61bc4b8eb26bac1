"""Frequent itemsets, exactly, by Eclat over packed bitsets.

Why this shape: counting is the whole cost of mining, and a popcount over 64 baskets at a
time is the cheapest count NumPy has (``np.bitwise_count``). Items are numbered from the
rarest up; each item ``a`` then owns the itemsets whose rarest member it is. Its
baskets are the only ones those itemsets can occur in, so its bitsets are as wide as
``a``'s own count, not the whole file's, and its partners are only the items commoner than
it: rare items have many partners but short bitsets, common items long bitsets but few
partners. Pairs are counted without bitsets, from the baskets' own item lists, which costs
the sum of the squared basket sizes and tells before any bitset exists how big the answer
is (``TooManyItemsets`` instead of running out of memory). Beyond pairs the search is
depth first: a prefix's bitset ANDed with all its extensions' bitsets in one 2-D
operation, so Python runs once per frequent itemset and NumPy does the counting.
"""

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from regulars.analytics.baskets.basket import (
    Baskets,
    Codes,
    NoBaskets,
    TooManyItemsets,
    min_count,
    parse_share,
    share_text,
)

MAX_ITEMSETS: Final = 20_000_000  # ~1 GB of itemsets and counts at four items each
BITSET_BYTES: Final = 1 << 30  # the most bitsets one group of items may hold at once
SLICE_BYTES: Final = 1 << 26  # the most bitsets ANDed in one NumPy call
GROUP_ENTRIES: Final = 1 << 23  # the most basket entries one group's pairs are counted from
GROUP_CELLS: Final = 1 << 24  # the most pair counters one group keeps

Words = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Itemsets:
    """The frequent itemsets of some baskets, by size.

    ``levels[k - 1]`` holds the k-itemsets as rows of item codes (ascending within a row)
    and ``counts[k - 1]`` the number of baskets holding each. Counts are exact integers;
    supports are counts over ``baskets``.
    """

    levels: tuple[Codes, ...]
    counts: tuple[Codes, ...]
    baskets: int
    item_names: tuple[str, ...]
    min_support: Fraction

    def __len__(self) -> int:
        return sum(len(c) for c in self.counts)

    @property
    def max_size(self) -> int:
        return len(self.levels)

    @cached_property
    def _keys(self) -> tuple[tuple[npt.NDArray[Any], Codes], ...]:
        """Each level's rows as sortable byte strings, sorted, and the order that sorts them."""
        found = []
        for rows in self.levels:
            keys = _row_keys(rows)
            order = np.argsort(keys, kind="stable")
            found.append((keys[order], order))
        return tuple(found)

    def count_of(self, rows: Codes) -> Codes:
        """The counts of itemsets given as rows of ascending codes, all of one size.

        Every subset of a frequent itemset is frequent, so the rules ask only for rows
        that are present; a missing row is a bug and raises ``KeyError``.
        """
        size = rows.shape[1]
        keys, order = self._keys[size - 1]
        wanted = _row_keys(rows)
        at = np.searchsorted(keys, wanted).clip(0, max(len(keys) - 1, 0))
        if len(keys) == 0 or not np.array_equal(keys[at], wanted):
            raise KeyError("an itemset asked for is not frequent")
        return self.counts[size - 1][order[at]]

    def to_arrow(self) -> pa.Table:
        """One row per itemset: its item names, size, count and support."""
        names = np.array(self.item_names, dtype=object)
        items = [list(names[row]) for rows in self.levels for row in rows]
        counts = np.concatenate(self.counts) if self.counts else np.zeros(0, np.int64)
        return pa.table(
            {
                "items": pa.array(items, type=pa.list_(pa.string())),
                "size": pa.array([len(i) for i in items], type=pa.int32()),
                "count": pa.array(counts, type=pa.int64()),
                "support": pa.array(counts / self.baskets, type=pa.float64()),
            }
        )


def _row_keys(rows: Codes) -> npt.NDArray[Any]:
    """Rows of codes as opaque byte strings, so NumPy can sort and search whole rows."""
    plain = np.ascontiguousarray(rows, dtype=np.int64)
    return plain.view(np.dtype((np.void, 8 * plain.shape[1]))).ravel()


@dataclass
class _Found:
    """The itemsets met so far, kept as blocks per size until the search ends."""

    limit: int
    blocks: dict[int, list[tuple[Codes, Codes]]]
    total: int = 0

    def add(self, rows: Codes, counts: Codes) -> None:
        if not len(counts):
            return
        self.blocks.setdefault(rows.shape[1], []).append((rows, counts))
        self.total += len(counts)
        if self.total > self.limit:
            raise _Overflow


class _Overflow(Exception):
    """Internal: the search met more itemsets than allowed."""


@dataclass(frozen=True)
class _Recoded:
    """The baskets with rare items dropped and the others numbered from the rarest up."""

    indptr: Codes
    items: Codes  # ranks, ascending within a basket
    owner: Codes  # basket of each entry
    entries_of: Codes  # entry positions grouped by rank, baskets ascending within a rank
    starts: Codes  # where each rank's group begins in entries_of
    code_of: Codes  # rank -> item code
    counts: Codes  # count of each rank
    followers: Codes  # entries after each rank's entries in their baskets: pair-counting work


def _recode(baskets: Baskets, floor: int) -> _Recoded:
    counts = np.bincount(baskets.items, minlength=baskets.item_count)
    frequent = np.flatnonzero(counts >= floor)
    code_of = frequent[np.argsort(counts[frequent], kind="stable")]
    rank = np.full(baskets.item_count, -1, dtype=np.int64)
    rank[code_of] = np.arange(len(code_of))
    ranks = rank[baskets.items]
    keep = ranks >= 0
    owner = np.repeat(np.arange(len(baskets)), np.diff(baskets.indptr))[keep]
    width = max(len(code_of), 1)
    key = np.sort(owner * width + ranks[keep])
    owner, items = key // width, key % width
    indptr = np.zeros(len(baskets) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(baskets)), out=indptr[1:])
    entries_of = np.argsort(items, kind="stable")
    starts = np.zeros(len(code_of) + 1, dtype=np.int64)
    np.cumsum(np.bincount(items, minlength=len(code_of)), out=starts[1:])
    after = indptr[owner + 1] - np.arange(len(items)) - 1
    followers = np.bincount(items, weights=after, minlength=len(code_of)).astype(np.int64)
    return _Recoded(indptr, items, owner, entries_of, starts, code_of, counts[code_of], followers)


@dataclass(frozen=True)
class _Search:
    """What every step of one search needs."""

    floor: int  # the least count of a frequent itemset
    largest: int  # the largest itemset size wanted
    found: _Found
    support: Fraction


def frequent_itemsets(
    baskets: Baskets,
    min_support: Fraction | str | float,
    *,
    max_size: int | None = None,
    max_itemsets: int = MAX_ITEMSETS,
) -> Itemsets:
    """Every itemset in at least ``min_support`` of the baskets, with its exact count.

    Parameters
    ----------
    baskets:
        The receipts; their number N is the base of every support.
    min_support:
        The least share of baskets, read exactly (``parse_share``): an itemset is frequent
        when ``count * den >= num * N``, so "0.001" of 9,835 baskets means 10 or more,
        never 9 or 11 because 0.001 * 9835 rounded oddly in binary.
    max_size:
        The largest itemset wanted (default: no limit).
    max_itemsets:
        Refuse with ``too_many_itemsets`` rather than hold more than this many.
    """
    support = parse_share(min_support, "min_support")
    if len(baskets) == 0:
        raise NoBaskets("there are no baskets to analyse", field="baskets")
    floor = min_count(support, len(baskets))
    data = _recode(baskets, floor)
    found = _Found(max_itemsets, {})
    search = _Search(floor, max_size if max_size is not None else len(data.code_of), found, support)
    try:
        if search.largest >= 1:
            found.add(np.arange(len(data.code_of)).reshape(-1, 1), data.counts)
        if search.largest >= 2:
            for low, high in _groups(data):
                _mine_group(data, low, high, search)
    except _Overflow:
        raise TooManyItemsets(
            _too_many(found, support, len(baskets)), field="min_support"
        ) from None
    return _itemsets(found, data.code_of, baskets, support)


def _groups(data: _Recoded) -> list[tuple[int, int]]:
    """Runs of ranks mined together: bitsets within a factor of two in width, pair counting
    within ``GROUP_ENTRIES``, so small data takes a handful of NumPy calls per level and big
    data stays within memory."""
    groups: list[tuple[int, int]] = []
    low, entries = 0, 0
    items = len(data.code_of)
    for rank in range(items):
        entries += int(data.followers[rank])
        wide = data.counts[rank] > 2 * data.counts[low] + 64
        if rank > low and (entries > GROUP_ENTRIES or (rank - low) * items > GROUP_CELLS or wide):
            groups.append((low, rank))
            low, entries = rank, int(data.followers[rank])
    if items:
        groups.append((low, items))
    return groups


def _mine_group(
    data: _Recoded, low: int, high: int, search: _Search, *, pairs_found: bool = False
) -> None:
    """The itemsets whose rarest item is one of the ranks ``low`` .. ``high`` - 1, each over
    the baskets of its rarest item only."""
    items = len(data.code_of)
    at = data.entries_of[data.starts[low] : data.starts[high]]
    head = data.items[at]
    local = np.arange(len(at)) - (data.starts[head] - data.starts[low])  # basket no. of head
    first = at + 1  # items are ascending in a basket: the commoner ones follow
    lengths = data.indptr[data.owner[at] + 1] - first
    offsets = np.cumsum(lengths) - lengths
    where = np.repeat(first - offsets, lengths) + np.arange(int(lengths.sum()))
    key = np.repeat(head - low, lengths) * items + data.items[where]
    together = np.bincount(key, minlength=(high - low) * items)
    pairs = np.flatnonzero(together >= search.floor)
    rows = np.column_stack((pairs // items + low, pairs % items))
    if not pairs_found:
        search.found.add(rows, together[pairs])
    if search.largest < 3:
        return
    pairs = pairs[_in_classes(rows[:, 0])]
    words = (int(data.counts[high - 1]) + 63) // 64
    if len(pairs) * words * 8 > BITSET_BYTES:
        if high - low > 1:
            middle = (low + high) // 2
            _mine_group(data, low, middle, search, pairs_found=True)
            _mine_group(data, middle, high, search, pairs_found=True)
            return
        raise TooManyItemsets(
            f"support {share_text(search.support)} leaves {len(pairs):,} items frequent beside "
            f"one item in {int(data.counts[low]):,} baskets, which needs "
            f"{len(pairs) * words * 8 >> 20:,} MB of bitsets; raise the support",
            field="min_support",
        )
    row = np.searchsorted(pairs, key).clip(max=max(len(pairs) - 1, 0))
    kept = np.flatnonzero(pairs[row] == key) if len(pairs) else np.zeros(0, np.int64)
    basket = np.repeat(local, lengths)[kept]
    bits = np.zeros(len(pairs) * words, dtype=np.uint64)
    np.bitwise_or.at(
        bits,
        row[kept] * words + (basket >> 6),
        np.left_shift(np.uint64(1), (basket & 63).astype(np.uint64)),
    )
    _grow(np.column_stack((pairs // items + low, pairs % items)), bits.reshape(-1, words), search)


def _in_classes(prefix: Codes) -> npt.NDArray[np.bool_]:
    """Which rows share their prefix with another row: only those can grow."""
    if len(prefix) < 2:
        return np.zeros(len(prefix), dtype=bool)
    same = prefix[1:] == prefix[:-1]
    return np.concatenate(([False], same)) | np.concatenate((same, [False]))


def _grow(rows: Codes, bits: Words, search: _Search) -> None:
    """The itemsets one item larger than ``rows``: each pair of rows with the same prefix
    (all but the last item, rows grouped by prefix, last items ascending) joined, their
    bitsets ANDed. Rows with no partner are already left out. Pairs are taken in slices
    of at most ``SLICE_BYTES`` of bitsets, cut between prefixes, and each slice's results
    grow before the next, so memory follows the depth of the search, not its breadth."""
    if rows.shape[1] >= search.largest or len(rows) < 2:
        return
    prefix = _prefix_ids(rows)
    ends = np.flatnonzero(np.diff(prefix, append=prefix[-1] + 1)) + 1
    end = ends[np.searchsorted(ends, np.arange(len(rows)), side="right")]
    partners = end - np.arange(len(rows)) - 1
    left = np.repeat(np.arange(len(rows)), partners)
    offsets = np.cumsum(partners) - partners
    right = left + 1 + np.arange(len(left)) - np.repeat(offsets, partners)
    step = max(1, SLICE_BYTES // (bits.shape[1] * 8))
    start = 0
    while start < len(left):
        stop = min(start + step, len(left))
        stop = int(np.searchsorted(left, left[stop - 1], side="right"))  # whole prefixes only
        i, j = left[start:stop], right[start:stop]
        both = np.bitwise_and(bits[i], bits[j])
        counts = np.bitwise_count(both).sum(axis=1, dtype=np.int64)
        kept = np.flatnonzero(counts >= search.floor)
        grown = np.column_stack((rows[i[kept]], rows[j[kept], -1]))
        search.found.add(grown, counts[kept])
        more = _in_classes(i[kept])
        bits_of_grown = both[kept[more]]
        del both  # only the rows that grow stay in memory while they do
        _grow(grown[more], bits_of_grown, search)
        start = stop


def _prefix_ids(rows: Codes) -> Codes:
    """A number per row, the same for rows whose all-but-last items agree (rows grouped)."""
    change = np.any(rows[1:, :-1] != rows[:-1, :-1], axis=1)
    return np.concatenate(([0], np.cumsum(change)))


def _itemsets(found: _Found, code_of: Codes, baskets: Baskets, support: Fraction) -> Itemsets:
    levels: list[Codes] = []
    counts: list[Codes] = []
    for size in range(1, max(found.blocks, default=0) + 1):
        blocks = found.blocks.get(size, [])
        rows = (
            np.sort(code_of[np.concatenate([b[0] for b in blocks])], axis=1)
            if blocks
            else np.zeros((0, size), dtype=np.int64)
        )
        levels.append(rows)
        counts.append(
            np.concatenate([b[1] for b in blocks]).astype(np.int64)
            if blocks
            else np.zeros(0, np.int64)
        )
    return Itemsets(tuple(levels), tuple(counts), len(baskets), baskets.item_names, support)


def _too_many(found: _Found, support: Fraction, baskets: int) -> str:
    """Why the answer was refused, and a support at which it is likely to fit: the one at
    which a quarter as many pairs are frequent (itemsets grow faster than pairs do)."""
    pairs = np.concatenate([c for _, c in found.blocks.get(2, [])] or [np.zeros(0, np.int64)])
    hint = ""
    if len(pairs) >= 4:
        count = int(np.sort(pairs)[::-1][len(pairs) // 4])
        hint = f"; try a support of at least {_rounded_up(Fraction(count + 1, baskets))}"
    return (
        f"support {share_text(support)} of {baskets:,} baskets gives more than "
        f"{found.limit:,} frequent itemsets ({len(pairs):,} frequent pairs), more than "
        f"memory should hold{hint}"
    )


def _rounded_up(share: Fraction) -> str:
    """A share as a short decimal that is not below it, for a message people retype."""
    for digits in range(1, 12):
        scale = 10**digits
        up = -(-share.numerator * scale // share.denominator)
        if Fraction(up, scale) - share <= share / 10:
            return f"{up / scale:.{digits}f}"
    return str(share)
