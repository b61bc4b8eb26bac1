"""The lifetime-value analysis end to end: summary, the three models, CLV, holdout check.

The models live in ``clv.py`` and ``clv_spend.py``; this module runs them the way an
analyst asks for them and writes what they found. A model that cannot be fitted does not
stop the others: its entry in ``params.json`` carries the reason instead of parameters,
and the CLV falls back as documented on ``LifetimeValue``.
"""

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from regulars.analytics.clv import BgNbd, ParetoNbd
from regulars.analytics.clv_fitting import ModelFitFailed
from regulars.analytics.clv_spend import (
    GammaGamma,
    customer_lifetime_value,
    discounted_purchases,
)
from regulars.analytics.clv_summary import (
    CalibrationSummary,
    HoldoutComparison,
    TimeUnit,
    calibration_summary,
    holdout_comparison,
)
from regulars.errors import RegularsError

PERIODS_PER_YEAR = {"week": 52, "day": 365}
# Four parameters per model: on fewer customers the likelihood is flat or runs off to a
# boundary, and the "fit" describes nothing (two customers give r = 7e6, b = 2e-7).
MIN_CUSTOMERS = 30
MIN_REPEAT_BUYERS = 10


@dataclass(frozen=True, eq=False)
class LifetimeValue:
    """Fitted models and per-customer predictions.

    ``clv`` is the discounted value of the next ``horizon`` periods from BG/NBD and
    Gamma-Gamma. When Gamma-Gamma cannot be fitted (e.g. no repeat buyers) the fallback
    values each future purchase at the customers' mean spend per purchase day.
    """

    summary: CalibrationSummary
    params: dict[str, dict[str, float] | dict[str, str]]
    probability_alive: npt.NDArray[np.float64]
    expected_purchases: npt.NDArray[np.float64]
    clv: npt.NDArray[np.float64]
    horizon: int
    holdout: dict[str, HoldoutComparison]


def _fitted(model: BgNbd | ParetoNbd | GammaGamma) -> dict[str, float]:
    ll = getattr(model, "log_likelihood_", None)
    extra = {"log_likelihood": ll} if isinstance(model, BgNbd | ParetoNbd) and ll else {}
    return {**model.params_, **extra}


def lifetime_value(
    connection: duckdb.DuckDBPyConnection,
    *,
    calibration_end: date,
    holdout_end: date | None = None,
    time_unit: TimeUnit = "week",
    horizon: int | None = None,
    yearly_discount_rate: float = 0.10,
) -> LifetimeValue:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma on the history up to ``calibration_end``.

    Args:
        connection: DuckDB connection with the ``transactions`` table.
        calibration_end: last day the models learn from.
        holdout_end: when given, predictions are checked against the days after.
        time_unit: ``"week"`` or ``"day"``: the unit of the parameters.
        horizon: periods ahead for expected purchases and CLV (default: one year).
        yearly_discount_rate: cost of capital for the CLV.
    """
    summary = calibration_summary(
        connection, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit
    )
    repeat_buyers = int((summary.frequency > 0).sum())
    if len(summary) < MIN_CUSTOMERS or repeat_buyers < MIN_REPEAT_BUYERS:
        raise ModelFitFailed(
            f"{len(summary):,} customers, {repeat_buyers:,} of them repeat buyers, are too few "
            f"to fit the models: at least {MIN_CUSTOMERS} customers and {MIN_REPEAT_BUYERS} "
            "repeat buyers are needed"
        )
    periods = horizon or PERIODS_PER_YEAR[time_unit]
    history = (summary.frequency, summary.recency, summary.T)
    bgnbd = BgNbd().fit(*history)
    params: dict[str, dict[str, float] | dict[str, str]] = {"bgnbd": _fitted(bgnbd)}
    holdout = {}
    try:
        pareto = ParetoNbd().fit(*history)
        params["pareto_nbd"] = _fitted(pareto)
    except RegularsError as error:
        params["pareto_nbd"] = {"error": error.message}
        pareto = None
    rate = (1 + yearly_discount_rate) ** (1 / PERIODS_PER_YEAR[time_unit]) - 1
    try:
        spend = GammaGamma().fit(summary.frequency, summary.monetary_value)
        params["gamma_gamma"] = {
            **_fitted(spend),
            "repeat_buyers_left_out": float(spend.left_out_),
        }
        clv = customer_lifetime_value(
            bgnbd, spend, summary, horizon_periods=periods, discount_rate_per_period=rate
        )
    except RegularsError as error:
        params["gamma_gamma"] = {"error": error.message}
        clv = _clv_at_mean_spend(connection, bgnbd, summary, periods, rate)
    if summary.holdout_frequency is not None:
        holdout["bgnbd"] = holdout_comparison(bgnbd, summary)
        if pareto is not None:
            holdout["pareto_nbd"] = holdout_comparison(pareto, summary)
    found = LifetimeValue(
        summary=summary,
        params=params,
        probability_alive=bgnbd.probability_alive(*history),
        expected_purchases=bgnbd.expected_purchases(periods, *history),
        clv=clv,
        horizon=periods,
        holdout=holdout,
    )
    predictions = (found.probability_alive, found.expected_purchases, found.clv)
    if not all(np.isfinite(column).all() for column in predictions):
        raise ModelFitFailed(
            "the fitted models give no finite prediction for some customers: the history is "
            "too short or too uneven to fit them"
        )
    return found


def _clv_at_mean_spend(
    connection: duckdb.DuckDBPyConnection,
    model: BgNbd,
    summary: CalibrationSummary,
    periods: int,
    rate: float,
) -> npt.NDArray[np.float64]:
    [(mean_spend,)] = connection.execute(
        "SELECT avg(spent) FROM (SELECT sum(amount) AS spent FROM transactions "
        "WHERE CAST(purchased_at AS DATE) <= ? GROUP BY customer_id, CAST(purchased_at AS DATE))",
        [summary.calibration_end],
    ).fetchall()
    purchases = discounted_purchases(
        model, summary, horizon_periods=periods, discount_rate_per_period=rate
    )
    return np.asarray(purchases * float(mean_spend or 0.0), dtype=np.float64)


def write_lifetime_value(result: LifetimeValue, out: Path) -> list[Path]:
    """``params.json``, ``customers.parquet`` and, with a holdout, ``holdout.json``."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "params.json", out / "customers.parquet"]
    written[0].write_text(_json(result.params))
    s = result.summary
    pq.write_table(
        pa.table(
            {
                "customer_id": s.customer_ids,
                "frequency": s.frequency,
                "recency": s.recency,
                "T": s.T,
                "monetary_value": s.monetary_value,
                "probability_alive": result.probability_alive,
                f"expected_purchases_{result.horizon}": result.expected_purchases,
                "clv": result.clv,
            }
        ),
        written[1],
    )
    if result.holdout:
        written.append(out / "holdout.json")
        written[-1].write_text(
            _json(
                {
                    name: {
                        "actual_total": h.actual_total,
                        "predicted_total": h.predicted_total,
                        "relative_error": h.relative_error,
                        "by_calibration_frequency": [vars(b) for b in h.buckets],
                    }
                    for name, h in result.holdout.items()
                }
            )
        )
    return written


def _json(value: object) -> str:
    """Strict JSON: a figure that does not exist (the mean of an empty group) is null."""

    def finite(item: object) -> object:
        if isinstance(item, dict):
            return {key: finite(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [finite(inner) for inner in item]
        if isinstance(item, float) and not math.isfinite(item):
            return None
        return item

    return json.dumps(finite(value), indent=2, allow_nan=False)
