"""Use cases of members: enrol, find, update, record consent."""

from collections.abc import Sequence
from datetime import datetime
from random import Random

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from regulars.batch import Outcome, Recorded
from regulars.catalog.models import Store
from regulars.catalog.service import StoreNotFound, stores_by_code
from regulars.db import bulk_insert
from regulars.errors import Conflict, InvalidInput, NotFound, RegularsError
from regulars.members import rules
from regulars.members.models import ConsentChannel, ConsentRecord, Member, MemberStatus
from regulars.members.schemas import MemberCreate, MemberUpdate


class MemberNotFound(NotFound):
    code = "member_not_found"


class DuplicatePhone(Conflict):
    code = "duplicate_phone"


class MemberDiffers(Conflict):
    code = "member_differs"


class InvalidCardNumber(InvalidInput):
    code = "invalid_card_number"


class UnknownReferralCode(InvalidInput):
    code = "unknown_referral_code"


_COMPARED_FIELDS = ("phone", "email", "name", "gender", "birth_date")


def _normalised(data: MemberCreate, region: str) -> MemberCreate:
    changes: dict[str, object] = {}
    if data.phone is not None:
        changes["phone"] = rules.normalise_phone(data.phone, region)
    if data.email is not None:
        changes["email"] = rules.normalise_email(data.email)
    if data.card_number is not None and not rules.is_valid_card_number(data.card_number):
        raise InvalidCardNumber(
            f"card number {data.card_number!r} fails its check digit", field="card_number"
        )
    return data.model_copy(update=changes)


def enroll_members(
    session: Session,
    *,
    members: Sequence[MemberCreate],
    now: datetime,
    source: str,
    region: str,
    rng: Random | None = None,
) -> list[Outcome]:
    """Enrol many members at once; one outcome per input, in order.

    A member already present with identical data is reported as not created, so running
    the same import twice changes nothing. A phone that belongs to someone else is a
    duplicate and is reported, never merged.
    """
    outcomes: list[Outcome | None] = [None] * len(members)
    prepared: dict[int, MemberCreate] = {}
    for index, data in enumerate(members):
        try:
            prepared[index] = _normalised(data, region)
        except RegularsError as error:
            outcomes[index] = error

    phones = {m.phone for m in prepared.values() if m.phone}
    cards = {m.card_number for m in prepared.values() if m.card_number}
    store_codes = {m.join_store_code for m in prepared.values() if m.join_store_code}
    referral_codes = {m.referred_by_code for m in prepared.values() if m.referred_by_code}
    by_phone = _existing(session, Member.phone, phones)
    by_card = _existing(session, Member.card_number, cards)
    referrers = _existing(session, Member.referral_code, referral_codes)
    stores = stores_by_code(session, store_codes)

    rows: list[dict[str, object]] = []
    row_index: list[int] = []
    taken_phones: dict[str, int] = {}
    for index, data in prepared.items():
        try:
            existing = by_card.get(data.card_number or "") or by_phone.get(data.phone or "")
            if existing is not None:
                outcomes[index] = _already_there(existing, data)
                continue
            if data.phone and data.phone in taken_phones:
                raise DuplicatePhone(
                    f"phone {data.phone} appears twice in this batch", field="phone"
                )
            rows.append(_member_row(data, now, stores, referrers, rng))
            row_index.append(index)
            if data.phone:
                taken_phones[data.phone] = index
        except RegularsError as error:
            outcomes[index] = error

    if rows:
        try:
            with session.begin_nested():
                session.execute(bulk_insert(Member), rows)
                new_cards = [str(row["card_number"]) for row in rows]
                query = select(Member.card_number, Member.id)
                id_of = dict(session.execute(query.where(Member.card_number.in_(new_cards))).all())
                ids = [id_of[card] for card in new_cards]
        except IntegrityError as exc:
            raise DuplicatePhone(
                "a member with this phone or card was enrolled at the same moment; try again"
            ) from exc
        consent_rows = []
        for member_id, index in zip(ids, row_index, strict=True):
            outcomes[index] = Recorded(member_id, created=True)
            data = prepared[index]
            recorded_at = data.joined_at or now
            consent_rows += [
                {
                    "member_id": member_id,
                    "channel": channel,
                    "granted": granted,
                    "recorded_at": recorded_at,
                    "source": source,
                }
                for channel, granted in data.consents.items()
            ]
        if consent_rows:
            session.execute(bulk_insert(ConsentRecord), consent_rows)
    return [outcome for outcome in outcomes if outcome is not None]


def _existing(session: Session, column: object, values: set[str]) -> dict[str, Member]:
    if not values:
        return {}
    found = session.scalars(select(Member).where(column.in_(values)))  # type: ignore[attr-defined]
    return {getattr(member, column.key): member for member in found}  # type: ignore[attr-defined]


def _already_there(existing: Member, data: MemberCreate) -> Outcome:
    if data.card_number and data.card_number != existing.card_number:
        return DuplicatePhone(
            f"phone {data.phone} already belongs to card {existing.card_number}", field="phone"
        )
    differing = [
        name
        for name in _COMPARED_FIELDS
        if getattr(data, name) is not None and getattr(data, name) != getattr(existing, name)
    ]
    if differing:
        return MemberDiffers(
            f"card {existing.card_number} is already enrolled with a different "
            f"{', '.join(differing)}; an import never overwrites a member",
            field=differing[0],
        )
    return Recorded(existing.id, created=False)


def _member_row(
    data: MemberCreate,
    now: datetime,
    stores: dict[str, Store],
    referrers: dict[str, Member],
    rng: Random | None,
) -> dict[str, object]:
    store_id = None
    if data.join_store_code:
        if data.join_store_code not in stores:
            raise StoreNotFound(f"unknown store {data.join_store_code!r}", field="join_store_code")
        store_id = stores[data.join_store_code].id
    referrer_id = None
    if data.referred_by_code:
        if data.referred_by_code not in referrers:
            raise UnknownReferralCode(
                f"no member has referral code {data.referred_by_code!r}", field="referred_by_code"
            )
        referrer_id = referrers[data.referred_by_code].id
    return {
        "card_number": data.card_number or rules.new_card_number(rng),
        "phone": data.phone,
        "email": data.email,
        "name": data.name,
        "gender": data.gender,
        "birth_date": data.birth_date,
        "joined_at": data.joined_at or now,
        "join_store_id": store_id,
        "status": MemberStatus.ACTIVE,
        "referral_code": rules.new_referral_code(rng),
        "referred_by_id": referrer_id,
    }


def enroll_member(
    session: Session, *, data: MemberCreate, now: datetime, source: str, region: str
) -> Member:
    """Enrol one member; a phone already in use is a `duplicate_phone` conflict."""
    [outcome] = enroll_members(session, members=[data], now=now, source=source, region=region)
    already_there = isinstance(outcome, Recorded) and not outcome.created
    if already_there or isinstance(outcome, MemberDiffers):
        raise DuplicatePhone("this phone already belongs to a member", field="phone")
    if isinstance(outcome, RegularsError):
        raise outcome
    return get_member(session, member_id=outcome.id)


def get_member(session: Session, *, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise MemberNotFound(f"no member with id {member_id}")
    return member


def find_member(
    session: Session,
    *,
    region: str,
    card_number: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> Member:
    """Find a member by exactly one of card number, phone or e-mail."""
    given = [v for v in (card_number, phone, email) if v is not None]
    if len(given) != 1:
        raise InvalidInput("give exactly one of card_number, phone or email")
    if card_number is not None:
        query = select(Member).where(Member.card_number == card_number)
    elif phone is not None:
        query = select(Member).where(Member.phone == rules.normalise_phone(phone, region))
    else:
        query = select(Member).where(Member.email == rules.normalise_email(email or ""))
    member = session.scalars(query.order_by(Member.id)).first()
    if member is None:
        raise MemberNotFound("no member matches")
    return member


def update_member(
    session: Session, *, member_id: int, changes: MemberUpdate, region: str
) -> Member:
    member = get_member(session, member_id=member_id)
    values = changes.model_dump(exclude_unset=True)
    if values.get("phone") is not None:
        values["phone"] = rules.normalise_phone(values["phone"], region)
        holder = session.scalars(select(Member).where(Member.phone == values["phone"])).first()
        if holder is not None and holder.id != member_id:
            raise DuplicatePhone("phone already belongs to another member", field="phone")
    if values.get("email") is not None:
        values["email"] = rules.normalise_email(values["email"])
    for name, value in values.items():
        setattr(member, name, value)
    session.flush()
    return member


def record_consent(
    session: Session,
    *,
    member_id: int,
    channel: ConsentChannel,
    granted: bool,
    source: str,
    now: datetime,
) -> ConsentRecord:
    """Append a consent change; earlier records stay as the history."""
    get_member(session, member_id=member_id)
    record = ConsentRecord(
        member_id=member_id, channel=channel, granted=granted, recorded_at=now, source=source
    )
    session.add(record)
    session.flush()
    return record


def consent_history(session: Session, *, member_id: int) -> list[ConsentRecord]:
    get_member(session, member_id=member_id)
    query = select(ConsentRecord).where(ConsentRecord.member_id == member_id)
    return list(session.scalars(query.order_by(ConsentRecord.id)))


def current_consents(session: Session, *, member_id: int) -> dict[ConsentChannel, bool]:
    """Consent in force per channel; a channel never asked about counts as refused."""
    state = dict.fromkeys(ConsentChannel, False)
    for record in consent_history(session, member_id=member_id):
        state[record.channel] = record.granted
    return state
