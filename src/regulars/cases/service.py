"""Use cases of cases: open one from any channel, move it through the workflow, assign it,
and read it with its history."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.cases import rules
from regulars.cases.categories import suggest_category
from regulars.cases.hours import business_hours, find_store
from regulars.cases.models import (
    Case,
    CaseCategory,
    CaseChannel,
    CaseEvent,
    Severity,
)
from regulars.cases.rules import CaseState
from regulars.catalog.models import Product
from regulars.catalog.service import ProductNotFound
from regulars.coupons.service import issue_coupons
from regulars.errors import InvalidInput, NotFound
from regulars.members.service import get_member
from regulars.points.service import adjust_points
from regulars.program.service import active_program
from regulars.sales.models import Receipt
from regulars.sales.service import ReceiptNotFound


class CaseNotFound(NotFound):
    code = "case_not_found"


@dataclass(frozen=True)
class NewCase:
    channel: CaseChannel
    store_code: str
    category: CaseCategory | None  # none: suggested from the description, to be confirmed
    severity: Severity
    description: str
    member_id: int | None = None
    receipt_id: int | None = None
    sku: str | None = None
    attachments: Sequence[str] = ()


def open_case(session: Session, *, case: NewCase, now: datetime, actor: str) -> Case:
    """A new case in its store's queue; what it names must exist."""
    store = find_store(session, case.store_code)
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
    category = case.category
    if category is None:
        category = suggest_category(session, text=case.description).category
    opened = Case(
        channel=case.channel,
        member_id=case.member_id,
        store_id=store.id,
        receipt_id=case.receipt_id,
        product_id=product_id,
        category=category,
        category_confirmed=case.category is not None,
        severity=case.severity,
        description=case.description.strip(),
        attachments=json.dumps(list(case.attachments)),
        state=CaseState.NEW,
        queue=store.code,
        opened_at=now,
    )
    session.add(opened)
    session.flush()
    record_event(session, opened, now=now, actor=actor, kind="opened", to_state=CaseState.NEW)
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
    record_event(
        session, case, now=now, actor=actor, kind="state", from_state=before, to_state=state,
        note=note,
    )  # fmt: skip
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
    record_event(session, case, now=now, actor=actor, kind="assigned", note=note)
    return case


def record_event(
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


def give_goodwill(
    session: Session,
    *,
    case_id: int,
    points: int,
    coupon_template: str | None,
    reason: str,
    cap: int,
    now: datetime,
    actor: str,
) -> Case:
    """Make good to the case's member through the loyalty engine: bonus points (at most
    `cap`, the giver's role's) and or one coupon of a template, kept on the case."""
    case = get_case(session, case_id=case_id)
    if case.member_id is None:
        raise InvalidInput("goodwill goes to a member: this case has none", field="case_id")
    if points < 0 or points > cap:
        raise InvalidInput(f"your role may give 0 to {cap} points at a time", field="points")
    if not points and coupon_template is None:
        raise InvalidInput("give points, a coupon or both", field="points")
    if len(reason.strip()) < 3:
        raise InvalidInput("say why, in at least 3 characters", field="reason")
    given = []
    if points:
        adjust_points(
            session, member_id=case.member_id, points=points, actor=actor, now=now,
            reason=f"goodwill, case {case.id}: {reason.strip()}"[:200],
            program=active_program(session)[1],
        )  # fmt: skip
        given.append(f"{points} points")
    if coupon_template is not None:
        [coupon] = issue_coupons(
            session, template_code=coupon_template, member_ids=[case.member_id], now=now,
            source=f"case:{case.id}",
        )  # fmt: skip
        given.append(f"coupon {coupon.code}")
    record_event(session, case, now=now, actor=actor, kind="goodwill",
                 note=f"{', '.join(given)}: {reason.strip()}")  # fmt: skip
    return case


def confirm_category(
    session: Session, *, case_id: int, category: CaseCategory, now: datetime, actor: str
) -> Case:
    """The agent's category for the case: the suggestion confirmed, or another one."""
    case = get_case(session, case_id=case_id)
    before = case.category
    case.category, case.category_confirmed = category, True
    note = f"category {category}" + ("" if before == category else f" (suggested {before})")
    record_event(session, case, now=now, actor=actor, kind="category", note=note)
    return case
