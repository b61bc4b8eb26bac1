"""Use cases of members: enrol, find, update, record consent."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from random import Random
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from regulars.batch import Outcome, Recorded
from regulars.catalog.models import Store
from regulars.catalog.service import StoreNotFound, stores_by_code
from regulars.clock import as_utc
from regulars.db import bulk_insert
from regulars.errors import Conflict, InvalidInput, NotFound, RegularsError
from regulars.members import rules
from regulars.members.models import ConsentChannel, ConsentRecord, Gender, Member, MemberStatus
from regulars.members.protection import blind_index
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


class MemberNotActive(Conflict):
    code = "member_not_active"


class DuplicateCard(Conflict):
    code = "duplicate_card"


class SelfReferral(InvalidInput):
    code = "self_referral"


_COMPARED_FIELDS = ("phone", "email", "name", "gender", "birth_date", "joined_at")


def _normalised(
    data: MemberCreate, region: str, zone: ZoneInfo, stores: dict[str, Store]
) -> MemberCreate:
    changes: dict[str, object] = {}
    if data.phone is not None:
        changes["phone"] = rules.normalise_phone(data.phone, region)
    if data.email is not None:
        changes["email"] = rules.normalise_email(data.email)
    if data.card_number is not None and not rules.is_valid_card_number(data.card_number):
        raise InvalidCardNumber(
            f"card number {data.card_number!r} fails its check digit", field="card_number"
        )
    if data.join_store_code and data.join_store_code not in stores:
        raise StoreNotFound(f"unknown store {data.join_store_code!r}", field="join_store_code")
    if data.joined_at is not None:
        store = stores.get(data.join_store_code or "")
        changes["joined_at"] = as_utc(data.joined_at, ZoneInfo(store.timezone) if store else zone)
    return data.model_copy(update=changes)


@dataclass
class _Known:
    """What the database already holds about the members of one batch."""

    by_card: dict[str, Member]
    by_phone: dict[str, Member]
    by_email: dict[str, Member]
    referrers: dict[str, Member]
    consents: dict[int, dict[ConsentChannel, bool]]

    def holder(self, data: MemberCreate) -> Member | None:
        """The member a record describes: by card, else phone, else (alone) e-mail."""
        if data.card_number or data.phone:
            return self.by_card.get(data.card_number or "") or self.by_phone.get(data.phone or "")
        return self.by_email.get(data.email or "")


def _lookup(session: Session, members: Iterable[MemberCreate]) -> _Known:
    members = list(members)
    by_card = _existing(
        session, Member.card_number, {m.card_number for m in members if m.card_number}
    )
    by_phone = _existing(
        session, Member.phone_index, {m.phone for m in members if m.phone}, kind="phone"
    )
    by_email = _existing(
        session,
        Member.email_index,
        {m.email for m in members if m.email and not m.card_number and not m.phone},
        kind="email",
    )
    referrers = _existing(
        session, Member.referral_code, {m.referred_by_code for m in members if m.referred_by_code}
    )
    found = {m.id for m in (*by_card.values(), *by_phone.values(), *by_email.values())}
    consents: dict[int, dict[ConsentChannel, bool]] = {}
    if found:
        query = select(ConsentRecord).where(ConsentRecord.member_id.in_(found))
        for record in session.scalars(query.order_by(ConsentRecord.id)):
            consents.setdefault(record.member_id, {})[record.channel] = record.granted
    return _Known(by_card, by_phone, by_email, referrers, consents)


def enroll_members(
    session: Session,
    *,
    members: Sequence[MemberCreate],
    now: datetime,
    source: str,
    region: str,
    zone: ZoneInfo,
    rng: Random | None = None,
) -> list[Outcome]:
    """Enrol many members at once; one outcome per input, in order.

    A member already present with identical data is reported as not created, so running
    the same import twice changes nothing; one present with other data is refused, never
    overwritten. A phone or card that belongs to someone else is a duplicate and is
    reported, never merged. Times without a zone are read in the join store's zone.
    """
    stores = stores_by_code(session, {m.join_store_code for m in members if m.join_store_code})
    outcomes: list[Outcome | None] = [None] * len(members)
    prepared: dict[int, MemberCreate] = {}
    for index, data in enumerate(members):
        try:
            prepared[index] = _normalised(data, region, zone, stores)
        except RegularsError as error:
            outcomes[index] = error
    known = _lookup(session, prepared.values())

    new: dict[int, MemberCreate] = {}
    claimed: dict[tuple[str, str], int] = {}  # ("phone" | "card", value) -> first index
    for index, data in prepared.items():
        existing = known.holder(data)
        if existing is not None:
            outcomes[index] = _already_there(existing, data, known.consents.get(existing.id, {}))
            continue
        keys = [("phone", data.phone), ("card", data.card_number)]
        repeated = [(kind, value) for kind, value in keys if value and (kind, value) in claimed]
        if repeated:
            kind, value = repeated[0]
            duplicate = DuplicatePhone if kind == "phone" else DuplicateCard
            outcomes[index] = duplicate(
                f"{kind} {value} appears twice in this batch",
                field="phone" if kind == "phone" else "card_number",
            )
            continue
        if data.referred_by_code:
            referrer = known.referrers.get(data.referred_by_code)
            if referrer is None:
                outcomes[index] = UnknownReferralCode(
                    f"no member has referral code {data.referred_by_code!r}",
                    field="referred_by_code",
                )
                continue
            if (data.email and data.email == referrer.email) or (
                data.phone and data.phone == referrer.phone
            ):
                outcomes[index] = SelfReferral(
                    "a member cannot refer themselves (same phone or e-mail)",
                    field="referred_by_code",
                )
                continue
        claimed.update({(kind, value): index for kind, value in keys if value})
        new[index] = data

    rows = _member_rows(session, new, now, stores, known.referrers, rng)
    for index, outcome in _insert_members(session, rows).items():
        outcomes[index] = outcome
        if isinstance(outcome, Recorded):
            _record_consents(session, outcome.id, new[index], now, source)
    return [outcome for outcome in outcomes if outcome is not None]


def _insert_members(session: Session, rows: dict[int, dict[str, object]]) -> dict[int, Outcome]:
    """Insert in one go; if someone else enrolled one of them meanwhile, one at a time."""
    if not rows:
        return {}
    try:
        with session.begin_nested():
            session.execute(bulk_insert(Member), list(rows.values()))
    except IntegrityError:
        if len(rows) == 1:
            [(index, row)] = rows.items()
            return {
                index: DuplicatePhone(
                    f"phone {row['phone']} or card {row['card_number']} was enrolled at the same "
                    "moment by someone else",
                    field="phone",
                )
            }
        outcomes: dict[int, Outcome] = {}
        for index, row in rows.items():
            outcomes.update(_insert_members(session, {index: row}))
        return outcomes
    cards = [str(row["card_number"]) for row in rows.values()]
    query = select(Member.card_number, Member.id).where(Member.card_number.in_(cards))
    id_of = dict(session.execute(query).all())
    return {
        index: Recorded(id_of[str(row["card_number"])], created=True) for index, row in rows.items()
    }


def _record_consents(
    session: Session, member_id: int, data: MemberCreate, now: datetime, source: str
) -> None:
    for channel, granted in data.consents.items():
        session.add(
            ConsentRecord(
                member_id=member_id,
                channel=channel,
                granted=granted,
                recorded_at=data.joined_at or now,
                source=source,
            )
        )


def _existing(
    session: Session, column: object, values: set[str], kind: str | None = None
) -> dict[str, Member]:
    """Members holding these values; with `kind`, `column` is that value's blind index."""
    if not values:
        return {}
    keyed = {(blind_index(kind, v) if kind else v): v for v in values}
    found = session.scalars(select(Member).where(column.in_(keyed)))  # type: ignore[attr-defined]
    return {keyed[getattr(member, column.key)]: member for member in found}  # type: ignore[attr-defined]


def _already_there(
    existing: Member, data: MemberCreate, consents: dict[ConsentChannel, bool]
) -> Outcome:
    if data.card_number and data.card_number != existing.card_number:
        return DuplicatePhone(
            f"phone {data.phone} already belongs to card {existing.card_number}", field="phone"
        )
    differing = [
        name
        for name in _COMPARED_FIELDS
        if getattr(data, name) is not None and getattr(data, name) != getattr(existing, name)
    ]
    if data.join_store_code is not None and (
        existing.join_store is None or existing.join_store.code != data.join_store_code
    ):
        differing.append("join_store_code")
    differing += [
        f"consents.{channel.value}"
        for channel, granted in data.consents.items()
        if consents.get(channel, False) != granted
    ]
    if differing:
        return MemberDiffers(
            f"card {existing.card_number} is already enrolled with a different "
            f"{', '.join(differing)}; an import never overwrites a member",
            field=differing[0],
        )
    return Recorded(existing.id, created=False)


def _member_rows(
    session: Session,
    new: dict[int, MemberCreate],
    now: datetime,
    stores: dict[str, Store],
    referrers: dict[str, Member],
    rng: Random | None,
) -> dict[int, dict[str, object]]:
    codes = _fresh_referral_codes(session, len(new), rng)
    return {
        index: {
            "card_number": data.card_number or rules.new_card_number(rng),
            "phone": data.phone,
            "phone_index": blind_index("phone", data.phone),
            "email": data.email,
            "email_index": blind_index("email", data.email),
            "name": data.name,
            "name_index": blind_index("name", rules.name_key(data.name)),
            "gender": data.gender,
            "birth_date": data.birth_date,
            "birth_month": data.birth_date.month if data.birth_date else None,
            "language": data.language,
            "joined_at": data.joined_at or now,
            "join_store_id": stores[data.join_store_code].id if data.join_store_code else None,
            "status": MemberStatus.ACTIVE,
            "referral_code": code,
            "referred_by_id": referrers[data.referred_by_code].id
            if data.referred_by_code
            else None,
        }
        for (index, data), code in zip(new.items(), codes, strict=True)
    }


def _fresh_referral_codes(session: Session, count: int, rng: Random | None) -> list[str]:
    """Codes no member holds yet: with a million members a random clash is likely."""
    codes: list[str] = []
    while len(codes) < count:
        wanted = {rules.new_referral_code(rng) for _ in range(count - len(codes))} - set(codes)
        taken = set(
            session.scalars(select(Member.referral_code).where(Member.referral_code.in_(wanted)))
        )
        codes += sorted(wanted - taken)
    return codes


def enroll_member(
    session: Session,
    *,
    data: MemberCreate,
    now: datetime,
    source: str,
    region: str,
    zone: ZoneInfo,
) -> Member:
    """Enrol one member; a phone already in use is a `duplicate_phone` conflict."""
    [outcome] = enroll_members(
        session, members=[data], now=now, source=source, region=region, zone=zone
    )
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


def erased_members(session: Session) -> set[int]:
    """The erased members: no profile, list or offer may be kept of them any more."""
    return set(session.scalars(select(Member.id).where(Member.status == MemberStatus.ERASED)))


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
        normalised = rules.normalise_phone(phone, region)
        query = select(Member).where(Member.phone_index == blind_index("phone", normalised))
    else:
        normalised = rules.normalise_email(email or "")
        query = select(Member).where(Member.email_index == blind_index("email", normalised))
    found = list(session.scalars(query.order_by(Member.id).limit(2)))
    if not found:
        raise MemberNotFound("no member matches")
    if len(found) > 1:
        raise Conflict(
            "several members share this e-mail; look them up by card or phone", field="email"
        )
    return found[0]


def search_members(session: Session, *, text: str, region: str, limit: int = 20) -> list[Member]:
    """The members a service agent means by what they typed: a card number, a phone, an
    e-mail, or a full name (names are not unique: all who bear it, up to `limit`)."""
    text = text.strip()
    if not text:
        return []
    try:
        if rules.is_valid_card_number(text):
            query = select(Member).where(Member.card_number == text)
        elif "@" in text:
            index = blind_index("email", rules.normalise_email(text))
            query = select(Member).where(Member.email_index == index)
        elif text.lstrip("+").replace(" ", "").replace("-", "").isdigit():
            index = blind_index("phone", rules.normalise_phone(text, region))
            query = select(Member).where(Member.phone_index == index)
        else:
            index = blind_index("name", rules.name_key(text))
            query = select(Member).where(Member.name_index == index)
    except InvalidInput:  # not a phone or e-mail anyone could have
        return []
    return list(session.scalars(query.order_by(Member.id).limit(limit)))


def update_member(
    session: Session, *, member_id: int, changes: MemberUpdate, region: str
) -> Member:
    member = get_member(session, member_id=member_id)
    if member.status is not MemberStatus.ACTIVE:
        raise MemberNotActive(f"member {member_id} is {member.status}; nothing can be changed")
    values = changes.model_dump(exclude_unset=True)
    if values.get("gender", Gender.UNSPECIFIED) is None:
        values["gender"] = Gender.UNSPECIFIED  # an explicit null means "not said"
    if values.get("phone") is not None:
        values["phone"] = rules.normalise_phone(values["phone"], region)
        same_phone = Member.phone_index == blind_index("phone", values["phone"])
        holder = session.scalars(select(Member).where(same_phone)).first()
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
