"""The loyalty program: read the active version; admins apply a new one."""

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, status
from pydantic import BaseModel, Field

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, allow
from regulars.api.unit_of_work import READS_ONLY, routes
from regulars.clock import utc_now
from regulars.program.schema import Program
from regulars.program.service import active_program, apply_program, parse_program
from regulars.simulation.schemas import SimulationIn, SimulationOut, period, report
from regulars.simulation.service import simulate

router = routes(prefix="/v1/program", tags=["program"])
Admin = Annotated[Principal, Depends(allow())]
Readers = Annotated[
    Principal,
    Depends(allow(Role.SUPPORT, Role.ANALYST, Role.POS, Role.APP, Role.MEMBER)),
]


class ProgramIn(BaseModel):
    toml: str = Field(min_length=1, max_length=200_000, description="The program file's text.")


class ActiveProgram(BaseModel):
    version: int
    program: Program


@router.get("")
def read(session: DbSession, caller: Readers) -> ActiveProgram:
    """The active program: earn rules, tiers, expiry, redemption, promotions."""
    version, program = active_program(session)
    return ActiveProgram(version=version, program=program)


@router.post("", status_code=status.HTTP_201_CREATED)
def apply(data: ProgramIn, session: DbSession, caller: Admin) -> ActiveProgram:
    """Validate a program file and make it the active version."""
    version = apply_program(session, text=data.toml, now=utc_now(), actor=caller.name)
    _, program = active_program(session)
    return ActiveProgram(version=version.id, program=program)


@router.post("/simulations", openapi_extra=READS_ONLY)
def simulation(data: SimulationIn, session: DbSession, caller: Admin) -> SimulationOut:
    """Price the receipts of a past period by a proposed program and by the active one, and
    report what would change: discounts per offer, points issued, liability, tier moves.
    Nothing is written."""
    _, active = active_program(session)
    proposed = parse_program(data.toml)
    start, end = period(data.start, data.end, ZoneInfo(active.timezone))
    return report(simulate(session, active=active, proposed=proposed, start=start, end=end))
