"""Baskets as integer codes, the errors of basket analysis, and exact thresholds.

A basket is the set of items on one receipt (products, subcategories or categories).
Mining only ever sees integer codes: ``Baskets`` holds them in one flat array cut into
baskets by ``indptr`` (the CSR layout), with the names beside, so a million receipts take
a few tens of megabytes and every step after reading is NumPy.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from regulars.errors import InvalidInput

Codes = npt.NDArray[np.int64]


class NoBaskets(InvalidInput):
    code = "no_baskets"


class BadThreshold(InvalidInput):
    code = "bad_threshold"


class BadBaskets(InvalidInput):
    code = "bad_baskets"


class TooManyItemsets(InvalidInput):
    """The threshold is so low that the answer would not fit in memory: refused up front."""

    code = "too_many_itemsets"


@dataclass(frozen=True)
class Baskets:
    """Receipts as sets of item codes: basket ``b`` holds ``items[indptr[b]:indptr[b + 1]]``.

    Codes index ``item_names``; within a basket they are ascending and distinct (a basket
    is a set: two packs of the same noodles are one item). Baskets may be empty: a receipt
    whose items were all filtered away still counts in N, the number of baskets that every
    support is a share of.
    """

    indptr: Codes
    items: Codes
    item_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def item_count(self) -> int:
        return len(self.item_names)

    @classmethod
    def from_lists(cls, baskets: Sequence[Sequence[str]]) -> "Baskets":
        """Baskets from lists of item names, as a test or a notebook writes them."""
        names = sorted({item for basket in baskets for item in basket})
        code = {name: i for i, name in enumerate(names)}
        basket_of = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
        items = np.array([code[item] for basket in baskets for item in basket], dtype=np.int64)
        return cls.from_codes(basket_of, items, names, basket_count=len(baskets))

    @classmethod
    def from_codes(
        cls,
        basket_of: npt.NDArray[Any],
        items: npt.NDArray[Any],
        item_names: Sequence[str],
        *,
        basket_count: int | None = None,
    ) -> "Baskets":
        """Baskets from one (basket, item) pair per line, in any order, repeats allowed.

        ``basket_of`` holds basket numbers 0 .. ``basket_count`` - 1 (default: one more than
        the largest).
        """
        basket_of = np.asarray(basket_of, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        count = int(basket_of.max()) + 1 if basket_count is None and basket_of.size else 0
        count = basket_count if basket_count is not None else count
        if count == 0:
            raise NoBaskets("there are no baskets to analyse", field="baskets")
        width = max(len(item_names), 1)
        pairs = np.unique(basket_of * width + items)  # sorts by basket, then item; drops repeats
        owner = pairs // width
        indptr = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=count), out=indptr[1:])
        return cls(indptr, pairs % width, tuple(item_names))


def parse_share(value: Fraction | str | float | int, field: str) -> Fraction:
    """A support or confidence as an exact fraction in (0, 1].

    Text is read as written ("0.001" is 1/1000, "1/3" is one third); a float is read as its
    shortest decimal form (``repr``), which is what its author typed, so 0.1 means 1/10
    and not the binary number nearest to it.
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        share = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise BadThreshold(
            f"{field} must be a number such as 0.001, not {value!r}", field=field
        ) from error
    if not 0 < share <= 1:
        raise BadThreshold(f"{field} must be above 0 and at most 1, not {value}", field=field)
    return share


def at_least(counts: npt.NDArray[Any], share: Fraction, of: npt.NDArray[Any] | int) -> Any:
    """``counts / of >= share`` in whole numbers: ``counts * den >= num * of``.

    Exact at any precision: int64 while the products fit, Python integers beyond.
    """
    largest = int(np.max(of)) if np.size(of) else 0
    if max(largest, int(np.max(counts, initial=0))) * max(share.denominator, share.numerator) < (
        1 << 62
    ):
        return np.asarray(counts, dtype=np.int64) * share.denominator >= share.numerator * (
            np.asarray(of, dtype=np.int64)
        )
    big = np.asarray(counts, dtype=object) * share.denominator
    return np.asarray(big >= np.asarray(of, dtype=object) * share.numerator, dtype=bool)


def min_count(share: Fraction, baskets: int) -> int:
    """The fewest baskets an itemset must be in: the least whole ``c`` with c/N >= share."""
    return -(-share.numerator * baskets // share.denominator)


def share_text(share: Fraction) -> str:
    """A threshold as the decimal it was typed as; a fraction such as 1/3 when it has none."""
    for digits in range(19):
        if (share * 10**digits).denominator == 1:
            return format(Decimal(share.numerator) / Decimal(share.denominator), "f")
    return str(share)
