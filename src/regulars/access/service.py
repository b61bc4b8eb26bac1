"""Use cases of access: create, check and revoke keys; sign and check member tokens."""

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.access.models import ApiKey, Role
from regulars.catalog.models import Store
from regulars.catalog.service import StoreNotFound, stores_by_code
from regulars.errors import InvalidInput, NotFound, RegularsError
from regulars.members.models import Member, MemberStatus
from regulars.members.service import get_member
from regulars.stamps.service import copy_of, renew

KEY_PREFIX = "rgl_"
KEYS = "api keys"  # the stamp creating or revoking a key renews


class NotAuthenticated(RegularsError):
    code = "not_authenticated"
    status = 401


class Forbidden(RegularsError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's role (and store for tills), or a member with their own token."""

    role: Role
    name: str
    key_id: int | None = None
    store_id: int | None = None
    member_id: int | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session, *, role: Role, name: str, now: datetime, store_code: str | None = None
) -> tuple[ApiKey, str]:
    """A new key; the returned text is shown once and never stored."""
    if role is Role.MEMBER:
        raise InvalidInput("members get tokens, not keys", field="role")
    store_id = None
    if role is Role.POS:
        if not store_code:
            raise InvalidInput("a pos key is bound to one store: give --store", field="store")
        store = stores_by_code(session, [store_code]).get(store_code)
        if store is None:
            raise StoreNotFound(f"unknown store {store_code!r}", field="store")
        store_id = store.id
    prefix = secrets.token_hex(6)
    text = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        prefix=prefix,
        key_hash=_digest(text),
        name=name,
        role=role,
        store_id=store_id,
        created_at=now,
    )
    session.add(key)
    session.flush()
    renew(session, KEYS)
    return key, text


@dataclass(frozen=True)
class _Usable:
    """A key that may call, as the process keeps it between requests."""

    key_hash: str
    principal: Principal


def _usable_keys(session: Session) -> dict[str, _Usable]:
    """Every key not revoked, by prefix: read once per process and change of keys."""

    def read(session: Session) -> dict[str, _Usable]:
        query = select(ApiKey).where(ApiKey.revoked_at.is_(None))
        return {
            key.prefix: _Usable(
                key.key_hash,
                Principal(role=key.role, name=key.name, key_id=key.id, store_id=key.store_id),
            )
            for key in session.scalars(query)
        }

    return copy_of(session, KEYS, read)


def authenticate_key(session: Session, text: str) -> Principal:
    parts = text.split("_")
    if len(parts) < 3 or not text.startswith(KEY_PREFIX):
        raise NotAuthenticated("malformed key")
    key = _usable_keys(session).get(parts[1])
    if key is None or not hmac.compare_digest(key.key_hash, _digest(text)):
        raise NotAuthenticated("unknown or revoked key")
    return key.principal


def list_keys(session: Session) -> list[tuple[ApiKey, str | None]]:
    """Every key with the code of its store (tills), revoked ones included."""
    query = select(ApiKey, Store.code).outerjoin(Store, Store.id == ApiKey.store_id)
    return [(key, code) for key, code in session.execute(query.order_by(ApiKey.id))]


def revoke_key(session: Session, *, key_id: int, now: datetime) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no key {key_id}", code="key_not_found")
    key.revoked_at = key.revoked_at or now
    session.flush()
    renew(session, KEYS)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_member_token(
    session: Session, *, member_id: int, secret: bytes, now: datetime, lifetime: timedelta
) -> tuple[str, datetime]:
    """A signed token that lets one member act on their own account until it expires."""
    get_member(session, member_id=member_id)
    expires = now + lifetime
    body = _b64(json.dumps({"m": member_id, "exp": int(expires.timestamp())}).encode())
    signature = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"mt.{body}.{signature}", expires


def authenticate_member_token(text: str, *, secret: bytes, now: datetime) -> Principal:
    try:
        _, body, signature = text.split(".")
        expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            raise NotAuthenticated("token signature does not match")
        claims = json.loads(_unb64(body))
        member_id, expires = int(claims["m"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise NotAuthenticated("malformed member token") from exc
    if now.timestamp() >= expires:
        raise NotAuthenticated("member token expired")
    return Principal(role=Role.MEMBER, name=f"member {member_id}", member_id=member_id)


def authenticate(
    session: Session, header: str | None, *, secret: bytes, now: datetime
) -> Principal:
    """The caller behind an `Authorization: Bearer …` header; a closed account has no caller."""
    if not header or not header.startswith("Bearer "):
        raise NotAuthenticated("send Authorization: Bearer <key or member token>")
    text = header.removeprefix("Bearer ").strip()
    if not text.startswith("mt."):
        return authenticate_key(session, text)
    principal = authenticate_member_token(text, secret=secret, now=now)
    member = session.get(Member, principal.member_id)
    if member is None or member.status is not MemberStatus.ACTIVE:
        raise NotAuthenticated("this member's account is closed")
    return principal
