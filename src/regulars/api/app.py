"""The FastAPI application."""

from fastapi import FastAPI

from regulars import __version__
from regulars.api import catalog, problems
from regulars.config import get_settings
from regulars.db import ensure_migrated, make_engine, make_sessionmaker


def create_app(database_url: str | None = None) -> FastAPI:
    """An app bound to one database; it refuses to start on an unmigrated one."""
    engine = make_engine(database_url or get_settings().database_url)
    ensure_migrated(engine)
    app = FastAPI(
        title="Regulars",
        version=__version__,
        description="Loyalty and customer insight for supermarkets and retail chains.",
    )
    app.state.sessions = make_sessionmaker(engine)
    problems.install(app)
    app.include_router(catalog.router)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Whether the service is up."""
        return {"status": "ok"}

    @app.get("/version", tags=["operations"])
    def version() -> dict[str, str]:
        """The running version."""
        return {"version": __version__}

    return app
