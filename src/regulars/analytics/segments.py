"""Shopper types and clusters: what kind of shopper each member is, by rules and by data.

DuckDB reduces a window of receipt lines to one row of behaviour per member (the part that
would move to Spark unchanged). Two readings follow on the NumPy aggregate: the named
``ShopperType`` from the documented rules in ``segments_rules.py``, which campaigns can
rely on, and k-means clusters, which show groups nobody wrote a rule for and describe them
in words. Unlike RFM, this analysis needs the warehouse itself rather than the
``transactions`` table, since it reads discounts and product flags.
"""

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import Engine, select

from regulars.analytics.segments_rules import (
    DEFAULT_THRESHOLDS,
    FEATURES,
    ShopperClusters,
    ShopperType,
    TypeThresholds,
    shopper_types,
)
from regulars.clock import calendar_day
from regulars.demo.models import DemoMemberTruth
from regulars.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
PARQUET_NAME: Final = "shopper_segments.parquet"
SUMMARY_NAME: Final = "shopper_segments.json"

# Days are the shop's local calendar days, as in the ``transactions`` view. A product's
# repeat count is the number of visits it was bought on, so two packs on one receipt are
# one choice. Members appear as the surviving account of any merge.
_FEATURES_SQL: Final = """
WITH sold AS (
    SELECT r.receipt_id, c.customer_id AS member_id, CAST(c.joined_at AS DATE) AS joined_on,
           CAST(timezone(s.timezone, r.sold_at) AS DATE) AS sold_on
    FROM receipts r
    JOIN stores s USING (store_id)
    JOIN customers c ON c.member_id = r.member_id
    WHERE CAST(timezone(s.timezone, r.sold_at) AS DATE) BETWEEN $first_day AND $as_of
),
refunded AS (
    SELECT receipt_line_id AS line_id, sum(amount) AS amount FROM refunds GROUP BY 1
),
shelves AS (
    SELECT category_code, bool_or(premium) AS has_premium FROM products GROUP BY 1
),
bought AS (
    SELECT s.member_id, s.receipt_id, p.category_code, p.product_id, p.premium, p.fresh,
           h.has_premium, NOT p.excluded_from_promotions AS promotable,
           l.discount > 0 AS discounted,
           greatest(l.amount - coalesce(back.amount, 0), 0) AS paid,
           CASE WHEN l.quantity = round(l.quantity) THEN l.quantity ELSE 1 END AS items
    FROM sold s
    JOIN lines l USING (receipt_id)
    JOIN products p USING (product_id)
    JOIN shelves h USING (category_code)
    LEFT JOIN refunded back USING (line_id)
),
repeats AS (
    SELECT member_id, category_code, count(DISTINCT receipt_id) AS visits
    FROM bought GROUP BY member_id, category_code, product_id
),
loyalty AS (
    SELECT member_id, sum(same) / nullif(sum(pairs), 0) AS brand_concentration
    FROM (SELECT member_id, sum(visits * (visits - 1)) AS same,
                 sum(visits) * (sum(visits) - 1) AS pairs
          FROM repeats GROUP BY member_id, category_code)
    GROUP BY member_id
),
shares AS (
    SELECT member_id,
           coalesce(avg(discounted::DOUBLE) FILTER (WHERE promotable), 0) AS promotion_share,
           coalesce(avg(premium::DOUBLE) FILTER (WHERE has_premium), 0) AS premium_share,
           avg(fresh::DOUBLE) AS fresh_share
    FROM bought GROUP BY member_id
),
baskets AS (
    SELECT member_id, receipt_id, sum(paid) AS paid, sum(items) AS items
    FROM bought GROUP BY member_id, receipt_id
),
visits AS (
    SELECT member_id, count(*) AS receipts, avg(paid) AS basket_value,
           avg(items) AS items_per_basket
    FROM baskets GROUP BY member_id
),
exposure AS (
    SELECT member_id, greatest($first_day, least(min(joined_on), min(sold_on))) AS since
    FROM sold GROUP BY member_id
)
SELECT member_id, receipts, promotion_share, premium_share, fresh_share, brand_concentration,
       basket_value, items_per_basket,
       receipts * 7.0 / greatest(date_diff('day', since, $as_of) + 1, 7) AS visits_per_week
FROM visits JOIN shares USING (member_id) JOIN loyalty USING (member_id)
JOIN exposure USING (member_id)
ORDER BY member_id
"""


@dataclass(frozen=True, eq=False)
class ShopperTable:
    """Behaviour of the members with enough visits in the window, as read-only NumPy arrays.

    ``features`` has one row per member (``member_id`` order) and one column per name in
    ``FEATURES``; ``brand_concentration`` is NaN for a member who never bought a category on
    two visits, because nothing can be said about their loyalty.
    """

    as_of: date
    window_days: int
    min_receipts: int
    too_few_visits: int  # members who visited, but fewer than ``min_receipts`` times
    member_id: npt.NDArray[np.int64]
    receipts: npt.NDArray[np.int64]
    features: FloatArray

    def __post_init__(self) -> None:
        for array in (self.member_id, self.receipts, self.features):
            array.setflags(write=False)

    def __len__(self) -> int:
        return int(self.member_id.size)

    def feature(self, name: str) -> FloatArray:
        """One feature column by its name in ``FEATURES``."""
        column: FloatArray = self.features[:, FEATURES.index(name)]
        return column


def shopper_features(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    window_days: int = 180,
    min_receipts: int = 3,
) -> ShopperTable:
    """Measure how each member shopped in the ``window_days`` days up to ``as_of``.

    Args:
        connection: a warehouse connection from ``open_warehouse`` (receipts, lines,
            refunds, products, stores and customers views).
        as_of: the last day of the window, included; later sales do not count, so a rerun
            for a past day reproduces that day's picture.
        window_days: length of the window in days. Long enough to see habits through
            holiday peaks; short enough that a member whose habits changed is judged on
            the recent ones.
        min_receipts: visits in the window a member needs to be measured; shares and
            means over one or two baskets are mostly chance.

    Returns:
        The features (see ``FEATURES``) of every member with at least ``min_receipts``
        receipts in the window, and the number of members left out for too few visits.

    Raises:
        InvalidInput: ``window_days`` or ``min_receipts`` below 1, or (field
            ``min_receipts``, code ``no_members``) nobody with enough visits in the window.
    """
    if window_days < 1:
        raise InvalidInput(
            f"window_days must be at least 1, got {window_days}", field="window_days"
        )
    if min_receipts < 1:
        raise InvalidInput(
            f"min_receipts must be at least 1, got {min_receipts}", field="min_receipts"
        )
    day = calendar_day(as_of)
    columns = connection.execute(
        _FEATURES_SQL, {"as_of": day, "first_day": day - timedelta(days=window_days - 1)}
    ).fetchnumpy()
    receipts = np.asarray(columns["receipts"], dtype=np.int64)
    kept = receipts >= min_receipts
    if not kept.any():
        raise InvalidInput(
            f"no member has {min_receipts} or more visits in the {window_days} days up to "
            f"{day.isoformat()}",
            code="no_members",
            field="min_receipts",
        )
    matrix = np.column_stack(
        [np.ma.filled(np.ma.asarray(columns[name], dtype=np.float64), np.nan) for name in FEATURES]
    )
    return ShopperTable(
        as_of=day,
        window_days=window_days,
        min_receipts=min_receipts,
        too_few_visits=int((~kept).sum()),
        member_id=np.asarray(columns["member_id"], dtype=np.int64)[kept],
        receipts=receipts[kept],
        features=matrix[kept],
    )


@dataclass(frozen=True)
class ClusterSummary:
    """One cluster as the report shows it."""

    cluster: int
    members: int
    description: str
    centre: dict[str, float]


@dataclass(frozen=True)
class SegmentationSummary:
    """What a segmentation run found; also written as JSON beside the Parquet file."""

    as_of: date
    window_days: int
    min_receipts: int
    members: int  # members typed and clustered
    too_few_visits: int
    thresholds: TypeThresholds
    type_sizes: dict[str, int]
    k: int
    silhouette_scores: dict[int, float]
    clusters: tuple[ClusterSummary, ...]
    files: dict[str, str]  # what each file in the output folder holds

    def to_json(self) -> str:
        """The summary as JSON, dates as ISO strings."""
        return json.dumps(asdict(self), default=date.isoformat, indent=2, ensure_ascii=False)


def typed_members(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    window_days: int = 180,
    min_receipts: int = 3,
    thresholds: TypeThresholds = DEFAULT_THRESHOLDS,
) -> tuple[ShopperTable, npt.NDArray[np.str_]]:
    """The features of every member with enough visits and their shopper type by the rules."""
    table = shopper_features(
        connection, as_of=as_of, window_days=window_days, min_receipts=min_receipts
    )
    types = shopper_types(
        promotion_share=table.feature("promotion_share"),
        premium_share=table.feature("premium_share"),
        brand_concentration=table.feature("brand_concentration"),
        items_per_basket=table.feature("items_per_basket"),
        visits_per_week=table.feature("visits_per_week"),
        thresholds=thresholds,
    )
    return table, types


def segment_members(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    folder: Path,
    window_days: int = 180,
    min_receipts: int = 3,
    thresholds: TypeThresholds = DEFAULT_THRESHOLDS,
    clusters: ShopperClusters | None = None,
) -> SegmentationSummary:
    """Type and cluster every member with enough visits, and write the result to ``folder``.

    Writes ``shopper_segments.parquet`` (member_id, receipts, the features, shopper_type,
    cluster) and ``shopper_segments.json`` (the returned summary).

    Args:
        connection: a warehouse connection from ``open_warehouse``.
        as_of: last day of the window, included.
        folder: where the two files go; created if missing.
        window_days: see ``shopper_features``.
        min_receipts: see ``shopper_features``.
        thresholds: the cut-offs of the type rules (``segments_rules``).
        clusters: an unfitted ``ShopperClusters`` with other settings than the defaults.

    Raises:
        InvalidInput: as ``shopper_features`` and ``ShopperClusters.fit``.
    """
    table, types = typed_members(
        connection,
        as_of=as_of,
        window_days=window_days,
        min_receipts=min_receipts,
        thresholds=thresholds,
    )
    # k-means needs every value: an unknown loyalty counts as the typical one.
    complete = np.where(
        np.isnan(table.features), np.nanmedian(table.features, axis=0), table.features
    )
    model = (clusters or ShopperClusters()).fit(complete)
    labels = model.cluster_labels(complete)

    folder.mkdir(parents=True, exist_ok=True)
    columns = {
        "member_id": table.member_id,
        "receipts": table.receipts,
        **{name: table.feature(name) for name in FEATURES},
        "shopper_type": types,
        "cluster": labels,
    }
    arrow = pa.table({name: pa.array(values) for name, values in columns.items()})
    metadata = {"as_of": table.as_of.isoformat(), "window_days": str(window_days)}
    pq.write_table(arrow.replace_schema_metadata(metadata), folder / PARQUET_NAME)

    centres = model.centres()
    summary = SegmentationSummary(
        as_of=table.as_of,
        window_days=window_days,
        min_receipts=min_receipts,
        members=len(table),
        too_few_visits=table.too_few_visits,
        thresholds=thresholds,
        type_sizes={t.value: int((types == t.value).sum()) for t in ShopperType},
        k=model.k_,
        silhouette_scores=model.silhouette_scores_,
        clusters=tuple(
            ClusterSummary(
                cluster=index,
                members=int((labels == index).sum()),
                description=model.descriptions_[index],
                centre={name: float(v) for name, v in zip(FEATURES, centres[index], strict=True)},
            )
            for index in range(model.k_)
        ),
        files={"members": PARQUET_NAME, "summary": SUMMARY_NAME},
    )
    (folder / SUMMARY_NAME).write_text(summary.to_json(), encoding="utf-8")
    return summary


@dataclass(frozen=True, eq=False)
class TypeAgreement:
    """How well found types match known ones: the adjusted Rand index and the counts.

    ``counts[i, j]`` is the number of members of true type ``true_labels[i]`` found as
    ``found_labels[j]``. The adjusted Rand index is 1 for the same grouping (whatever the
    names), about 0 for a grouping no better than chance.
    """

    adjusted_rand_index: float
    true_labels: tuple[str, ...]
    found_labels: tuple[str, ...]
    counts: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        self.counts.setflags(write=False)

    def recall(self) -> dict[str, float]:
        """Per true type, the share of its members found under the same name."""
        found = {label: j for j, label in enumerate(self.found_labels)}
        return {
            label: float(self.counts[i, found[label]] / max(self.counts[i].sum(), 1))
            if label in found
            else 0.0
            for i, label in enumerate(self.true_labels)
        }


def type_agreement(true_types: npt.ArrayLike, found_types: npt.ArrayLike) -> TypeAgreement:
    """Compare found types with the true ones of the same members, in the same order.

    Found labels are listed in ``ShopperType`` order (all of them, so tables of different
    runs line up), then any other label alphabetically; true labels likewise, but only
    those present.
    """
    truth = np.asarray(true_types).astype(str)
    found = np.asarray(found_types).astype(str)
    if truth.ndim != 1 or truth.shape != found.shape:
        raise InvalidInput("need one true and one found type per member", field="found_types")
    if truth.size == 0:
        raise InvalidInput("no members to compare", field="found_types")
    known = [t.value for t in ShopperType]

    def ordered(labels: set[str], *, all_known: bool) -> tuple[str, ...]:
        first = [k for k in known if all_known or k in labels]
        return (*first, *sorted(labels - set(known)))

    true_values, true_index = np.unique(truth, return_inverse=True)
    found_values, found_index = np.unique(found, return_inverse=True)
    true_labels = ordered(set(true_values.tolist()), all_known=False)
    found_labels = ordered(set(found_values.tolist()), all_known=True)
    rows = np.array([true_labels.index(label) for label in true_values])[true_index]
    columns = np.array([found_labels.index(label) for label in found_values])[found_index]
    counts = np.zeros((len(true_labels), len(found_labels)), dtype=np.int64)
    np.add.at(counts, (rows, columns), 1)
    return TypeAgreement(
        adjusted_rand_index=float(adjusted_rand_score(truth, found)),
        true_labels=true_labels,
        found_labels=found_labels,
        counts=counts,
    )


def compare_with_demo_truth(
    engine: Engine, *, member_id: npt.ArrayLike, found_types: npt.ArrayLike
) -> TypeAgreement:
    """Check found types against the demo generator's hidden shopper types.

    Only a demo database has the ``demo_member_truth`` table; members without a truth row
    (enrolled outside the demo) are refused rather than silently dropped.
    """
    wanted = np.asarray(member_id, dtype=np.int64)
    query = select(DemoMemberTruth.member_id, DemoMemberTruth.shopper_type)
    with engine.connect() as connection:
        truth = dict(connection.execute(query).all())
    missing = [int(m) for m in wanted if int(m) not in truth]
    if missing:
        raise InvalidInput(
            f"{len(missing)} members have no demo truth, e.g. {missing[0]}",
            code="no_demo_truth",
            field="member_id",
        )
    return type_agreement([truth[int(m)] for m in wanted], found_types)
