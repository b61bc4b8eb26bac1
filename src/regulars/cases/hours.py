"""The business hours a service-level clock counts: each store's opening hours (or the
chain's) and the days it is closed."""

from collections.abc import Mapping
from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from regulars.cases.models import (
    ClosedDay,
    OpeningHours,
)
from regulars.cases.rules import BusinessHours
from regulars.catalog.models import Store
from regulars.catalog.service import StoreNotFound
from regulars.errors import InvalidInput


class NoBusinessHours(InvalidInput):
    code = "no_business_hours"


def find_store(session: Session, code: str | None) -> Store | None:
    if code is None:
        return None
    store = session.scalars(select(Store).where(Store.code == code)).first()
    if store is None:
        raise StoreNotFound(f"no store {code!r}", field="store_code")
    return store


def set_opening_hours(
    session: Session, *, store_code: str | None, hours: Mapping[int, tuple[time, time]]
) -> None:
    """A store's hours (or the chain's, without a store), replacing what was there."""
    store = find_store(session, store_code)
    BusinessHours(ZoneInfo("UTC"), hours)  # refuses hours that cannot be
    store_id = store.id if store else None
    session.execute(delete(OpeningHours).where(owned_by(store_id)))
    session.add_all(
        OpeningHours(store_id=store_id, weekday=day, opens=opens, closes=closes)
        for day, (opens, closes) in sorted(hours.items())
    )
    session.flush()


def owned_by(store_id: int | None) -> ColumnElement[bool]:
    """The chain's rows, or one store's."""
    if store_id is None:
        return OpeningHours.store_id.is_(None)
    return OpeningHours.store_id == store_id


def add_closed_day(session: Session, *, store_code: str | None, day: date, name: str) -> None:
    store = find_store(session, store_code)
    session.add(ClosedDay(store_id=store.id if store else None, day=day, name=name.strip()))
    session.flush()


def business_hours(session: Session, *, store_id: int) -> BusinessHours:
    """The store's own hours, else the chain's; the chain's closed days and its own."""
    store = session.get_one(Store, store_id)
    rows = session.scalars(select(OpeningHours).where(owned_by(store_id))).all()
    if not rows:
        rows = session.scalars(select(OpeningHours).where(owned_by(None))).all()
    if not rows:
        raise NoBusinessHours(
            f"neither store {store.code} nor the chain has business hours to count service "
            "levels in: set them first",
            field="store_code",
        )
    closed = session.scalars(
        select(ClosedDay.day).where((ClosedDay.store_id == store_id) | ClosedDay.store_id.is_(None))
    )
    return BusinessHours(
        ZoneInfo(store.timezone),
        {row.weekday: (row.opens, row.closes) for row in rows},
        frozenset(closed),
    )
