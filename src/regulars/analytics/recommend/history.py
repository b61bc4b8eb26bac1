"""Who bought what on which day: the purchase history every recommender learns from.

DuckDB reduces the ``transactions`` table to one row per member, product and purchase day
(two packs on one receipt, or two visits on one day, are one choice), and the warehouse
adds where each member usually shops and what each store sold. Everything after this
module is NumPy and SciPy over integer indices, so it is tested with hand-made arrays.

A plain ``--transactions`` file has no catalogue and no stores: then nothing is excluded
and every product counts as sold everywhere, which the evaluation summary says.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from regulars.analytics.transactions import relations
from regulars.errors import InvalidInput

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
EPOCH: Final = date(1970, 1, 1)

_DAYS_SQL: Final = """
SELECT customer_id AS member_id, sku, CAST(purchased_at AS DATE) AS day
FROM transactions WHERE sku IS NOT NULL AND CAST(purchased_at AS DATE) <= $until
GROUP BY ALL ORDER BY ALL
"""

# The member's usual store is the one with most of their visits (ties: the latest visit);
# online shop and mini-program are stores of their own channel, so this covers channels.
_USUAL_SQL: Final = """
WITH visits AS (
    SELECT t.customer_id AS member_id, s.store_code, count(DISTINCT t.receipt_id) AS visits,
           max(t.purchased_at) AS latest
    FROM transactions t
    JOIN receipts r ON CAST(r.receipt_id AS VARCHAR) = t.receipt_id
    JOIN stores s USING (store_id)
    WHERE CAST(t.purchased_at AS DATE) <= $until
    GROUP BY ALL
)
SELECT member_id, arg_max(store_code, (visits, latest)) AS store_code FROM visits GROUP BY 1
"""

# Anonymous sales count too: a shelf is stocked whoever buys from it.
_SHELVES_SQL: Final = """
SELECT DISTINCT s.store_code, p.sku
FROM lines l JOIN receipts r USING (receipt_id) JOIN stores s USING (store_id)
JOIN products p USING (product_id)
WHERE CAST(timezone(s.timezone, r.sold_at) AS DATE) <= $until
"""


@dataclass(frozen=True)
class PurchaseHistory:
    """Purchase days as parallel index arrays, with the shelves they may be offered from.

    ``member``, ``product`` and ``day`` have one entry per member, product and purchase
    day, sorted by member, product and day; ``day`` counts days since 1970-01-01.
    ``usual_store[m]`` indexes ``stores`` (-1: unknown, every product allowed) and
    ``stocked[s, p]`` says store ``s`` sold product ``p``. ``excluded[p]`` marks products
    that may never be promoted (tobacco, infant formula).
    """

    members: npt.NDArray[np.str_]
    products: npt.NDArray[np.str_]
    member: IntArray
    product: IntArray
    day: IntArray
    excluded: BoolArray
    stores: npt.NDArray[np.str_]
    usual_store: IntArray
    stocked: BoolArray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.members), len(self.products)

    def purchase_days(self) -> sp.csr_matrix:
        """Members × products: on how many days each member bought each product."""
        ones = np.ones(self.member.size, dtype=np.float64)
        return sp.csr_matrix((ones, (self.member, self.product)), shape=self.shape)

    def until(self, last_day: date) -> "PurchaseHistory":
        """The purchases up to and including ``last_day``; members and products stay put."""
        keep = self.day <= day_number(last_day)
        return replace(
            self, member=self.member[keep], product=self.product[keep], day=self.day[keep]
        )

    def between(self, first_day: date, last_day: date) -> "PurchaseHistory":
        keep = (self.day >= day_number(first_day)) & (self.day <= day_number(last_day))
        return replace(
            self, member=self.member[keep], product=self.product[keep], day=self.day[keep]
        )

    def allows(self, member: IntArray, product: IntArray) -> BoolArray:
        """Whether each ``product`` may be recommended to the ``member`` beside it."""
        store = self.usual_store[member]
        known = store >= 0
        stocked = np.ones(member.size, dtype=bool)
        stocked[known] = self.stocked[store[known], product[known]]
        return stocked & ~self.excluded[product]

    def allowed(self, members: IntArray) -> BoolArray:
        """Members × products that may be recommended: stocked where they shop, promotable."""
        shelves = np.vstack([self.stocked, np.ones((1, len(self.products)), dtype=bool)])
        return shelves[self.usual_store[members]] & ~self.excluded


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def load_history(
    connection: duckdb.DuckDBPyConnection, *, until: date, shelves_until: date | None = None
) -> PurchaseHistory:
    """Members' purchase days up to ``until``, excluded products and the stores' shelves.

    An evaluation loads its test weeks too but reads the shelves and usual stores only up
    to its cut-off (``shelves_until``), so nothing it recommends is known from the future.
    """
    rows = connection.execute(_DAYS_SQL, {"until": until}).fetchnumpy()
    if not len(rows["sku"]):
        raise InvalidInput(
            "there are no purchases with a product (sku) to recommend from",
            code="no_products",
            field="transactions",
        )
    members, member = np.unique(rows["member_id"].astype(str), return_inverse=True)
    tables = relations(connection)
    catalogue: list[str] = []
    excluded_skus: set[str] = set()
    if "products" in tables:
        found = connection.execute("SELECT sku, excluded_from_promotions FROM products").fetchall()
        catalogue = [str(sku) for sku, _ in found]
        excluded_skus = {str(sku) for sku, flag in found if flag}
    products, product = np.unique(
        np.concatenate([rows["sku"].astype(str), np.array(catalogue, dtype=str)]),
        return_inverse=True,
    )
    product = product[: len(rows["sku"])]
    day = (rows["day"].astype("datetime64[D]").astype(np.int64)).astype(np.int64)
    stores, usual, stocked = _shelves(connection, tables, shelves_until or until, members, products)
    return PurchaseHistory(
        members=members,
        products=products,
        member=member.astype(np.int64),
        product=product.astype(np.int64),
        day=day,
        excluded=np.isin(products, list(excluded_skus)),
        stores=stores,
        usual_store=usual,
        stocked=stocked,
    )


def _shelves(
    connection: duckdb.DuckDBPyConnection,
    tables: set[str],
    until: date,
    members: npt.NDArray[np.str_],
    products: npt.NDArray[np.str_],
) -> tuple[npt.NDArray[np.str_], IntArray, BoolArray]:
    unknown = np.full(len(members), -1, dtype=np.int64)
    if not {"receipts", "stores", "lines", "products"} <= tables:
        return np.array([], dtype=str), unknown, np.zeros((0, len(products)), dtype=bool)
    sold = connection.execute(_SHELVES_SQL, {"until": until}).fetchnumpy()
    stores, store = np.unique(sold["store_code"].astype(str), return_inverse=True)
    stocked = np.zeros((len(stores), len(products)), dtype=bool)
    skus = sold["sku"].astype(str)
    known = np.isin(skus, products)
    stocked[store[known], np.searchsorted(products, skus[known])] = True
    usual = connection.execute(_USUAL_SQL, {"until": until}).fetchnumpy()
    who = usual["member_id"].astype(str)
    where = usual["store_code"].astype(str)
    placed = np.isin(who, members) & np.isin(where, stores)
    unknown[np.searchsorted(members, who[placed])] = np.searchsorted(stores, where[placed])
    return stores, unknown, stocked
