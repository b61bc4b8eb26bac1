"""Use cases of audiences: save a definition, count who is in it, list them.

An audience is evaluated in SQL on the operational database, as one query over members:
each condition becomes a predicate on the member row (a correlated subquery where it needs
their points, receipts, consents or scores), so only the ids that qualify leave the
database. Only active members are ever in an audience.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from regulars.audiences.criteria import (
    AllOf,
    AnyOf,
    Between,
    Bought,
    Condition,
    InAudience,
    InWindow,
    Joined,
    NotThis,
    OneOf,
    PointsExpiring,
    contradiction,
)
from regulars.audiences.models import Audience
from regulars.catalog.models import Product, Store
from regulars.catalog.service import category_codes
from regulars.clock import as_utc
from regulars.errors import Conflict, InvalidInput, NotFound, in_words
from regulars.insights.models import MemberInsight
from regulars.members.models import ConsentChannel, ConsentRecord, Member, MemberStatus
from regulars.points.models import PointLot
from regulars.program.service import active_program
from regulars.sales.models import Receipt, ReceiptLine
from regulars.tiers.models import MemberTier

CONDITION = TypeAdapter(Condition)


class AudienceNotFound(NotFound):
    code = "audience_not_found"


class AudienceContradiction(InvalidInput):
    code = "audience_contradiction"


def parse_condition(definition: object) -> Condition:
    """A definition checked: its shape, and that somebody could meet it."""
    try:
        condition = CONDITION.validate_python(definition)
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise InvalidInput(
            f"{where or 'definition'}: {in_words(problem)}", field="definition"
        ) from None
    reason = contradiction(condition)
    if reason is not None:
        raise AudienceContradiction(f"nobody can be in this audience: {reason}", field="definition")
    return condition


def read_definition(text: str) -> object:
    """A definition as typed (JSON text), before it is checked."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as broken:
        raise InvalidInput(f"the definition is not JSON: {broken}", field="definition") from None


def saved_condition(audience: Audience) -> Condition:
    """A saved audience's condition."""
    return parse_condition(json.loads(audience.definition))


def save_audience(
    session: Session, *, name: str, definition: object, description: str, now: datetime, actor: str
) -> Audience:
    """A new named audience; its definition is checked, including the audiences it names."""
    name = name.strip()
    if not name:
        raise InvalidInput("an audience needs a name", field="name")
    condition = parse_condition(definition)
    if session.scalar(select(Audience.id).where(Audience.name == name)) is not None:
        raise Conflict(f"an audience named {name!r} exists already", field="name")
    _Compiler(session, now, seen={name}).predicate(condition)  # unknown or circular names
    audience = Audience(
        name=name,
        description=description,
        definition=CONDITION.dump_json(condition, exclude_defaults=True).decode(),
        created_at=now,
        created_by=actor,
    )
    session.add(audience)
    session.flush()
    return audience


def get_audience(session: Session, *, name: str) -> Audience:
    audience = session.scalars(select(Audience).where(Audience.name == name)).first()
    if audience is None:
        raise AudienceNotFound(f"no audience named {name!r}", field="audience")
    return audience


def list_audiences(session: Session) -> list[Audience]:
    return list(session.scalars(select(Audience).order_by(Audience.name)))


def member_ids(session: Session, condition: Condition, *, now: datetime) -> Select[int]:
    """The query of the ids of the active members who meet the condition, as of `now`."""
    predicate = _Compiler(session, now).predicate(condition)
    return select(Member.id).where(Member.status == MemberStatus.ACTIVE, predicate)


def count_members(session: Session, condition: Condition, *, now: datetime) -> int:
    """How many members the condition holds for: the preview before anything is sent."""
    query = member_ids(session, condition, now=now).subquery()
    return int(session.scalar(select(func.count()).select_from(query)) or 0)


def audience_members(session: Session, *, name: str, now: datetime) -> list[int]:
    """The members of a saved audience as of `now`, by id: the snapshot a send takes."""
    condition = saved_condition(get_audience(session, name=name))
    return list(session.scalars(member_ids(session, condition, now=now).order_by(Member.id)))


@dataclass
class _Compiler:
    """Turns a condition into a predicate on the member row."""

    session: Session
    now: datetime
    seen: set[str] = field(default_factory=set)  # saved audiences being expanded

    def predicate(self, condition: Condition) -> ColumnElement[bool]:
        match condition:
            case AllOf(of=parts):
                return and_(true(), *(self.predicate(p) for p in parts))
            case AnyOf(of=parts):
                return or_(false(), *(self.predicate(p) for p in parts))
            case NotThis(of=part):
                return not_(self.predicate(part))
            case OneOf():
                return self.one_of(condition)
            case Between():
                return self.between(condition)
            case InWindow():
                return self.in_window(condition)
            case PointsExpiring(days=days, min=least):
                lapsing = select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                    PointLot.member_id == Member.id,
                    PointLot.expires_at > self.now,
                    PointLot.expires_at <= self.now + timedelta(days=days),
                    PointLot.remaining > 0,
                )
                return lapsing.scalar_subquery() >= least
            case Joined(after=after, before=before):
                zone = active_program(self.session)[1].timezone
                bounds: list[ColumnElement[bool]] = []
                if after is not None:
                    bounds.append(Member.joined_at >= _day_start(after, zone))
                if before is not None:
                    bounds.append(Member.joined_at < _day_start(before, zone))
                return and_(true(), *bounds)
            case Bought():
                return self.bought(condition)
            case InAudience(name=name):
                if name in self.seen:
                    raise InvalidInput(f"audience {name!r} includes itself", field="definition")
                saved = get_audience(self.session, name=name)
                inner = _Compiler(self.session, self.now, self.seen | {name})
                return inner.predicate(CONDITION.validate_json(saved.definition))
        raise AssertionError(condition)

    def one_of(self, condition: OneOf) -> ColumnElement[bool]:
        values = condition.values
        match condition.kind:
            case "tier":
                first = active_program(self.session)[1].tiers[0].code
                held = select(MemberTier.tier_code).where(MemberTier.member_id == Member.id)
                tier = func.coalesce(held.scalar_subquery(), first)
                return tier.in_(values)
            case "rfm_segment" | "shopper_type" | "cluster":
                column = getattr(MemberInsight, condition.kind)
                return exists().where(MemberInsight.member_id == Member.id, column.in_(values))
            case "home_store" | "region":
                column = Store.code if condition.kind == "home_store" else Store.region
                return exists().where(Store.id == Member.join_store_id, column.in_(values))
            case "birthday_month":
                return Member.birth_month.in_([_month(v) for v in values])
            case "consent":
                return or_(*(consents_to(_channel(v)) for v in values))
            case "channel":
                return exists().where(Receipt.member_id == Member.id, Receipt.channel.in_(values))
        raise AssertionError(condition.kind)

    def between(self, condition: Between) -> ColumnElement[bool]:
        figure: ColumnElement[object]
        if condition.kind == "points_balance":
            held = select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                PointLot.member_id == Member.id,
                or_(PointLot.expires_at.is_(None), PointLot.expires_at > self.now),
            )
            figure = held.scalar_subquery()
        elif condition.kind == "days_since_purchase":
            # Days since the last purchase; a member who never bought counts from joining.
            last = select(func.max(Receipt.sold_at)).where(Receipt.member_id == Member.id)
            since = func.coalesce(last.scalar_subquery(), Member.joined_at)
            parts = []
            if condition.min is not None:  # at least `min` days ago
                parts.append(since <= self.now - timedelta(days=float(condition.min)))
            if condition.max is not None:
                parts.append(since >= self.now - timedelta(days=float(condition.max)))
            return and_(*parts)
        else:
            column = getattr(MemberInsight, condition.kind)
            figure = select(column).where(MemberInsight.member_id == Member.id).scalar_subquery()
        return _within(figure, condition.min, condition.max)

    def in_window(self, condition: InWindow) -> ColumnElement[bool]:
        # Set-wise, not member by member: the members whose receipts in the window add up
        # to the range are found by one grouped query, evaluated once.
        measure = func.count() if condition.kind == "visits" else func.sum(Receipt.total_amount)
        window = (
            Receipt.member_id.is_not(None),
            Receipt.sold_at >= self.now - timedelta(days=condition.days),
            Receipt.sold_at <= self.now,
        )
        bounds = []
        if condition.min is not None:
            bounds.append(measure >= condition.min)
        if condition.max is not None:
            bounds.append(measure <= condition.max)
        fitting = select(Receipt.member_id).where(*window).group_by(Receipt.member_id)
        inside = Member.id.in_(fitting.having(and_(true(), *bounds)))
        if (condition.min or 0) > 0 or (condition.max is not None and condition.max < 0):
            return inside
        # Nothing in the window also counts, as 0.
        return or_(inside, Member.id.not_in(select(Receipt.member_id).where(*window)))

    def bought(self, condition: Bought) -> ColumnElement[bool]:
        # From the goods to their lines to the receipts, each step a semi-join on a key or an
        # index, so only the lines of the goods asked for are read. Joined the other way round
        # (receipts, lines, then products), SQLite scanned every line there is.
        wanted = set(condition.categories)
        within = [i for i, codes in category_codes(self.session).items() if codes & wanted]
        goods = select(Product.id).where(
            or_(Product.brand.in_(condition.brands), Product.category_id.in_(within))
        )
        baskets = select(ReceiptLine.receipt_id).where(ReceiptLine.product_id.in_(goods))
        buyers = select(Receipt.member_id).where(
            Receipt.id.in_(baskets),
            Receipt.member_id.is_not(None),
            Receipt.sold_at >= self.now - timedelta(days=condition.days),
        )
        return Member.id.in_(buyers)


def _within(figure: ColumnElement[object], least: object, most: object) -> ColumnElement[bool]:
    parts = []
    if least is not None:
        parts.append(figure >= least)
    if most is not None:
        parts.append(figure <= most)
    return and_(*parts)


def consents_to(channel: ConsentChannel) -> ColumnElement[bool]:
    """The member's latest word on the channel was yes."""
    said = aliased(ConsentRecord)
    latest = (
        select(func.max(said.id))
        .where(said.member_id == Member.id, said.channel == channel)
        .correlate(Member)  # the member of the outer query, two levels up
        .scalar_subquery()
    )
    return exists().where(ConsentRecord.id == latest, ConsentRecord.granted.is_(True))


def _channel(value: str) -> ConsentChannel:
    try:
        return ConsentChannel(value)
    except ValueError:
        known = ", ".join(c.value for c in ConsentChannel)
        raise InvalidInput(
            f"no consent channel {value!r}; one of {known}", field="definition"
        ) from None


def _month(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 12:
        raise InvalidInput(f"birthday_month {value!r} is not a month 1-12", field="definition")
    return int(value)


def _day_start(day: date, zone: str) -> datetime:
    return as_utc(datetime.combine(day, time.min), ZoneInfo(zone))
