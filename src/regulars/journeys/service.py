"""Use cases of journeys: define one, let members in as their trigger finds them, take the
steps that are due, and measure what the journey earned.

A run is safe to repeat: a member enters a journey once per occasion (the database keeps
it so), and each entry moves on from the step it reached. Members in the control group
enter too, and finish at once: nothing is sent or given to them, and their purchases in
the window after entering are what the others' are compared with.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.audiences.service import audience_members, get_audience
from regulars.audit.service import record
from regulars.campaigns.messages import (
    chunks,
    member_values,
    message_figures,
    queue_messages,
    reasons_to_skip,
)
from regulars.campaigns.models import Group, OutboxMessage
from regulars.campaigns.optout import Links
from regulars.campaigns.rules import in_control
from regulars.campaigns.service import Uplift, cost_of, uplift
from regulars.coupons.models import Coupon, CouponStatus
from regulars.coupons.service import get_template, issue_coupons
from regulars.db import bulk_insert
from regulars.errors import Conflict, InvalidInput, NotFound
from regulars.journeys.models import Holiday, Journey, JourneyEntry, JourneyStep
from regulars.journeys.plan import Branch, GiveCoupon, GivePoints, Plan, Send, Wait, parse_plan
from regulars.journeys.triggers import Entrant, entrants
from regulars.members.models import Member, MemberStatus
from regulars.points.models import EntryKind
from regulars.points.service import credit_points, lock_members
from regulars.program.schema import Program
from regulars.program.service import active_program
from regulars.sales.models import Receipt

BATCH = 2_000  # entries a round of steps takes at once


class JourneyNotFound(NotFound):
    code = "journey_not_found"


def create_journey(
    session: Session, *, definition: str | dict[str, object], now: datetime, actor: str
) -> Journey:
    """A journey from its definition, active from now; what it names must exist."""
    plan = parse_plan(definition)
    if session.scalar(select(Journey.id).where(Journey.name == plan.name)) is not None:
        raise Conflict(f"a journey named {plan.name!r} exists already", field="name")
    if plan.audience is not None:
        get_audience(session, name=plan.audience)
    for step in plan.steps:
        if isinstance(step, GiveCoupon):
            get_template(session, code=step.template)
    journey = Journey(
        name=plan.name,
        trigger=plan.trigger,
        plan=plan.model_dump_json(),
        control_share=plan.control_share,
        active=True,
        active_since=now,
        created_at=now,
        created_by=actor,
    )
    session.add(journey)
    session.flush()
    return journey


def get_journey(session: Session, *, name: str) -> Journey:
    journey = session.scalars(select(Journey).where(Journey.name == name)).first()
    if journey is None:
        raise JourneyNotFound(f"no journey named {name!r}", field="journey")
    return journey


def list_journeys(session: Session) -> list[Journey]:
    return list(session.scalars(select(Journey).order_by(Journey.name)))


def source_of(journey: Journey) -> str:
    """What a journey's coupons and bonus points are marked with."""
    return f"journey:{journey.name}"[:40]


def plan_of(journey: Journey) -> Plan:
    return Plan.model_validate_json(journey.plan)


def set_active(session: Session, *, name: str, active: bool, now: datetime) -> Journey:
    """Pause a journey (nobody new enters, nobody moves on) or let it go on from now."""
    journey = get_journey(session, name=name)
    if active and not journey.active:
        journey.active_since = now  # a paused welcome does not greet the backlog
    journey.active = active
    session.flush()
    return journey


@dataclass(frozen=True)
class Run:
    journey: str
    entered: int
    held_back: int  # of those entered, in the control group
    steps: dict[str, int]  # what the steps did: "sent", "no sms consent", "waiting", …


def run_journeys(
    session: Session, *, now: datetime, weekly_cap: int, links: Links | None
) -> list[Run]:
    """Let members in and take the due steps of every active journey. The journeys are
    locked for the run: a second run at the same time waits, then finds the work done."""
    program = active_program(session)[1]
    runs = []
    active = select(Journey).where(Journey.active.is_(True)).order_by(Journey.id)
    for journey in session.scalars(active.with_for_update()).all():
        plan = plan_of(journey)
        entered, held = _enter(session, journey, plan, program, now)
        done = _advance(session, journey, plan, program, now, weekly_cap, links)
        runs.append(Run(journey.name, entered, held, dict(done)))
    return runs


def _enter(
    session: Session, journey: Journey, plan: Plan, program: Program, now: datetime
) -> tuple[int, int]:
    found = entrants(session, journey, plan, program, now)
    if plan.audience is not None:
        allowed = set(audience_members(session, name=plan.audience, now=now))
        found = [e for e in found if e.member_id in allowed]
    found = _not_entered(session, journey, found)
    rows = []
    for entrant in found:
        held = in_control(f"journey:{journey.id}", entrant.member_id, journey.control_share)
        rows.append(
            {
                "journey_id": journey.id,
                "member_id": entrant.member_id,
                "occasion": entrant.occasion,
                "group": Group.CONTROL if held else Group.TREATMENT,
                "entered_at": now,
                "details": json.dumps(entrant.details, ensure_ascii=False),
                "step": 0,
                "due_at": now,
                "finished_at": now if held else None,
                "outcome": "control group" if held else None,
            }
        )
    for i in range(0, len(rows), BATCH):
        session.execute(bulk_insert(JourneyEntry), rows[i : i + BATCH])
    return len(rows), sum(1 for r in rows if r["group"] is Group.CONTROL)


def _not_entered(session: Session, journey: Journey, found: list[Entrant]) -> list[Entrant]:
    """Those who have not entered for their occasion yet (once each, however often found)."""
    unique = list({(e.member_id, e.occasion): e for e in found}.values())
    seen: set[tuple[int, str]] = set()
    for chunk in chunks([e.member_id for e in unique]):
        seen |= {
            (m, o)
            for m, o in session.execute(
                select(JourneyEntry.member_id, JourneyEntry.occasion).where(
                    JourneyEntry.journey_id == journey.id, JourneyEntry.member_id.in_(chunk)
                )
            )
        }
    return [e for e in unique if (e.member_id, e.occasion) not in seen]


def _advance(
    session: Session,
    journey: Journey,
    plan: Plan,
    program: Program,
    now: datetime,
    weekly_cap: int,
    links: Links | None,
) -> Counter[str]:
    """Take every step that is due now, in rounds of entries at the same step, until each
    entry waits, or has finished."""
    done: Counter[str] = Counter()
    due = (
        select(JourneyEntry)
        .where(
            JourneyEntry.journey_id == journey.id,
            JourneyEntry.finished_at.is_(None),
            JourneyEntry.due_at <= now,
        )
        .order_by(JourneyEntry.due_at, JourneyEntry.id)  # the index's order: stops at BATCH
        .limit(BATCH)
    )
    while entries := list(session.scalars(due)):
        _finish_gone(session, entries, now, done)
        at_step: dict[int, list[JourneyEntry]] = defaultdict(list)
        for entry in entries:
            if entry.finished_at is None:
                at_step[entry.step].append(entry)
        for number, group in at_step.items():
            step = plan.steps[number]
            context = _Context(session, journey, program, now, weekly_cap, links)
            results = context.take(step, number, group)
            session.execute(
                bulk_insert(JourneyStep),
                [
                    {"entry_id": e.id, "step": number, "done_at": now, "result": results[e.id]}
                    for e in group
                ],
            )
            for entry in group:
                _move_on(entry, step, results[entry.id], len(plan.steps), now)
                done[results[entry.id]] += 1
        session.flush()
    return done


def _finish_gone(
    session: Session, entries: list[JourneyEntry], now: datetime, done: Counter[str]
) -> None:
    """Members erased, merged or frozen since they entered leave the journey."""
    active = set(
        session.scalars(
            select(Member.id).where(
                Member.id.in_([e.member_id for e in entries]),
                Member.status == MemberStatus.ACTIVE,
            )
        )
    )
    for entry in entries:
        if entry.member_id not in active:
            entry.finished_at, entry.outcome = now, "member no longer active"
            done["member no longer active"] += 1


def _move_on(entry: JourneyEntry, step: object, result: str, steps: int, now: datetime) -> None:
    """To the next step, or where a branch points (a step number from 1), or the end."""
    goto: str | int = "next"
    if isinstance(step, Wait):
        entry.due_at = now + timedelta(days=step.days)
    elif isinstance(step, Branch):
        goto = step.then if result == "yes" else step.otherwise
    if goto == "end":
        entry.finished_at, entry.outcome = now, "ended by a branch"
        return
    following = entry.step + 1 if goto == "next" else int(goto) - 1
    if following >= steps:
        entry.finished_at, entry.outcome = now, "completed"
        return
    entry.step = following


@dataclass
class _Context:
    session: Session
    journey: Journey
    program: Program
    now: datetime
    weekly_cap: int
    links: Links | None

    def take(self, step: object, number: int, entries: list[JourneyEntry]) -> dict[int, str]:
        """What the step did for each entry, by entry id."""
        match step:
            case Send():
                return self.send(step, number, entries)
            case GiveCoupon():
                return self.coupon(step, entries)
            case GivePoints():
                return self.points(step, entries)
            case Wait():
                return {e.id: "waiting" for e in entries}
            case Branch():
                yes = self.bought(entries) if step.when == "bought" else self.redeemed(entries)
                return {e.id: "yes" if e.id in yes else "no" for e in entries}
        raise AssertionError(f"unknown step {step!r}")

    @property
    def source(self) -> str:
        return source_of(self.journey)

    def send(self, step: Send, number: int, entries: list[JourneyEntry]) -> dict[int, str]:
        members = [e.member_id for e in entries]
        why = reasons_to_skip(self.session, step.channel, members, self.now, self.weekly_cap)
        reached = [e for e in entries if e.member_id not in why]
        values = member_values(self.session, [e.member_id for e in reached])
        for entry in reached:
            own = values[entry.member_id]
            own.update(json.loads(entry.details))
            if self.links is not None:
                own["unsubscribe"] = self.links.unsubscribe(entry.member_id, step.channel)
        queue_messages(
            self.session,
            keys={e.member_id: f"journey:{self.journey.id}:{e.id}:{number}" for e in reached},
            channel=step.channel,
            wording=step.wording,
            values=values,
            now=self.now,
            journey_id=self.journey.id,
        )
        return {e.id: why.get(e.member_id, "sent") for e in entries}

    def coupon(self, step: GiveCoupon, entries: list[JourneyEntry]) -> dict[int, str]:
        try:
            with self.session.begin_nested():
                issued = issue_coupons(
                    self.session,
                    template_code=step.template,
                    member_ids=[e.member_id for e in entries],
                    now=self.now,
                    source=self.source,
                )
        except (Conflict, InvalidInput) as refused:  # sold out, over a member's limit
            return {e.id: f"no coupon: {refused.message}"[:60] for e in entries}
        codes = {c.member_id: c.code for c in issued}
        for entry in entries:
            details = json.loads(entry.details) | {"coupon_code": codes[entry.member_id]}
            entry.details = json.dumps(details, ensure_ascii=False)
        return {e.id: "coupon issued" for e in entries}

    def points(self, step: GivePoints, entries: list[JourneyEntry]) -> dict[int, str]:
        owing = lock_members(self.session, [e.member_id for e in entries])
        for entry in sorted(entries, key=lambda e: e.member_id):
            credit_points(
                self.session,
                member_id=entry.member_id,
                points=step.points,
                kind=EntryKind.BONUS,
                now=self.now,
                program=self.program,
                reason=self.source,
                actor=self.journey.created_by,
                may_owe=entry.member_id in owing,
            )
            record(
                self.session,
                at=self.now,
                actor=self.journey.created_by,
                role="journey",
                action=f"bonus points by journey {self.journey.name}"[:100],
                object=f"member_id={entry.member_id},points={step.points}",
                status=200,
                request_id=f"journey:{self.journey.id}:{entry.id}",
            )
        return {e.id: f"{step.points} points" for e in entries}

    def bought(self, entries: Sequence[JourneyEntry]) -> set[int]:
        """The entries whose member has bought since entering."""
        found = self.session.execute(
            select(JourneyEntry.id)
            .join(Receipt, Receipt.member_id == JourneyEntry.member_id)
            .where(
                JourneyEntry.id.in_([e.id for e in entries]),
                Receipt.sold_at >= JourneyEntry.entered_at,
            )
            .distinct()
        )
        return set(found.scalars())

    def redeemed(self, entries: Sequence[JourneyEntry]) -> set[int]:
        """The entries whose member redeemed a coupon of this journey since entering."""
        found = self.session.execute(
            select(JourneyEntry.id)
            .join(Coupon, Coupon.member_id == JourneyEntry.member_id)
            .where(
                JourneyEntry.id.in_([e.id for e in entries]),
                Coupon.source == self.source,
                Coupon.status == CouponStatus.REDEEMED,
                Coupon.issued_at >= JourneyEntry.entered_at,
            )
            .distinct()
        )
        return set(found.scalars())


@dataclass(frozen=True)
class JourneyResults(Uplift):
    journey: Journey
    entries: int
    steps: dict[int, dict[str, int]]  # step number (from 1): result: entries
    messages: dict[str, int]  # by status


def journey_results(
    session: Session, *, name: str, now: datetime, gross_margin: Decimal
) -> JourneyResults:
    """Each group's purchases in the window after entering (still open for recent entries),
    what each step did, and the uplift."""
    journey = get_journey(session, name=name)
    plan = plan_of(journey)
    window = timedelta(days=plan.window_days)
    entries = session.execute(
        select(JourneyEntry.id, JourneyEntry.member_id, JourneyEntry.group, JourneyEntry.entered_at)
        .where(JourneyEntry.journey_id == journey.id)
        .order_by(JourneyEntry.id)
    ).all()
    spend: dict[Group, list[float]] = {Group.TREATMENT: [], Group.CONTROL: []}
    for chunk in chunks(entries):
        bought: dict[int, float] = defaultdict(float)
        receipts = session.execute(
            select(Receipt.member_id, Receipt.sold_at, Receipt.total_amount).where(
                Receipt.member_id.in_({e.member_id for e in chunk}),
                Receipt.sold_at >= min(e.entered_at for e in chunk),
            )
        ).all()
        by_member = defaultdict(list)
        for member_id, sold_at, amount in receipts:
            by_member[member_id].append((sold_at, float(amount)))
        for entry_id, member_id, _, entered_at in chunk:
            end = min(entered_at + window, now)
            bought[entry_id] = sum(a for at, a in by_member[member_id] if entered_at <= at < end)
        for entry_id, _, group, _ in chunk:
            spend[group].append(bought[entry_id])
    source = source_of(journey)
    redeemed = session.scalar(
        select(func.count()).where(Coupon.source == source, Coupon.status == CouponStatus.REDEEMED)
    )
    steps: dict[int, dict[str, int]] = defaultdict(dict)
    for step, result, count in session.execute(
        select(JourneyStep.step, JourneyStep.result, func.count())
        .join(JourneyEntry, JourneyEntry.id == JourneyStep.entry_id)
        .where(JourneyEntry.journey_id == journey.id)
        .group_by(JourneyStep.step, JourneyStep.result)
    ):
        steps[step + 1][result] = count
    found = uplift(
        spend,
        {Group.TREATMENT: int(redeemed or 0), Group.CONTROL: 0},
        cost=cost_of(session, source=source),
        gross_margin=gross_margin,
    )
    return JourneyResults(
        **vars(found),
        journey=journey,
        entries=len(entries),
        steps=dict(steps),
        messages=message_figures(session, OutboxMessage.journey_id == journey.id),
    )


def add_holiday(session: Session, *, name: str, day: date) -> Holiday:
    """A day of the chain's calendar; holiday journeys prepare for it."""
    name = name.strip()
    if not name:
        raise InvalidInput("a holiday needs a name", field="name")
    if session.scalar(select(Holiday.id).where(Holiday.name == name, Holiday.day == day)):
        raise Conflict(f"{name} on {day} is in the calendar already", field="day")
    holiday = Holiday(name=name, day=day)
    session.add(holiday)
    session.flush()
    return holiday


def remove_holiday(session: Session, *, name: str, day: date) -> None:
    holiday = session.scalars(select(Holiday).where(Holiday.name == name, Holiday.day == day))
    found = holiday.first()
    if found is None:
        raise NotFound(f"no {name} on {day} in the calendar", field="day")
    session.delete(found)
    session.flush()


def holidays(session: Session, *, start: date, end: date) -> list[Holiday]:
    """The calendar's days from `start` to `end`, in order."""
    query = select(Holiday).where(Holiday.day >= start, Holiday.day <= end)
    return list(session.scalars(query.order_by(Holiday.day, Holiday.name)))
