"""Use cases of staff accounts: create, log in, recognise a session, log out, disable.

Passwords are hashed with argon2id; a session is a random token the browser keeps in a
cookie, of which only a hash is stored. A session ends after `IDLE` without a request, or
`LONGEST` after login at the latest, or at logout; disabling a user ends all theirs.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from regulars.catalog.models import Store
from regulars.catalog.service import StoreNotFound, stores_by_code
from regulars.errors import Conflict, InvalidInput, NotFound, RegularsError
from regulars.i18n import LANGUAGES
from regulars.staff.models import StaffRole, StaffSession, StaffUser

IDLE = timedelta(hours=2)
LONGEST = timedelta(hours=12)  # a working day, then log in again
SHORTEST_PASSWORD = 10
_hasher = PasswordHasher()
# Checked against when the username is unknown, so a wrong name takes as long as a wrong
# password and does not tell which names exist.
_NOBODY = _hasher.hash(secrets.token_urlsafe(16))


class LoginRefused(RegularsError):
    code = "login_refused"
    status = 401


class UserNotFound(NotFound):
    code = "user_not_found"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: StaffRole,
    password: str,
    now: datetime,
    store_code: str | None = None,
    language: str = "zh-CN",
) -> StaffUser:
    """A new staff account; a store manager belongs to one store."""
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise InvalidInput("a username has 1 to 64 characters", field="username")
    if len(password) < SHORTEST_PASSWORD:
        raise InvalidInput(
            f"a password needs at least {SHORTEST_PASSWORD} characters", field="password"
        )
    if language not in LANGUAGES:
        raise InvalidInput(f"the language is one of {', '.join(LANGUAGES)}", field="language")
    if (role is StaffRole.STORE_MANAGER) != (store_code is not None):
        raise InvalidInput("a store manager, and only a store manager, has a store", field="store")
    store_id = None
    if store_code is not None:
        store = stores_by_code(session, [store_code]).get(store_code)
        if store is None:
            raise StoreNotFound(f"unknown store {store_code!r}", field="store")
        store_id = store.id
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Conflict(f"the username {username!r} is taken", field="username")
    user = StaffUser(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        store_id=store_id,
        language=language,
        password_hash=_hasher.hash(password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def log_in(session: Session, *, username: str, password: str, now: datetime) -> str:
    """A new session's token for the right password of an active account."""
    user = session.scalars(
        select(StaffUser).where(StaffUser.username == username.strip().lower())
    ).first()
    try:
        _hasher.verify(user.password_hash if user else _NOBODY, password)
    except VerificationError:
        user = None
    if user is None or user.disabled_at is not None:
        raise LoginRefused("wrong username or password, or the account is disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + LONGEST,
        )
    )
    session.flush()
    return token


def session_user(session: Session, *, token: str, now: datetime) -> StaffUser | None:
    """The user a session token belongs to, if the session is still open; it is kept alive."""
    found = session.get(StaffSession, _digest(token))
    if found is None or now >= found.expires_at or now - found.last_seen_at >= IDLE:
        return None
    user = session.get(StaffUser, found.user_id)
    if user is None or user.disabled_at is not None:
        return None
    found.last_seen_at = now
    return user


def log_out(session: Session, *, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def disable_user(session: Session, *, username: str, now: datetime) -> StaffUser:
    """Close an account: it can no longer log in, and its open sessions end."""
    user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        raise UserNotFound(f"no user {username!r}", field="username")
    user.disabled_at = user.disabled_at or now
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.flush()
    return user


def list_users(session: Session) -> list[tuple[StaffUser, str | None]]:
    """Every account with its store's code (store managers), disabled ones included."""
    query = select(StaffUser, Store.code).outerjoin(Store, Store.id == StaffUser.store_id)
    return [(user, code) for user, code in session.execute(query.order_by(StaffUser.id))]


def set_language(session: Session, *, user: StaffUser, tag: str) -> None:
    """The language the console speaks to this user from now on."""
    if tag not in LANGUAGES:
        raise InvalidInput(f"the language is one of {', '.join(LANGUAGES)}", field="language")
    user.language = tag


# The most points one adjustment may move, either way, by role (a console account's or an
# API key's: the names are the same); larger ones need an admin.
ADJUSTMENT_CAP: dict[str, int] = {StaffRole.SUPPORT: 500, StaffRole.ADMIN: 100_000}


def check_adjustment(user: StaffUser, points: int) -> None:
    """Refuse an adjustment beyond what the user's role may grant or take."""
    cap = ADJUSTMENT_CAP.get(user.role, 0)
    if abs(points) > cap:
        raise InvalidInput(f"your role may adjust at most {cap} points at a time", field="points")
