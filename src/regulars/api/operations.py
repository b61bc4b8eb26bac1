"""Health, version and metrics: what a chain's monitoring asks of the service, without a key."""

import logging
import sys

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from regulars import __version__
from regulars.api.problems import problem
from regulars.operations.metrics import REGISTRY, job_figures
from regulars.scheduler.service import last_successes

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    responses={503: {"description": "The database does not answer; see `detail`."}},
)
def health(request: Request) -> Response:
    """Whether the service is up and its database answers."""
    try:
        with request.app.state.readers() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", error)).strip().splitlines()[0]
        return problem(503, "database_unreachable", f"the database does not answer: {cause}")
    return Response('{"status":"ok","database":"ok"}', media_type="application/json")


@router.get("/version")
def version() -> dict[str, str]:
    """The running version."""
    return {"version": __version__}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Requests by route and status, their latency, sales and points (each server process
    counts its own), and when each scheduled job last finished well, in the Prometheus text
    format."""
    figures = generate_latest(REGISTRY)
    try:
        with request.app.state.readers() as session:
            figures += job_figures(last_successes(session))
    except SQLAlchemyError:
        pass  # /health says the database is gone; the process's own figures still count
    return Response(figures, media_type=CONTENT_TYPE_LATEST)


def log_requests_as_json() -> None:
    """One JSON line a request on stderr (REGULARS_LOG_FORMAT=json), for a log collector."""
    log = logging.getLogger("regulars.requests")
    if not log.handlers:
        log.addHandler(logging.StreamHandler(sys.stderr))
        log.setLevel(logging.INFO)
        log.propagate = False
