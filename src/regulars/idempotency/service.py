"""Use cases of idempotency keys, in the manner of payment APIs.

Same key and same request: the stored first answer. Same key, other request: refused.
A key is kept for a window (24 hours by default), then it may be used afresh.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from regulars.db import run_in_transaction
from regulars.errors import Conflict, InvalidInput
from regulars.idempotency.models import IdempotencyRecord
from regulars.members.protection import keyring


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class RequestInProgress(Conflict):
    code = "request_in_progress"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def claim(
    sessions: sessionmaker[Session],
    *,
    caller: str,
    key: str,
    request_hash: str,
    now: datetime,
    window: timedelta,
) -> Answer | None:
    """Claim a key for a new request (None), or return the answer already given under it."""

    def look(session: Session) -> Answer | None:
        record = session.get(IdempotencyRecord, (caller, key))
        if record is not None and record.created_at <= now - window:
            session.delete(record)
            session.flush()
            record = None
        if record is None:
            session.add(
                IdempotencyRecord(
                    caller=caller,
                    key=key,
                    request_hash=request_hash,
                    status=None,
                    body=None,
                    created_at=now,
                )
            )
            session.flush()
            return None
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request", field="Idempotency-Key"
            )
        if record.status is None:
            raise RequestInProgress("the first request with this Idempotency-Key is still running")
        return Answer(record.status, keyring().open(record.body) if record.body else "")

    try:
        return run_in_transaction(sessions, look)
    except IntegrityError as exc:  # claimed by a twin request a moment ago
        raise RequestInProgress(
            "the first request with this Idempotency-Key is still running"
        ) from exc


def settle(
    sessions: sessionmaker[Session], *, caller: str, key: str, answer: Answer | None
) -> None:
    """Store the answer; with None (a server error) release the key so the client may retry."""

    def store(session: Session) -> None:
        record = session.get(IdempotencyRecord, (caller, key))
        if record is None:
            return
        if answer is None:
            session.delete(record)
        else:
            # Answers may hold personal data: sealed like the member table, gone after the window.
            record.status, record.body = answer.status, keyring().seal(answer.body)

    run_in_transaction(sessions, store)
