"""Service levels: the policies by category and severity, where a case stands against
the one in force, and the hourly check that warns before a breach and escalates after."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.cases import rules
from regulars.cases.hours import NoBusinessHours, business_hours, owned_by
from regulars.cases.models import (
    Case,
    CaseCategory,
    CaseEvent,
    OpeningHours,
    Severity,
    SlaPolicy,
)
from regulars.cases.rules import CaseState, Interval
from regulars.cases.service import get_case, history, record_event
from regulars.errors import InvalidInput


class NoPolicy(InvalidInput):
    code = "no_sla_policy"


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
    if session.scalar(select(OpeningHours.id).where(owned_by(None))) is None:
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
    policy = _policy(session, case)
    if policy is None:
        raise NoPolicy(
            f"no service level for {case.category} cases of {case.severity} severity",
            field="category",
        )
    hours = business_hours(session, store_id=case.store_id)
    waits = waiting_spans(history(session, case_id=case_id), now)
    waiting = case.state is CaseState.WAITING_FOR_CUSTOMER

    def clock(minutes: int, done_at: datetime | None) -> Clock:
        due = rules.deadline(hours, case.opened_at, timedelta(minutes=minutes), waits)
        return Clock(due, done_at, waiting and done_at is None)

    return SlaStanding(
        clock(policy.first_response_minutes, case.first_response_at),
        clock(policy.resolution_minutes, case.resolved_at),
    )


def _policy(session: Session, case: Case) -> SlaPolicy | None:
    """The policy in force for the case's category and severity."""
    query = select(SlaPolicy).where(
        SlaPolicy.category == case.category, SlaPolicy.severity == case.severity
    )
    return session.scalars(query).first()


def waiting_spans(events: Sequence[CaseEvent], now: datetime) -> list[Interval]:
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


def standing_or_none(session: Session, *, case_id: int, now: datetime) -> SlaStanding | None:
    """The case's standing, or None where no policy covers it."""
    try:
        return sla_standing(session, case_id=case_id, now=now)
    except NoPolicy:
        return None


WARN_WHEN_LEFT = 0.2  # of a service level's open time: a warning before the breach


@dataclass(frozen=True)
class Alert:
    """A warning or breach the check found, for the people who handle the case."""

    case_id: int
    queue: str
    kind: str  # warning or breach
    note: str


@dataclass(frozen=True)
class Check:
    warned: int
    breached: int
    alerts: tuple[Alert, ...] = ()


def check_service_levels(session: Session, *, now: datetime) -> Check:
    """Warn once about each service level of an open case that has a fifth of its open time
    left, and escalate once each one that is past due: an event on the case says so, for
    its queue to see."""
    warned = breached = 0
    alerts = []
    still_open = Case.state.not_in([CaseState.RESOLVED, CaseState.CLOSED])
    for case in session.scalars(select(Case).where(still_open).order_by(Case.id)).all():
        policy = _policy(session, case)
        if policy is None:
            continue
        standing = sla_standing(session, case_id=case.id, now=now)
        hours = business_hours(session, store_id=case.store_id)
        told = {
            e.note for e in history(session, case_id=case.id) if e.kind in ("warning", "breach")
        }
        for name, clock, minutes in (
            ("first response", standing.first_response, policy.first_response_minutes),
            ("resolution", standing.resolution, policy.resolution_minutes),
        ):
            if clock.done_at is not None or clock.paused:
                continue
            local = f"{clock.due.astimezone(hours.zone):%Y-%m-%d %H:%M}"  # as the store reads it
            if clock.late(now):
                kind, note = "breach", f"{name} was due at {local}"
            elif (
                rules.business_time(hours, now, clock.due)
                <= timedelta(minutes=minutes) * WARN_WHEN_LEFT
            ):
                kind, note = "warning", f"{name} due at {local}"
            else:
                continue
            if note not in told:
                record_event(session, case, now=now, actor="sla check", kind=kind, note=note)
                warned += kind == "warning"
                breached += kind == "breach"
                alerts.append(Alert(case.id, case.queue, kind, note))
    return Check(warned, breached, tuple(alerts))
