"""The FastAPI application."""

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from regulars import __version__
from regulars.api import (
    access,
    audiences,
    audit,
    campaigns,
    cases,
    catalog,
    checkout,
    coupons,
    gateway,
    holidays,
    insights,
    journeys,
    members,
    messages,
    middleware,
    operations,
    points,
    problems,
    program,
    surveys,
    tiers,
)
from regulars.api.dependencies import RateLimiter
from regulars.api.unit_of_work import WriterTurns
from regulars.config import Settings, get_settings, secret_key
from regulars.console import app as console
from regulars.db import ensure_migrated, make_engine, make_sessionmaker

ROUTERS = (
    members,
    checkout,
    points,
    tiers,
    coupons,
    program,
    access,
    catalog,
    insights,
    audit,
    audiences,
    campaigns,
    journeys,
    holidays,
    cases,
    surveys,
    messages,
    gateway,
)


def create_app(database_url: str | None = None, settings: Settings | None = None) -> FastAPI:
    """An app bound to one database; it refuses to start on an unmigrated one."""
    settings = settings or get_settings()
    engine = make_engine(
        database_url or settings.database_url,
        connections=settings.max_concurrent_requests,
        wait=settings.database_wait_seconds,
    )
    ensure_migrated(engine)
    app = FastAPIOffline(  # the docs work on a store network without internet
        title="Regulars",
        static_url="/docs-assets",
        version=__version__,
        description="Loyalty and customer insight for supermarkets and retail chains. "
        "Authenticate with `Authorization: Bearer <key>` (tills, staff) or a member token.",
    )
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.readers = make_sessionmaker(engine.execution_options(read_only=True))
    app.state.settings = settings
    app.state.writers = WriterTurns(engine, settings.database_wait_seconds)
    app.state.secret = secret_key(settings)
    app.state.rate_limit = RateLimiter(settings.rate_limit_per_minute, "requests with this key")
    app.state.failed_auth = RateLimiter(
        settings.failed_auth_per_minute, "failed logins from this address"
    )
    problems.install(app)
    middleware.install(app)
    for module in ROUTERS:
        app.include_router(module.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(operations.router)
    console.install(app)
    if settings.log_format == "json":
        operations.log_requests_as_json()
    return app
