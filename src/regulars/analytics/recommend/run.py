"""The precomputed lists per member, ready to be written back to member profiles."""

from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from regulars.analytics.recommend.also_like import AlsoLike
from regulars.analytics.recommend.buy_again import BuyAgain
from regulars.analytics.recommend.evaluation import choose_blend
from regulars.analytics.recommend.history import PurchaseHistory, day_number, load_history
from regulars.analytics.recommend.lists import (
    Reason,
    blended_lists,
    buyer_share,
    recommendation_table,
)
from regulars.analytics.transactions import purchase_days
from regulars.errors import InvalidInput


def member_recommendations(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: date | None = None,
    k: int = 10,
    weeks: int = 4,
    new_members: Sequence[str] = (),
) -> pa.Table:
    """Top-``k`` products of every member who bought up to ``as_of`` (default: last sale),
    for the next ``weeks``, blended as measured best on the ``weeks`` before ``as_of``.

    Columns: member_id, rank, sku, reason (buy_again, also_like, popular), score and
    fallback. ``new_members`` (members with no purchases, e.g. joined today) get the best
    sellers, flagged ``fallback``.
    """
    day = recommendation_day(connection, as_of)
    history = load_history(connection, until=day)
    members = np.unique(history.member)
    lists = blended_lists(
        history,
        members,
        k,
        buy_again=BuyAgain(horizon_days=7.0 * weeks).fit(history),
        also_like=AlsoLike().fit(history.purchase_days()),
        as_of_day=day_number(day),
        blend=choose_blend(history, day, weeks=weeks, k=k),
    )
    found = recommendation_table(history, lists)
    strangers = sorted(set(new_members) - set(history.members.tolist()))
    if not strangers:
        return found
    listed, share = _best_sellers(history, k)
    newcomers = pa.table(
        {
            "member_id": pa.array(np.repeat(strangers, listed.size)),
            "rank": pa.array(np.tile(np.arange(1, listed.size + 1), len(strangers)), pa.int16()),
            "sku": pa.array(np.tile(history.products[listed], len(strangers))),
            "reason": pa.array([Reason.POPULAR.value] * (listed.size * len(strangers))),
            "score": pa.array(np.tile(share, len(strangers))),
            "fallback": pa.array(np.ones(listed.size * len(strangers), dtype=bool)),
        }
    )
    return pa.concat_tables([found, newcomers.cast(found.schema)])


def _best_sellers(history: PurchaseHistory, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray]:
    """The `k` products the most members bought, none the chain keeps out of promotion,
    with the share of members who bought each."""
    every = buyer_share(history)
    every[history.excluded] = 0.0
    listed = np.argsort(-every, kind="stable")[:k]
    listed = listed[every[listed] > 0]
    return listed, every[listed]


def recommendation_day(connection: duckdb.DuckDBPyConnection, as_of: date | None) -> date:
    """``as_of``, or the last day anyone bought; refused before the first."""
    first, last = purchase_days(connection, empty="there is nothing to recommend from")
    if as_of is not None and as_of < first:
        raise InvalidInput(
            f"nothing was bought up to {as_of}: the first purchase is on {first}", field="as_of"
        )
    return as_of or last


def popular_list(
    connection: duckdb.DuckDBPyConnection, *, as_of: date | None = None, k: int = 10
) -> pa.Table:
    """The chain's best sellers up to ``as_of``: what a member nobody knows is shown.
    Columns: rank, sku, score (the share of members who bought it)."""
    history = load_history(connection, until=recommendation_day(connection, as_of))
    listed, share = _best_sellers(history, k)
    return pa.table(
        {
            "rank": pa.array(np.arange(1, listed.size + 1), pa.int16()),
            "sku": pa.array(history.products[listed]),
            "score": pa.array(share),
        }
    )
