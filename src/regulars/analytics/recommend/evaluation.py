"""Do the recommendations beat the obvious? A time split, models against baselines.

The models learn from the purchases up to the cut-off day and are judged on the
``weeks`` after it, against two baselines measured in the same run: the chain's best
sellers, and each member's own most bought products. Only members known at the cut-off
are judged; members who first bought in the test weeks would get the best sellers from
every model alike. The same exclusions hold for all lists, and excluded products bought
in the test weeks are not counted as missed, since no list may hold them.

The blend's weighting (``Blend``) is chosen the same way one level down: learned up to
``weeks`` before the cut-off and judged on the weeks up to it, so the test weeks choose
nothing.
"""

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Final

import duckdb
import numpy as np
import scipy.sparse as sp

from regulars.analytics.recommend.also_like import AlsoLike
from regulars.analytics.recommend.buy_again import BuyAgain
from regulars.analytics.recommend.history import PurchaseHistory, day_number, load_history
from regulars.analytics.recommend.lists import (
    BLENDS,
    Blend,
    MemberLists,
    blend_candidates,
    blended_lists,
    buyer_share,
    favourite_lists,
    model_lists,
    popular_lists,
)
from regulars.analytics.recommend.metrics import ListQuality, list_quality
from regulars.analytics.transactions import purchase_days
from regulars.errors import InvalidInput

BASELINES: Final = ("popular", "own favourites")
MODELS: Final = ("buy again", "also like", "blend")


@dataclass(frozen=True)
class Evaluation:
    cutoff: date
    test_end: date
    k: int
    members_judged: int
    products: int
    excluded_products: int
    stores: int  # 0: a plain file, every product counted as sold everywhere
    blend: Blend  # the weighting chosen on the weeks before the cut-off
    quality: dict[str, ListQuality]
    notes: list[str] = field(default_factory=list)

    def beats_baselines(self, metric: str) -> bool:
        """Whether the blend is above both baselines on ``metric``."""
        blend = getattr(self.quality["blend"], metric)
        return all(blend > getattr(self.quality[b], metric) for b in BASELINES)

    def as_dict(self) -> dict[str, object]:
        plain = asdict(self)
        plain["beats_baselines"] = {m: self.beats_baselines(m) for m in ("precision", "ndcg")}
        return plain


def bought_between(history: PurchaseHistory, first: date, last: date) -> sp.csr_matrix:
    """Members × products bought from ``first`` to ``last``, products no list may hold
    (excluded from promotion) left out."""
    bought = history.between(first, last).purchase_days()
    bought = bought.multiply((~history.excluded).astype(np.float64)[None, :]).tocsr()
    bought.eliminate_zeros()
    return bought


def choose_blend(history: PurchaseHistory, cutoff: date, *, weeks: int, k: int) -> Blend:
    """The candidate blend with the best NDCG@k on the ``weeks`` up to ``cutoff``, learned
    from the purchases before them; the plain blend when there is nothing before them."""
    start = cutoff - timedelta(weeks=weeks)
    train = history.until(start)
    members = np.unique(train.member)
    if not members.size:
        return Blend()
    bought = bought_between(history, start + timedelta(days=1), cutoff)[members]
    popularity = buyer_share(train)
    buy_again = BuyAgain(horizon_days=7.0 * weeks).fit(train)
    also_like = AlsoLike().fit(train.purchase_days())
    candidates = blend_candidates(
        train,
        members,
        k,
        buy_again=buy_again,
        also_like=also_like,
        as_of_day=day_number(start),
        blends=BLENDS,
    )
    judged = {
        blend: list_quality(lists.products, bought, popularity=popularity, recommendable=1).ndcg
        for blend, lists in zip(BLENDS, candidates, strict=True)
    }
    return max(BLENDS, key=lambda blend: judged[blend])


def split_lists(
    history: PurchaseHistory,
    cutoff: date,
    k: int,
    *,
    buy_again: BuyAgain,
    also_like: AlsoLike,
    blend: Blend,
) -> dict[str, MemberLists]:
    """Every model's and baseline's lists for the members known at ``cutoff``."""
    train = history.until(cutoff)
    members = np.unique(train.member)
    buy_again.fit(train)
    also_like.fit(train.purchase_days())
    today = day_number(cutoff)
    return {
        "popular": popular_lists(train, members, k),
        "own favourites": favourite_lists(train, members, k),
        "buy again": model_lists(
            train, members, k, buy_again=buy_again, also_like=None, as_of_day=today
        ),
        "also like": model_lists(
            train, members, k, buy_again=None, also_like=also_like, as_of_day=today
        ),
        "blend": blended_lists(
            train,
            members,
            k,
            buy_again=buy_again,
            also_like=also_like,
            as_of_day=today,
            blend=blend,
        ),
    }


def evaluate_recommendations(
    connection: duckdb.DuckDBPyConnection,
    *,
    cutoff: date | None = None,
    weeks: int = 4,
    k: int = 10,
    buy_again: BuyAgain | None = None,
    also_like: AlsoLike | None = None,
) -> Evaluation:
    """Learn up to ``cutoff`` (default: ``weeks`` before the last sale), test on the weeks
    after it, and measure every model and baseline at ``k``."""
    if weeks < 1 or k < 1:
        raise InvalidInput("weeks and k must be at least 1", field="weeks" if weeks < 1 else "k")
    first, last = purchase_days(connection, empty="there is nothing to learn from")
    cut = cutoff or last - timedelta(weeks=weeks)  # the latest that leaves `weeks` to test on
    if cut < first:
        raise InvalidInput(f"the cut-off {cut} is before the first purchase, on {first}",
                           field="cutoff")  # fmt: skip
    if cut >= last:
        raise InvalidInput(
            f"the cut-off {cut} leaves nothing to check: the last purchase is on {last}",
            field="cutoff",
        )
    end = cut + timedelta(weeks=weeks)
    history = load_history(connection, until=end, shelves_until=cut)
    train = history.until(cut)
    if not train.member.size:
        raise InvalidInput(f"nobody bought anything up to {cut}", field="cutoff")
    blend = choose_blend(history, cut, weeks=weeks, k=k)
    lists = split_lists(
        history,
        cut,
        k,
        buy_again=buy_again or BuyAgain(horizon_days=7.0 * weeks),
        also_like=also_like or AlsoLike(),
        blend=blend,
    )
    bought = bought_between(history, cut + timedelta(days=1), end)
    popularity = buyer_share(train)
    recommendable = int((~history.excluded & (popularity > 0)).sum())
    quality = {}
    for name, found in lists.items():
        quality[name] = list_quality(
            found.products,
            bought[found.member],
            popularity=popularity,
            recommendable=recommendable,
        )
    notes = []
    if not history.stores.size:
        notes.append("no stores in the source: every product counted as sold everywhere")
    if not history.excluded.any():
        notes.append("no product is marked excluded from promotion in the source")
    return Evaluation(
        cutoff=cut,
        test_end=end,
        k=k,
        members_judged=quality["blend"].members,
        products=len(history.products),
        excluded_products=int(history.excluded.sum()),
        stores=int(history.stores.size),
        blend=blend,
        quality=quality,
        notes=notes,
    )
