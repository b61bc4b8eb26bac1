"""Journeys: define, pause or resume, run, read the results."""

import json
from typing import Annotated

from fastapi import Depends, Path, Request, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, allow
from regulars.api.unit_of_work import routes
from regulars.campaigns.optout import Links
from regulars.clock import utc_now
from regulars.journeys import service
from regulars.journeys.models import Journey
from regulars.journeys.schemas import (
    JourneyIn,
    JourneyOut,
    JourneyResultsOut,
    JourneyRunOut,
)

router = routes(prefix="/v1/journeys", tags=["journeys"])
Marketing = Annotated[Principal, Depends(allow(Role.MARKETING))]
Readers = Annotated[Principal, Depends(allow(Role.MARKETING, Role.ANALYST))]
Name = Annotated[str, Path(min_length=1, max_length=100)]


def _out(journey: Journey) -> JourneyOut:
    return JourneyOut(
        name=journey.name,
        trigger=journey.trigger,
        active=journey.active,
        active_since=journey.active_since,
        created_at=journey.created_at,
        created_by=journey.created_by,
        definition=json.loads(journey.plan),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create(data: JourneyIn, session: DbSession, caller: Marketing) -> JourneyOut:
    """Define a journey, active from now; its messages, audience and coupons are checked."""
    journey = service.create_journey(
        session, definition=data.definition, now=utc_now(), actor=caller.name
    )
    return _out(journey)


@router.get("")
def list_all(session: DbSession, caller: Readers) -> list[JourneyOut]:
    """Every journey, by name."""
    return [_out(j) for j in service.list_journeys(session)]


@router.post("/run")
def run(session: DbSession, caller: Marketing, request: Request) -> list[JourneyRunOut]:
    """Let members in and take the due steps now (the scheduler does this every day)."""
    settings = request.app.state.settings
    links = Links(settings.public_url, request.app.state.secret)
    runs = service.run_journeys(
        session, now=utc_now(), weekly_cap=settings.marketing_per_week, links=links
    )
    return [JourneyRunOut(**vars(r)) for r in runs]


@router.get("/{name}")
def one(name: Name, session: DbSession, caller: Readers) -> JourneyOut:
    return _out(service.get_journey(session, name=name))


@router.post("/{name}/pause")
def pause(name: Name, session: DbSession, caller: Marketing) -> JourneyOut:
    """Nobody new enters and nobody moves on until it is resumed."""
    return _out(service.set_active(session, name=name, active=False, now=utc_now()))


@router.post("/{name}/resume")
def resume(name: Name, session: DbSession, caller: Marketing) -> JourneyOut:
    """Go on from now."""
    return _out(service.set_active(session, name=name, active=True, now=utc_now()))


@router.get("/{name}/results")
def results(name: Name, session: DbSession, caller: Readers, request: Request) -> JourneyResultsOut:
    """What each step did, and the uplift against the control group."""
    margin = request.app.state.settings.gross_margin
    found = service.journey_results(session, name=name, now=utc_now(), gross_margin=margin)
    return JourneyResultsOut(
        **JourneyResultsOut.figures(found),
        messages=found.messages,
        entries=found.entries,
        steps=found.steps,
    )
