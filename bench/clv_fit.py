"""From transactions to fitted BG/NBD and Gamma-Gamma models: regulars against lifetimes.

Both sides start from the same transactions in memory (ours in DuckDB, the peer's in a
pandas DataFrame), build the per-customer summary (39 weeks to 1997-09-30, purchases
counted by day, weeks of 7 days), fit BG/NBD on everyone and Gamma-Gamma on the repeat
buyers; the best of ``--repeat`` runs is timed. The peer is the `lifetimes` package
(summary_data_from_transaction_data, BetaGeoFitter, GammaGammaFitter), run by a separate
interpreter so it never becomes a dependency of the project: this same file with
``--peer``, under $LIFETIMES_PYTHON (default bench/.venv-lifetimes/bin/python, made with
``python3.11 -m venv bench/.venv-lifetimes && bench/.venv-lifetimes/bin/pip install lifetimes``).

``--copies N`` resamples N times as many customers (with replacement, fixed seed) from
CDNOW_master.txt, each with all of their purchases, for a larger set with the same shape.
Run: .venv/bin/python bench/clv_fit.py [--copies 10] [--repeat 3]
"""

import argparse
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from timing import best_of

CDNOW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "CDNOW_master.txt"
PEER_PYTHON = Path(__file__).resolve().parent / ".venv-lifetimes" / "bin" / "python"
CALIBRATION_END = date(1997, 9, 30)
NAMES = ("r", "alpha", "a", "b", "p", "q", "gamma")


def measure(
    repeat: int, summarise: Callable[[], Any], fit: Callable[[Any], dict[str, float]]
) -> dict[str, Any]:
    """The same timings on both sides: the summary, the fits, and the two together."""
    summary_time, summary = best_of(repeat, summarise)
    fit_time, params = best_of(repeat, lambda: fit(summary))
    total_time, _ = best_of(repeat, lambda: fit(summarise()))
    return {
        "summary": summary_time,
        "fit": fit_time,
        "total": total_time,
        "params": params,
        "customers": len(summary),
    }


def load_transactions(copies: int, seed: int) -> Any:
    """CDNOW_master.txt as a DuckDB ``transactions`` table, resampled ``copies`` times."""
    import duckdb
    import numpy as np
    import pyarrow as pa

    connection = duckdb.connect()
    connection.execute(
        r"""
        CREATE TABLE purchases AS
        SELECT parts[1] AS customer_id,
               strptime(parts[2], '%Y%m%d') AS purchased_at,
               CAST(parts[4] AS DOUBLE) AS amount
        FROM (
            SELECT string_split_regex(trim(line), '\s+') AS parts
            FROM read_csv($path, header = false, skip = 1, columns = {'line': 'VARCHAR'},
                          delim = '|', quote = '')
        )
        -- the transactions contract: amounts are > 0 (the file has 80 rows of $0.00)
        WHERE CAST(parts[4] AS DOUBLE) > 0
        """,
        {"path": str(CDNOW)},
    )
    if copies == 1:
        connection.execute(
            "CREATE TABLE picks AS SELECT DISTINCT customer_id AS source, "
            "customer_id FROM purchases"
        )
    else:
        customers = np.array(
            [
                row[0]
                for row in connection.execute(
                    "SELECT DISTINCT customer_id FROM purchases ORDER BY 1"
                ).fetchall()
            ]
        )
        drawn = np.random.default_rng(seed).choice(customers, size=customers.size * copies)
        picks = pa.table(
            {"source": drawn, "customer_id": [f"c{index}" for index in range(drawn.size)]}
        )
        connection.register("picks_arrow", picks)
        connection.execute("CREATE TABLE picks AS SELECT * FROM picks_arrow")
    connection.execute(
        """
        CREATE TABLE transactions AS
        SELECT picks.customer_id, purchased_at, amount,
               CAST(NULL AS VARCHAR) AS receipt_id, CAST(NULL AS VARCHAR) AS sku
        FROM purchases JOIN picks ON purchases.customer_id = picks.source
        """
    )
    return connection


def run_ours(connection: Any, repeat: int) -> dict[str, Any]:
    from regulars.analytics.clv import BgNbd
    from regulars.analytics.clv_spend import GammaGamma
    from regulars.analytics.clv_summary import calibration_summary

    def summarise() -> Any:
        return calibration_summary(connection, calibration_end=CALIBRATION_END)

    def fit(summary: Any) -> dict[str, float]:
        bg = BgNbd().fit(summary.frequency, summary.recency, summary.T)
        spend = GammaGamma().fit(summary.frequency, summary.monetary_value)
        return {**bg.params_, **spend.params_}

    return measure(repeat, summarise, fit)


def run_peer(csv: Path, repeat: int) -> dict[str, Any]:
    """The lifetimes side; runs under the peer interpreter, so imports only what it has."""
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    transactions = pd.read_csv(csv, parse_dates=["purchased_at"], dtype={"customer_id": str})

    def summarise() -> Any:
        return summary_data_from_transaction_data(
            transactions,
            "customer_id",
            "purchased_at",
            monetary_value_col="amount",
            observation_period_end=CALIBRATION_END.isoformat(),
            freq="D",
            freq_multiplier=7,
        )

    def fit(summary: Any) -> dict[str, float]:
        bg = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
        repeat_buyers = summary[summary["frequency"] > 0]
        spend = GammaGammaFitter().fit(repeat_buyers["frequency"], repeat_buyers["monetary_value"])
        fitted = {**bg.params_.to_dict(), **spend.params_.to_dict()}
        fitted["gamma"] = fitted.pop("v")
        return {name: float(value) for name, value in fitted.items()}

    return measure(repeat, summarise, fit)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--peer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer is not None:
        print(json.dumps(run_peer(args.peer, args.repeat)))
        return

    peer_python = Path(os.environ.get("LIFETIMES_PYTHON", PEER_PYTHON))
    connection = load_transactions(args.copies, args.seed)
    rows = connection.execute("SELECT count(*) FROM transactions").fetchone()[0]
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "transactions.csv"
        connection.execute(
            f"COPY (SELECT customer_id, purchased_at, amount FROM transactions) TO '{csv}' (HEADER)"
        )
        peer_run = subprocess.run(
            [str(peer_python), __file__, "--peer", str(csv), "--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
    peer = json.loads(peer_run.stdout.strip().splitlines()[-1])
    ours = run_ours(connection, args.repeat)

    print(f"{rows:,} transactions, {ours['customers']:,} customers (copies={args.copies})")
    print(f"{'':8}{'regulars':>14}{'lifetimes':>14}{'rel. diff':>12}")
    differences = []
    for name in NAMES:
        mine, theirs = ours["params"][name], peer["params"][name]
        differences.append(abs(mine - theirs) / abs(theirs))
        print(f"{name:8}{mine:14.6f}{theirs:14.6f}{differences[-1]:12.2e}")
    print(f"max relative parameter difference: {max(differences):.2e} (goal <= 1e-3)")
    for part in ("summary", "fit", "total"):
        print(
            f"{part:8} regulars {ours[part] * 1000:9.1f} ms   lifetimes {peer[part] * 1000:9.1f} ms"
            f"   ratio {peer[part] / ours[part]:7.1f}x"
        )
    print(f"speed ratio, summary + fits: {peer['total'] / ours['total']:.1f}x (goal >= 20x)")


if __name__ == "__main__":
    main()
