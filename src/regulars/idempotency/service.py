"""Use cases of idempotency keys, in the manner of payment APIs.

Same key and same request: the stored first answer. Same key, other request: refused.
A key is kept for a window (24 hours by default), then it may be used afresh.

The claim and the answer are written in the transaction of the request itself, so a
committed claim always holds its answer; a claim without one can only be left by an
earlier version that claimed in a transaction of its own, and is taken over.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Insert, bindparam, select, update
from sqlalchemy.orm import Session

from regulars.db import conflict_insert, table
from regulars.errors import InvalidInput
from regulars.idempotency.models import IdempotencyRecord
from regulars.members.protection import keyring


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


@dataclass(frozen=True)
class Claim:
    caller: str  # a hash of the credentials: one caller's keys never meet another's
    key: str
    request_hash: str


_RECORD = table(IdempotencyRecord).c


def _claiming(dialect: str) -> Insert:
    """One statement claims a new key, or one whose window has passed."""
    insert = conflict_insert(dialect, IdempotencyRecord).values(
        caller=bindparam("caller"),
        key=bindparam("key"),
        request_hash=bindparam("request_hash"),
        created_at=bindparam("now"),
    )
    return insert.on_conflict_do_update(
        index_elements=["caller", "key"],
        set_={
            "request_hash": insert.excluded.request_hash,
            "created_at": insert.excluded.created_at,
            "status": None,
            "body": None,
        },
        where=_RECORD.created_at <= bindparam("expired_before"),
    ).returning(_RECORD.key)


_CLAIM = {dialect: _claiming(dialect) for dialect in ("postgresql", "sqlite")}  # built once
_KEY = (_RECORD.caller == bindparam("who"), _RECORD.key == bindparam("which"))
_ANSWERED = select(_RECORD.request_hash, _RECORD.status, _RECORD.body).where(*_KEY)
_SETTLE = (
    update(table(IdempotencyRecord))
    .where(*_KEY)
    .values(status=bindparam("answer_status"), body=bindparam("answer_body"))
)


def claim(session: Session, claimed: Claim, *, now: datetime, window: timedelta) -> Answer | None:
    """Claim a key for a new request (None), or return the answer already given under it.

    A twin request sent at the same moment waits on the row until the first commits, and
    then gets its answer.
    """
    inserted = session.execute(
        _CLAIM[session.get_bind().dialect.name],
        {
            "caller": claimed.caller,
            "key": claimed.key,
            "request_hash": claimed.request_hash,
            "now": now,
            "expired_before": now - window,
        },
    ).first()
    if inserted is not None:
        return None
    request_hash, status, body = session.execute(
        _ANSWERED, {"who": claimed.caller, "which": claimed.key}
    ).one()
    if request_hash != claimed.request_hash:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request", field="Idempotency-Key"
        )
    if status is None:
        return None  # abandoned, never answered: the request runs now
    return Answer(status, keyring().open(body) if body else "")


def settle(session: Session, claimed: Claim, answer: Answer) -> None:
    """Keep the answer under the key, in the request's own transaction."""
    # Answers may hold personal data: sealed like the member table, gone after the window.
    values = {"who": claimed.caller, "which": claimed.key, "answer_status": answer.status}
    session.execute(_SETTLE, {**values, "answer_body": keyring().seal(answer.body)})
