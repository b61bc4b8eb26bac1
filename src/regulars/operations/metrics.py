"""The figures `/metrics` shows in the Prometheus text format, kept per server process."""

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "regulars_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "regulars_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
SALES = Counter("regulars_sales", "Sales committed at the till.", registry=REGISTRY)
POINTS = Counter(
    "regulars_points",
    "Points moved by sales at the till: earned, or redeemed as payment.",
    ["movement"],
    registry=REGISTRY,
)


def count_sale(*, points_earned: int, points_redeemed: int) -> None:
    SALES.inc()
    POINTS.labels("earned").inc(points_earned)
    POINTS.labels("redeemed").inc(points_redeemed)


def job_figures(last_successes: dict[str, datetime]) -> bytes:
    """When each scheduled job last finished well, read from the run log at each scrape: the
    jobs run in the scheduler's process, not the server's."""
    registry = CollectorRegistry()
    gauge = Gauge(
        "regulars_job_last_success_timestamp_seconds",
        "When each scheduled job last finished well (Unix time).",
        ["job"],
        registry=registry,
    )
    for job, finished in last_successes.items():
        gauge.labels(job).set(finished.timestamp())
    return generate_latest(registry)
