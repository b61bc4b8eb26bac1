"""Staff accounts: hashed passwords, sessions that end, disabled accounts that cannot log in."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.errors import Conflict, InvalidInput
from regulars.staff.models import StaffRole, StaffSession, StaffUser
from regulars.staff.service import (
    IDLE,
    LONGEST,
    LoginRefused,
    create_user,
    disable_user,
    log_in,
    log_out,
    session_user,
)
from tests.factories import NOW, make_store

PASSWORD = "correct horse battery"


def _agent(session: Session, **changes: object) -> StaffUser:
    fields: dict[str, object] = {
        "username": "Li.Na",
        "display_name": "李娜",
        "role": StaffRole.SUPPORT,
        "password": PASSWORD,
        "now": NOW,
    }
    return create_user(session, **{**fields, **changes})  # type: ignore[arg-type]


def test_a_password_is_kept_only_as_an_argon2_hash_and_logs_in(session: Session) -> None:
    user = _agent(session)
    assert user.username == "li.na"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    token = log_in(session, username="LI.NA ", password=PASSWORD, now=NOW)
    assert session_user(session, token=token, now=NOW + timedelta(minutes=5)) == user
    stored = session.scalars(select(StaffSession.token_hash)).all()
    assert token not in stored  # only its hash


@pytest.mark.parametrize(
    ("username", "password"), [("li.na", "wrong password"), ("nobody", PASSWORD)]
)
def test_a_wrong_name_or_password_is_refused_alike(
    session: Session, username: str, password: str
) -> None:
    _agent(session)
    with pytest.raises(LoginRefused) as refused:
        log_in(session, username=username, password=password, now=NOW)
    assert refused.value.message == "wrong username or password, or the account is disabled"


def test_a_session_ends_when_idle_at_the_latest_or_at_logout(session: Session) -> None:
    _agent(session)
    token = log_in(session, username="li.na", password=PASSWORD, now=NOW)
    assert session_user(session, token=token, now=NOW + IDLE) is None  # idle too long
    busy = log_in(session, username="li.na", password=PASSWORD, now=NOW)
    moment = NOW
    while moment + IDLE / 2 < NOW + LONGEST:  # kept alive by requests
        moment += IDLE / 2
        assert session_user(session, token=busy, now=moment) is not None
    assert session_user(session, token=busy, now=NOW + LONGEST) is None  # the day is over
    last = log_in(session, username="li.na", password=PASSWORD, now=NOW)
    log_out(session, token=last)
    assert session_user(session, token=last, now=NOW) is None


def test_a_disabled_account_loses_its_sessions_and_cannot_log_in(session: Session) -> None:
    _agent(session)
    token = log_in(session, username="li.na", password=PASSWORD, now=NOW)
    disable_user(session, username="li.na", now=NOW)
    assert session_user(session, token=token, now=NOW) is None
    with pytest.raises(LoginRefused):
        log_in(session, username="li.na", password=PASSWORD, now=NOW)


def test_accounts_are_checked_when_created(session: Session) -> None:
    make_store(session, "S001")
    _agent(session)
    with pytest.raises(Conflict):
        _agent(session, username="li.na")
    with pytest.raises(InvalidInput) as short:
        _agent(session, username="wang", password="short")
    assert short.value.field == "password"
    with pytest.raises(InvalidInput) as storeless:
        _agent(session, username="wang", role=StaffRole.STORE_MANAGER)
    assert storeless.value.field == "store"
    manager = _agent(session, username="wang", role=StaffRole.STORE_MANAGER, store_code="S001")
    assert manager.store_id is not None
    with pytest.raises(InvalidInput) as language:
        _agent(session, username="zhao", language="fr")
    assert language.value.field == "language"
