"""Complaint figures for the CRM team and store managers: how many cases came in, through
which channel and about what, how long they waited for an answer and a resolution in
business hours, how often the service levels were kept, who complains again, and whether
complainants kept shopping after a case handled late.

A handful of bulk reads (cases, their waits, the policies, each store's hours once, the
complainants' receipts); nothing is written. Months are the store's local months.
"""

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, load_only

from regulars.campaigns.rules import Z95, Difference, difference_in_rates
from regulars.cases import rules
from regulars.cases.hours import business_hours
from regulars.cases.levels import Clock, SlaStanding, waiting_spans
from regulars.cases.models import Case, CaseCategory, CaseChannel, CaseEvent, SlaPolicy
from regulars.cases.rules import BusinessHours, CaseState, Interval
from regulars.catalog.models import Store
from regulars.errors import InvalidInput
from regulars.sales.models import Receipt

COMEBACK_WINDOW = timedelta(days=90)  # a regular who buys nothing for 90 days is lapsing
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Tally:
    """Cases of one month ("2026-10") or channel, and their share of all cases."""

    key: str
    cases: int
    share: float


@dataclass(frozen=True)
class StoreCategory:
    """What a store's customers complain about, and how much of the store's cases it is."""

    store_code: str
    category: CaseCategory
    cases: int
    share: float


@dataclass(frozen=True)
class HandlingTime:
    """Business hours from opening to the first response or the resolution, waits for the
    customer left out; `cases` counts those answered (or resolved)."""

    cases: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class Compliance:
    """Service levels kept (`met`) and missed (`breached`, open cases past due included);
    open cases not yet due are in neither, as their outcome is not known."""

    met: int
    breached: int
    share: float | None  # met / (met + breached)


@dataclass(frozen=True)
class ServiceLevels:
    first_response: Compliance
    resolution: Compliance


@dataclass(frozen=True)
class CategoryServiceLevels:
    category: CaseCategory
    first_response: Compliance
    resolution: Compliance


@dataclass(frozen=True)
class RepeatComplainants:
    """Members who came back with another case: a sign the first was not put right."""

    complainants: int  # members with a case
    members: int  # of them, with two or more
    cases: int  # their cases
    share_of_cases: float | None  # of all cases, anonymous ones included


@dataclass(frozen=True)
class BoughtAgain:
    """Complainants who bought again within the window after their case, with the
    Wilson 95% interval, which stays inside 0..1 and honest for a few dozen members."""

    members: int
    bought: int
    share: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class AfterHandling:
    """Whether complainants stayed, by whether their case was resolved on time.

    Each member counts once, by the last of their cases whose window had ended by `now`,
    so a repeat complainant does not weigh double; an unresolved case's window starts when
    it was opened, and it counts as late once past due. `difference` is on time minus late
    (normal approximation), None while either group is empty.
    """

    window_days: int
    on_time: BoughtAgain
    late: BoughtAgain
    difference: Difference | None


@dataclass(frozen=True)
class ComplaintFigures:
    """Cases opened in [since, until), as they stood at `now`."""

    since: datetime
    until: datetime
    now: datetime
    cases: int
    by_month: tuple[Tally, ...]  # store-local months, first to last, empty months as 0
    by_channel: tuple[Tally, ...]  # most cases first
    top_categories: tuple[StoreCategory, ...]  # by store code, then most cases first
    first_response: HandlingTime
    resolution: HandlingTime
    service_levels: ServiceLevels
    service_levels_by_category: tuple[CategoryServiceLevels, ...]
    without_policy: int  # cases of a category and severity no service level covers
    repeat_complainants: RepeatComplainants
    after_handling: AfterHandling


@dataclass(frozen=True)
class _Handled:
    """One case with the figures it takes part in."""

    id: int
    member_id: int | None
    store_id: int
    channel: CaseChannel
    category: CaseCategory
    opened_at: datetime
    resolved_at: datetime | None
    first_response_hours: float | None
    resolution_hours: float | None
    standing: SlaStanding | None


def complaint_figures(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    store_ids: Sequence[int] | None = None,
) -> ComplaintFigures:
    """Volumes, handling times, service levels, repeat complainants and what complainants
    bought afterwards, for the cases opened in [since, until) (of some stores only)."""
    if since.tzinfo is None or until.tzinfo is None or now.tzinfo is None:
        raise InvalidInput("since, until and now carry a time zone", field="since")
    if until <= since:
        raise InvalidInput("the period ends after it starts", field="until")
    chosen = select(Case.id).where(Case.opened_at >= since, Case.opened_at < until)
    if store_ids is not None:
        chosen = chosen.where(Case.store_id.in_(list(store_ids)))
    handled = _handled(session, chosen, now)
    stores = {
        row.id: (row.code, ZoneInfo(row.timezone))
        for row in session.execute(select(Store.id, Store.code, Store.timezone))
    }
    covered = [c for c in handled if c.standing is not None]
    categories = sorted({c.category for c in covered})
    return ComplaintFigures(
        since=since,
        until=until,
        now=now,
        cases=len(handled),
        by_month=_by_month(handled, stores),
        by_channel=_tallies(Counter(c.channel.value for c in handled), len(handled)),
        top_categories=_top_categories(handled, stores),
        first_response=_handling_time(c.first_response_hours for c in handled),
        resolution=_handling_time(c.resolution_hours for c in handled),
        service_levels=_service_levels(covered, now),
        service_levels_by_category=tuple(
            CategoryServiceLevels(category, levels.first_response, levels.resolution)
            for category in categories
            for levels in [_service_levels([c for c in covered if c.category is category], now)]
        ),
        without_policy=len(handled) - len(covered),
        repeat_complainants=_repeat_complainants(handled),
        after_handling=_after_handling(session, chosen, handled, now),
    )


def _handled(session: Session, chosen: Select[int], now: datetime) -> list[_Handled]:
    """The chosen cases with their handling times and service-level clocks, built from
    bulk reads: the policies once, each store's business hours once, every wait at once.
    The clocks are the ones `levels.sla_standing` gives, held to the policy now in force."""
    rows = session.execute(
        select(
            Case.id, Case.member_id, Case.store_id, Case.channel, Case.category, Case.severity,
            Case.state, Case.opened_at, Case.first_response_at, Case.resolved_at,
        ).where(Case.id.in_(chosen)).order_by(Case.id)
    ).all()  # fmt: skip
    policies = {
        (p.category, p.severity): (p.first_response_minutes, p.resolution_minutes)
        for p in session.scalars(select(SlaPolicy))
    }
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    waiting = CaseState.WAITING_FOR_CUSTOMER
    query = (  # the moves in and out of a wait, and not their notes: those are sealed
        select(CaseEvent)
        .options(
            load_only(CaseEvent.case_id, CaseEvent.at, CaseEvent.from_state, CaseEvent.to_state)
        )
        .where(CaseEvent.case_id.in_(chosen))
        .where((CaseEvent.from_state == waiting) | (CaseEvent.to_state == waiting))
        .order_by(CaseEvent.case_id, CaseEvent.id)
    )
    for event in session.scalars(query):
        events[event.case_id].append(event)
    hours: dict[int, BusinessHours] = {}
    handled = []
    for row in rows:
        if row.store_id not in hours:
            hours[row.store_id] = business_hours(session, store_id=row.store_id)
        store_hours = hours[row.store_id]
        waits = waiting_spans(events[row.id], now)
        policy = policies.get((row.category, row.severity))
        standing = None
        if policy is not None:
            due = [rules.deadline(store_hours, row.opened_at, timedelta(minutes=m), waits)
                   for m in policy]  # fmt: skip
            paused = row.state is waiting
            standing = SlaStanding(
                Clock(due[0], row.first_response_at, paused and row.first_response_at is None),
                Clock(due[1], row.resolved_at, paused and row.resolved_at is None),
            )
        first_response = _hours(store_hours, row.opened_at, row.first_response_at, waits)
        resolution = _hours(store_hours, row.opened_at, row.resolved_at, waits)
        handled.append(
            _Handled(
                row.id, row.member_id, row.store_id, row.channel, row.category, row.opened_at,
                row.resolved_at, first_response, resolution, standing,
            )
        )  # fmt: skip
    return handled


def _hours(
    hours: BusinessHours, start: datetime, end: datetime | None, waits: Sequence[Interval]
) -> float | None:
    if end is None:
        return None
    return rules.business_time(hours, start, end, waits) / HOUR


def _by_month(
    handled: Sequence[_Handled], stores: dict[int, tuple[str, ZoneInfo]]
) -> tuple[Tally, ...]:
    """Every month from the first case's to the last's, so a chart's axis has no holes."""
    months = Counter(
        (local.year, local.month)
        for local in (c.opened_at.astimezone(stores[c.store_id][1]) for c in handled)
    )
    if not months:
        return ()
    (year, month), last = min(months), max(months)
    tallies = []
    while (year, month) <= last:
        cases = months[year, month]
        tallies.append(Tally(f"{year:04d}-{month:02d}", cases, cases / len(handled)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(tallies)


def _tallies(counts: Counter[str], total: int) -> tuple[Tally, ...]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Tally(key, cases, cases / total) for key, cases in ordered)


def _top_categories(
    handled: Sequence[_Handled], stores: dict[int, tuple[str, ZoneInfo]]
) -> tuple[StoreCategory, ...]:
    counts = Counter((stores[c.store_id][0], c.category) for c in handled)
    per_store = Counter(stores[c.store_id][0] for c in handled)
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], -item[1], item[0][1]))
    return tuple(
        StoreCategory(code, category, cases, cases / per_store[code])
        for (code, category), cases in ordered
    )


def _handling_time(hours: Iterable[float | None]) -> HandlingTime:
    """Median and 90th percentile, interpolated between neighbouring cases (NumPy's
    default), so a handful of cases gives a figure one can check by hand."""
    values = [h for h in hours if h is not None]
    if not values:
        return HandlingTime(0, None, None)
    median, p90 = np.quantile(values, [0.5, 0.9])
    return HandlingTime(len(values), float(median), float(p90))


def _kept(clock: Clock, now: datetime) -> bool | None:
    """Met, breached, or (open and not yet due) not known yet."""
    if clock.late(now):
        return False
    return True if clock.done_at is not None else None


def _compliance(verdicts: Iterable[bool | None]) -> Compliance:
    counted = Counter(v for v in verdicts if v is not None)
    met, breached = counted[True], counted[False]
    return Compliance(met, breached, met / (met + breached) if met + breached else None)


def _service_levels(covered: Sequence[_Handled], now: datetime) -> ServiceLevels:
    standings = [c.standing for c in covered if c.standing is not None]
    return ServiceLevels(
        _compliance(_kept(s.first_response, now) for s in standings),
        _compliance(_kept(s.resolution, now) for s in standings),
    )


def _repeat_complainants(handled: Sequence[_Handled]) -> RepeatComplainants:
    per_member = Counter(c.member_id for c in handled if c.member_id is not None)
    repeat = {member: n for member, n in per_member.items() if n >= 2}
    cases = sum(repeat.values())
    share = cases / len(handled) if handled else None
    return RepeatComplainants(len(per_member), len(repeat), cases, share)


def _after_handling(
    session: Session, chosen: Select[int], handled: Sequence[_Handled], now: datetime
) -> AfterHandling:
    """Each complainant's last case whose window has ended, on time or late, and whether
    a receipt of theirs (in any store) falls in the window after it."""
    windows: dict[int, tuple[datetime, bool]] = {}  # member: start, resolved on time
    for case in sorted(handled, key=lambda c: (c.opened_at, c.id)):
        start = case.resolved_at or case.opened_at
        if case.member_id is None or case.standing is None or start + COMEBACK_WINDOW > now:
            continue
        kept = _kept(case.standing.resolution, now)
        if kept is not None:
            windows[case.member_id] = (start, kept)
    members: Counter[bool] = Counter(kept for _, kept in windows.values())
    bought: Counter[bool] = Counter()
    if windows:
        sales: dict[int | None, list[datetime]] = defaultdict(list)
        starts = [start for start, _ in windows.values()]
        for member_id, sold_at in session.execute(
            select(Receipt.member_id, Receipt.sold_at)
            .where(Receipt.member_id.in_(select(Case.member_id).where(Case.id.in_(chosen))))
            .where(Receipt.sold_at > min(starts), Receipt.sold_at <= max(starts) + COMEBACK_WINDOW)
            .order_by(Receipt.member_id, Receipt.sold_at)
        ):
            sales[member_id].append(sold_at)
        for member_id, (start, kept) in windows.items():
            times = sales[member_id]
            after = bisect.bisect_right(times, start)  # the first sale after the start
            bought[kept] += after < len(times) and times[after] <= start + COMEBACK_WINDOW
    difference = None
    if members[True] and members[False]:
        difference = difference_in_rates(bought[True], members[True], bought[False], members[False])
    return AfterHandling(
        COMEBACK_WINDOW.days,
        _bought_again(bought[True], members[True]),
        _bought_again(bought[False], members[False]),
        difference,
    )


def _bought_again(bought: int, members: int) -> BoughtAgain:
    low, high = wilson_interval(bought, members)
    return BoughtAgain(members, bought, bought / members if members else None, low, high)


def wilson_interval(hits: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a share: unlike the normal one it does not collapse to
    a point at 0 or 100%, which a small store's group often is."""
    if n == 0:
        return None, None
    share = hits / n
    spread = z * z / n
    centre = (share + spread / 2) / (1 + spread)
    half = z / (1 + spread) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
