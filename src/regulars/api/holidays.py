"""The chain's calendar of holidays, which holiday journeys prepare for."""

from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, allow
from regulars.api.unit_of_work import routes
from regulars.clock import utc_now
from regulars.journeys import service
from regulars.journeys.schemas import HolidayIn, HolidayOut

router = routes(prefix="/v1/holidays", tags=["journeys"])
Marketing = Annotated[Principal, Depends(allow(Role.MARKETING))]
Readers = Annotated[Principal, Depends(allow(Role.MARKETING, Role.ANALYST))]


@router.get("")
def holidays(
    session: DbSession,
    caller: Readers,
    year: Annotated[int, Query(ge=2000, le=2100, description="Default: this year.")] = 0,
) -> list[HolidayOut]:
    """The holidays of a year, in order."""
    year = year or utc_now().year
    found = service.holidays(session, start=date(year, 1, 1), end=date(year, 12, 31))
    return [HolidayOut.model_validate(h) for h in found]


@router.post("", status_code=status.HTTP_201_CREATED)
def add(data: HolidayIn, session: DbSession, caller: Marketing) -> HolidayOut:
    """Put a holiday in the calendar; holiday journeys prepare for it."""
    return HolidayOut.model_validate(service.add_holiday(session, name=data.name, day=data.day))


@router.delete("/{day}/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove(
    day: date, name: Annotated[str, Path(max_length=60)], session: DbSession, caller: Marketing
) -> None:
    """Take a holiday out of the calendar."""
    service.remove_holiday(session, name=name, day=day)
