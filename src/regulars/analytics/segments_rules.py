"""Shopper-type rules, the cluster model and its wording: NumPy arrays in, labels out.

Nothing here touches a database or a clock (the clusters' randomness is seeded), so it is
tested with hand-made arrays; ``segments.py`` feeds it the per-member behaviour that
DuckDB aggregates from the warehouse.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Self

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]

FEATURES: Final = (
    "promotion_share",
    "premium_share",
    "fresh_share",
    "brand_concentration",
    "basket_value",
    "items_per_basket",
    "visits_per_week",
)
"""The behaviour measured per member, in the column order of every feature matrix.

- ``promotion_share``: share of the lines that could be on offer (not tobacco, infant
  formula) that carried a discount, from a promotion or a coupon.
- ``premium_share``: share of the lines in categories that sell a premium product at all
  that were premium; where no premium choice exists, buying standard says nothing.
- ``fresh_share``: share of lines that were fresh food.
- ``brand_concentration``: the chance that two purchases (on different visits) in the same
  category were the very same product: the Herfindahl index of purchase counts over
  products within each category, pooled over categories and corrected for small numbers
  (pairs of distinct purchases, ``sum n(n-1) / N(N-1)``). It is measured on products rather
  than brands because a category with one standard brand makes everyone look loyal to
  it, while a loyal shopper keeps reaching for the same product (brand, size, variant).
- ``basket_value``: mean paid per visit, after discounts and refunds.
- ``items_per_basket``: mean items per visit; a weighed line (vegetables, meat) is one item.
- ``visits_per_week``: visits in the window per week the member could visit in it (from
  joining, if later than the window's start; at least one week).

Shares count lines, not money, so each purchase decision weighs the same: one bottle of
premium wine should not outweigh a month of vegetables.
"""


class ShopperType(StrEnum):
    """How a member shops, in the order the rules are tried (see ``PRECEDENCE``)."""

    PRICE_SENSITIVE = "price_sensitive"
    QUALITY_SEEKING = "quality_seeking"
    BRAND_LOYAL = "brand_loyal"
    CONVENIENCE = "convenience"
    MIXED = "mixed"


PROMOTION_SHARE_MIN: Final = 0.08
PREMIUM_SHARE_MIN: Final = 0.5
BRAND_CONCENTRATION_MIN: Final = 0.45
CONVENIENCE_ITEMS_MAX: Final = 3.0
CONVENIENCE_VISITS_MIN: Final = 0.5
"""The default thresholds, read from what each type means rather than fitted to data.

=================  ==============================  ======  ===================================
type               rule                            value   why this value
=================  ==============================  ======  ===================================
price_sensitive    promotion_share >=              0.08    weekly offers cover about a sixth
                                                           of the range (the demo: 18 %); a
                                                           shopper who takes up about half
                                                           the offers they meet has 8-9 % of
                                                           lines discounted, one who ignores
                                                           offers 1-3 %
quality_seeking    premium_share >=                0.5     premium more often than not, where
                                                           a premium product is on the shelf
brand_loyal        brand_concentration >=          0.45    reaching for the usual product two
                                                           times in three (2/3 squared = 0.45);
                                                           choosing freely among five products
                                                           gives about 0.2
convenience        items_per_basket <=             3.0     a top-up trip (a meal, a drink, a
                   and visits_per_week >=          0.5     snack), not a household shop of a
                                                           dozen items; and back at least every
                                                           other week, since a rare visitor
                                                           with tiny baskets shops elsewhere
mixed              none of the above               -       -
=================  ==============================  ======  ===================================

The promotion threshold depends on how much of the range a chain puts on offer; a chain
with far more or fewer offers should pass its own ``TypeThresholds``.

Fresh food is left out of the quality rule: how much of it a member buys follows who lives
in the household (families and older people cook) more than a taste for quality, and
adding it blurs premium buyers into everyone who cooks. It stays a feature, so the
clusters can still find fresh-food shoppers.
"""

PRECEDENCE: Final = (
    ShopperType.PRICE_SENSITIVE,
    ShopperType.QUALITY_SEEKING,
    ShopperType.BRAND_LOYAL,
    ShopperType.CONVENIENCE,
)
"""When several rules match, the first type in this order wins.

Price comes first: a shopper who buys premium or their usual brand mostly when it is on
offer is reached through offers, so that is what a campaign must know. Quality comes
before loyalty because premium buyers tend to repeat their premium product, so a high
repeat rate alone does not tell the two apart while a high premium share does. Convenience
is last: small frequent baskets say how someone shops, not what they choose, and a
top-up shopper with a clear taste is better addressed through that taste.
"""


@dataclass(frozen=True)
class TypeThresholds:
    """The cut-offs of the shopper-type rules; the defaults are explained above."""

    promotion_share_min: float = PROMOTION_SHARE_MIN
    premium_share_min: float = PREMIUM_SHARE_MIN
    brand_concentration_min: float = BRAND_CONCENTRATION_MIN
    convenience_items_max: float = CONVENIENCE_ITEMS_MAX
    convenience_visits_min: float = CONVENIENCE_VISITS_MIN


DEFAULT_THRESHOLDS: Final = TypeThresholds()


def _column(values: npt.ArrayLike, size: int | None, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or (size is not None and array.size != size):
        raise InvalidInput(f"{name} must be one value per member, like the others", field=name)
    return array


def shopper_types(
    *,
    promotion_share: npt.ArrayLike,
    premium_share: npt.ArrayLike,
    brand_concentration: npt.ArrayLike,
    items_per_basket: npt.ArrayLike,
    visits_per_week: npt.ArrayLike,
    thresholds: TypeThresholds = DEFAULT_THRESHOLDS,
) -> npt.NDArray[np.str_]:
    """The ``ShopperType`` value of every member, trying the rules in ``PRECEDENCE`` order.

    A missing value (NaN, e.g. the brand concentration of a member who never bought the
    same category twice) makes its rule not match, so the member is judged on the rest.
    """
    promotion = _column(promotion_share, None, "promotion_share")
    size = promotion.size
    premium = _column(premium_share, size, "premium_share")
    concentration = _column(brand_concentration, size, "brand_concentration")
    items = _column(items_per_basket, size, "items_per_basket")
    visits = _column(visits_per_week, size, "visits_per_week")
    matches = {
        ShopperType.PRICE_SENSITIVE: promotion >= thresholds.promotion_share_min,
        ShopperType.QUALITY_SEEKING: premium >= thresholds.premium_share_min,
        ShopperType.BRAND_LOYAL: concentration >= thresholds.brand_concentration_min,
        ShopperType.CONVENIENCE: (items <= thresholds.convenience_items_max)
        & (visits >= thresholds.convenience_visits_min),
    }
    labels = np.full(size, ShopperType.MIXED.value, dtype=f"<U{max(map(len, ShopperType))}")
    undecided = np.ones(size, dtype=bool)
    for shopper_type in PRECEDENCE:
        chosen = undecided & matches[shopper_type]
        labels[chosen] = shopper_type.value
        undecided &= ~chosen
    return labels


DESCRIBE_MIN: Final = 0.5  # standard deviations from the median worth putting into words
DESCRIBE_MOST: Final = 3  # a description names at most this many traits, unless needed

_WORDS: Final[dict[str, tuple[str, str]]] = {
    "promotion_share": ("often on promotion", "rarely on promotion"),
    "premium_share": ("many premium products", "few premium products"),
    "fresh_share": ("much fresh food", "little fresh food"),
    "brand_concentration": ("sticks to the same products", "switches between products"),
    "basket_value": ("large baskets", "small baskets"),
    "items_per_basket": ("many items per visit", "few items per visit"),
    "visits_per_week": ("frequent visits", "rare visits"),
}
TYPICAL: Final = "typical on every measure"


def _phrases(centroid: FloatArray, medians: FloatArray, features: Sequence[str]) -> list[str]:
    """Every trait of one centroid, the most distinctive first."""
    offsets = centroid - medians
    order = np.argsort(-np.abs(offsets), kind="stable")
    return [_WORDS[features[i]][0 if offsets[i] > 0 else 1] for i in order]


def describe_clusters(
    centroids: npt.ArrayLike, medians: npt.ArrayLike, *, features: Sequence[str] = FEATURES
) -> tuple[str, ...]:
    """Put each cluster centre into words by how it differs from the overall medians.

    Both arrays are in standardised units (the space the clusters were found in), so a
    difference of 1 means one standard deviation. A description lists the traits at least
    ``DESCRIBE_MIN`` away from the median, strongest first, at most ``DESCRIBE_MOST``; a
    centre close to the median everywhere is ``TYPICAL``. Two clusters that would read the
    same get further traits, strongest first, until they differ, so people can tell the
    clusters apart by name.

    Args:
        centroids: one row per cluster, one column per feature.
        medians: the overall median of each feature.
        features: the feature names of the columns, each a key of the wording table.

    Returns:
        One description per cluster, in row order.
    """
    centres = np.asarray(centroids, dtype=np.float64)
    middle = np.asarray(medians, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != len(features) or middle.shape != (len(features),):
        raise InvalidInput("need one centroid column and one median per feature", field="features")
    unknown = [name for name in features if name not in _WORDS]
    if unknown:
        raise InvalidInput(f"no wording for features {unknown}", field="features")
    phrases = [_phrases(row, middle, features) for row in centres]
    strong = (np.abs(centres - middle) >= DESCRIBE_MIN).sum(axis=1)
    lengths = np.minimum(strong, DESCRIBE_MOST)
    while True:
        texts = [", ".join(p[:n]) or TYPICAL for p, n in zip(phrases, lengths, strict=True)]
        repeated = np.array([texts.count(text) > 1 for text in texts])
        growable = repeated & (lengths < len(features))
        if not growable.any():
            return tuple(texts)
        lengths = lengths + growable


class ShopperClusters:
    """K-means on standardised ``log1p`` behaviour, k chosen by silhouette, centres in words.

    ``log1p`` tames the long tails of basket value and visits (a few households spend ten
    times the median), and standardising gives every feature the same say in the distance.

    Args:
        k_min: fewest clusters tried (at least 2, the least silhouette can judge).
        k_max: most clusters tried; more than about eight are hard to act on.
        sample_size: members the silhouette is computed on; it grows with the square of
            the members, so a sample keeps large chains fast.
        n_init: k-means restarts per k; the best of them is kept.
        random_state: seed for k-means and the silhouette sample, so reruns agree.

    Attributes (after ``fit``):
        k_: the chosen number of clusters (highest silhouette; the smaller k on a tie).
        silhouette_scores_: silhouette per k tried.
        mean_, scale_: the standardisation of ``log1p`` features.
        centers_: cluster centres in standardised units, the largest cluster first.
        medians_: overall medians in standardised units, what the centres are compared to.
        sizes_: members per cluster in the fitted data.
        descriptions_: each cluster in words (``describe_clusters``).
    """

    def __init__(
        self,
        *,
        k_min: int = 2,
        k_max: int = 8,
        sample_size: int = 2000,
        n_init: int = 10,
        random_state: int = 0,
    ) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.sample_size = sample_size
        self.n_init = n_init
        self.random_state = random_state

    def _standardised(self, features: npt.ArrayLike) -> FloatArray:
        logged = self._logged(features)
        return (logged - self.mean_) / self.scale_

    @staticmethod
    def _logged(features: npt.ArrayLike) -> FloatArray:
        matrix = np.asarray(features, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(FEATURES):
            raise InvalidInput(
                f"features must have one column per feature: {', '.join(FEATURES)}",
                field="features",
            )
        if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
            raise InvalidInput("features must be finite and not negative", field="features")
        return np.log1p(matrix)

    def fit(self, features: npt.ArrayLike) -> Self:
        """Find the clusters of ``features`` (members × ``FEATURES``, no missing values)."""
        if not 2 <= self.k_min <= self.k_max:
            raise InvalidInput(
                f"need 2 <= k_min <= k_max, got {self.k_min}..{self.k_max}", field="k_range"
            )
        logged = self._logged(features)
        self.mean_ = logged.mean(axis=0)
        spread = logged.std(axis=0)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        points = (logged - self.mean_) / self.scale_
        distinct = len(np.unique(points, axis=0))
        k_top = min(self.k_max, distinct - 1)
        if k_top < self.k_min:
            raise InvalidInput(
                f"need at least {self.k_min + 1} members who shop differently to find "
                f"{self.k_min} clusters, got {distinct}",
                field="features",
            )
        sample = self.sample_size if self.sample_size < len(points) else None
        models: dict[int, KMeans] = {}
        scores: dict[int, float] = {}
        for k in range(self.k_min, k_top + 1):
            model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
            labels = model.fit_predict(points)
            models[k] = model
            scores[k] = float(
                silhouette_score(points, labels, sample_size=sample, random_state=self.random_state)
            )
        self.silhouette_scores_ = scores
        self.k_ = max(scores, key=lambda k: (scores[k], -k))
        chosen = models[self.k_]
        sizes = np.bincount(chosen.labels_, minlength=self.k_)
        order = np.argsort(-sizes, kind="stable")
        self.centers_: FloatArray = chosen.cluster_centers_[order]
        self.sizes_ = sizes[order]
        self.medians_: FloatArray = np.median(points, axis=0)
        self.descriptions_ = describe_clusters(self.centers_, self.medians_)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "centers_"):
            raise ModelNotFitted("fit the clusters before using them", field="model")

    def cluster_labels(self, features: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The cluster of each member: the nearest centre in standardised units."""
        self._check_fitted()
        points = self._standardised(features)
        distances = ((points[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
        labels: npt.NDArray[np.int64] = distances.argmin(axis=1).astype(np.int64)
        return labels

    def centres(self) -> FloatArray:
        """Cluster centres in the features' own units (shares, yuan, items, visits)."""
        self._check_fitted()
        values: FloatArray = np.expm1(self.centers_ * self.scale_ + self.mean_)
        return values
