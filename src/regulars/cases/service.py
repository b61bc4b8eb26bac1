"""Use cases of cases: open one from any channel, move it through the workflow, assign it,
and tell where it stands against its service levels; the business hours and the policies
those levels are counted in."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from regulars.cases import rules
from regulars.cases.models import (
    Case,
    CaseCategory,
    CaseChannel,
    CaseEvent,
    ClosedDay,
    OpeningHours,
    Severity,
    SlaPolicy,
)
from regulars.cases.rules import BusinessHours, CaseState, Interval
from regulars.catalog.models import Product, Store
from regulars.catalog.service import ProductNotFound, StoreNotFound
from regulars.errors import InvalidInput, NotFound
from regulars.members.service import get_member
from regulars.sales.models import Receipt
from regulars.sales.service import ReceiptNotFound


class CaseNotFound(NotFound):
    code = "case_not_found"


class NoBusinessHours(InvalidInput):
    code = "no_business_hours"


class NoPolicy(InvalidInput):
    code = "no_sla_policy"


def _store(session: Session, code: str | None) -> Store | None:
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
    store = _store(session, store_code)
    BusinessHours(ZoneInfo("UTC"), hours)  # refuses hours that cannot be
    store_id = store.id if store else None
    session.execute(delete(OpeningHours).where(_owned_by(store_id)))
    session.add_all(
        OpeningHours(store_id=store_id, weekday=day, opens=opens, closes=closes)
        for day, (opens, closes) in sorted(hours.items())
    )
    session.flush()


def _owned_by(store_id: int | None) -> ColumnElement[bool]:
    """The chain's rows, or one store's."""
    if store_id is None:
        return OpeningHours.store_id.is_(None)
    return OpeningHours.store_id == store_id


def add_closed_day(session: Session, *, store_code: str | None, day: date, name: str) -> None:
    store = _store(session, store_code)
    session.add(ClosedDay(store_id=store.id if store else None, day=day, name=name.strip()))
    session.flush()


def business_hours(session: Session, *, store_id: int) -> BusinessHours:
    """The store's own hours, else the chain's; the chain's closed days and its own."""
    store = session.get_one(Store, store_id)
    rows = session.scalars(select(OpeningHours).where(_owned_by(store_id))).all()
    if not rows:
        rows = session.scalars(select(OpeningHours).where(_owned_by(None))).all()
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


def set_policy(
    session: Session,
    *,
    category: CaseCategory,
    severity: Severity,
    first_response: timedelta,
    resolution: timedelta,
    now: datetime,
) -> SlaPolicy:
    """The service levels of a category and severity, in business hours; open cases are
    held to the new ones from now on."""
    if not timedelta(0) < first_response <= resolution:
        raise InvalidInput(
            "the first response comes after some time, and before the resolution",
            field="first_response_minutes",
        )
    if session.scalar(select(OpeningHours.id).where(_owned_by(None))) is None:
        raise NoBusinessHours(
            "a service level is counted in business hours: set the chain's first",
            field="hours",
        )
    policy = session.scalars(
        select(SlaPolicy).where(SlaPolicy.category == category, SlaPolicy.severity == severity)
    ).first()
    if policy is None:
        policy = SlaPolicy(category=category, severity=severity)
        session.add(policy)
    policy.first_response_minutes = int(first_response.total_seconds() // 60)
    policy.resolution_minutes = int(resolution.total_seconds() // 60)
    policy.changed_at = now
    session.flush()
    return policy


def list_policies(session: Session) -> list[SlaPolicy]:
    query = select(SlaPolicy).order_by(SlaPolicy.category, SlaPolicy.severity)
    return list(session.scalars(query))


@dataclass(frozen=True)
class NewCase:
    channel: CaseChannel
    store_code: str
    category: CaseCategory
    severity: Severity
    description: str
    member_id: int | None = None
    receipt_id: int | None = None
    sku: str | None = None
    attachments: Sequence[str] = ()


def open_case(session: Session, *, case: NewCase, now: datetime, actor: str) -> Case:
    """A new case in its store's queue; what it names must exist."""
    store = _store(session, case.store_code)
    assert store is not None
    if not case.description.strip():
        raise InvalidInput("a case says what happened", field="description")
    if case.member_id is not None:
        get_member(session, member_id=case.member_id)
    if case.receipt_id is not None:
        receipt = session.get(Receipt, case.receipt_id)
        if receipt is None or (case.member_id and receipt.member_id != case.member_id):
            raise ReceiptNotFound(
                f"no receipt {case.receipt_id}" + (" of this member" if case.member_id else ""),
                field="receipt_id",
            )
    product_id = None
    if case.sku is not None:
        product_id = session.scalar(select(Product.id).where(Product.sku == case.sku))
        if product_id is None:
            raise ProductNotFound(f"no product {case.sku!r}", field="sku")
    business_hours(session, store_id=store.id)  # the clock must be able to run
    opened = Case(
        channel=case.channel,
        member_id=case.member_id,
        store_id=store.id,
        receipt_id=case.receipt_id,
        product_id=product_id,
        category=case.category,
        severity=case.severity,
        description=case.description.strip(),
        attachments=json.dumps(list(case.attachments)),
        state=CaseState.NEW,
        queue=store.code,
        opened_at=now,
    )
    session.add(opened)
    session.flush()
    _record(session, opened, now=now, actor=actor, kind="opened", to_state=CaseState.NEW)
    return opened


def get_case(session: Session, *, case_id: int) -> Case:
    found = session.get(Case, case_id)
    if found is None:
        raise CaseNotFound(f"no case {case_id}", field="case_id")
    return found


def move_case(
    session: Session, *, case_id: int, state: CaseState, now: datetime, actor: str, note: str = ""
) -> Case:
    """Move a case on, as the workflow allows; the first move out of "new" is its first
    response; reopening clears the resolution."""
    case = get_case(session, case_id=case_id)
    rules.check_move(case.state, state)
    before = case.state
    if case.first_response_at is None:
        case.first_response_at = now
    if state is CaseState.RESOLVED:
        case.resolved_at = now
    elif state is CaseState.CLOSED:
        case.closed_at = now
    elif before in (CaseState.RESOLVED, CaseState.CLOSED):
        case.resolved_at = case.closed_at = None  # reopened
    case.state = state
    _record(session, case, now=now, actor=actor, kind="state", from_state=before, to_state=state,
            note=note)  # fmt: skip
    return case


def assign_case(
    session: Session,
    *,
    case_id: int,
    queue: str | None,
    assignee: str | None,
    now: datetime,
    actor: str,
) -> Case:
    case = get_case(session, case_id=case_id)
    if queue is not None:
        case.queue = queue.strip() or case.queue
    case.assignee = (assignee or "").strip() or None
    note = f"queue {case.queue}, assignee {case.assignee or 'none'}"
    _record(session, case, now=now, actor=actor, kind="assigned", note=note)
    return case


def _record(
    session: Session,
    case: Case,
    *,
    now: datetime,
    actor: str,
    kind: str,
    from_state: CaseState | None = None,
    to_state: CaseState | None = None,
    note: str = "",
) -> None:
    session.add(CaseEvent(case_id=case.id, at=now, actor=actor, kind=kind,
                          from_state=from_state, to_state=to_state, note=note))  # fmt: skip
    session.flush()


def history(session: Session, *, case_id: int) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Clock:
    """One service level of a case: when it is due, whether it was met or is late."""

    due: datetime
    done_at: datetime | None
    paused: bool  # waiting for the customer: the due time moves on with the wait

    def late(self, now: datetime) -> bool:
        return (self.done_at or now) > self.due


@dataclass(frozen=True)
class SlaStanding:
    first_response: Clock
    resolution: Clock


def sla_standing(session: Session, *, case_id: int, now: datetime) -> SlaStanding:
    """Where a case stands against the policy in force for its category and severity,
    counted in its store's business hours, less its waits for the customer."""
    case = get_case(session, case_id=case_id)
    policy = session.scalars(
        select(SlaPolicy).where(
            SlaPolicy.category == case.category, SlaPolicy.severity == case.severity
        )
    ).first()
    if policy is None:
        raise NoPolicy(
            f"no service level for {case.category} cases of {case.severity} severity",
            field="category",
        )
    hours = business_hours(session, store_id=case.store_id)
    waits = _waits(history(session, case_id=case_id), now)
    waiting = case.state is CaseState.WAITING_FOR_CUSTOMER

    def clock(minutes: int, done_at: datetime | None) -> Clock:
        due = rules.deadline(hours, case.opened_at, timedelta(minutes=minutes), waits)
        return Clock(due, done_at, waiting and done_at is None)

    return SlaStanding(
        clock(policy.first_response_minutes, case.first_response_at),
        clock(policy.resolution_minutes, case.resolved_at),
    )


def _waits(events: Sequence[CaseEvent], now: datetime) -> list[Interval]:
    """The spans the case waited for the customer; one still going ends now."""
    spans: list[Interval] = []
    started: datetime | None = None
    for event in events:
        if event.to_state is CaseState.WAITING_FOR_CUSTOMER:
            started = event.at
        elif event.from_state is CaseState.WAITING_FOR_CUSTOMER and started is not None:
            spans.append((started, event.at))
            started = None
    if started is not None:
        spans.append((started, now))
    return spans


def list_cases(
    session: Session,
    *,
    state: CaseState | None = None,
    queue: str | None = None,
    member_id: int | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> list[Case]:
    """Cases in id order after `after_id`, by state, queue or member."""
    query = select(Case).where(Case.id > after_id)
    if state is not None:
        query = query.where(Case.state == state)
    if queue is not None:
        query = query.where(Case.queue == queue)
    if member_id is not None:
        query = query.where(Case.member_id == member_id)
    return list(session.scalars(query.order_by(Case.id).limit(limit)))


def standing_or_none(session: Session, *, case_id: int, now: datetime) -> SlaStanding | None:
    """The case's standing, or None where no policy covers it."""
    try:
        return sla_standing(session, case_id=case_id, now=now)
    except NoPolicy:
        return None
