"""Copies of rarely changing data (catalogue, program) kept per process, checked by stamp.

Every transaction that changes such data renews its stamp with a fresh random value. A
unit of work reads all stamps once, in its own transaction, and uses the process's copy
made under the same stamp, or makes one. A rolled-back change leaves a stamp nobody will
ever read again, so a copy can never outlive the data it was made from.
"""

import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session, SessionTransaction

from regulars.db import conflict_insert, table
from regulars.stamps.models import Stamp

T = TypeVar("T")
_SEEN = "stamps"  # session.info key: the stamps this transaction sees
_copies: WeakKeyDictionary[Engine, dict[str, tuple[str, Any]]] = WeakKeyDictionary()
_lock = threading.Lock()
_STAMPS = select(table(Stamp).c.name, table(Stamp).c.value)  # built once


def _seen(session: Session) -> dict[str, str]:
    if _SEEN not in session.info:
        rows = session.execute(_STAMPS).all()
        session.info[_SEEN] = dict(rows)
    stamps: dict[str, str] = session.info[_SEEN]
    return stamps


def renew(session: Session, name: str) -> None:
    """Mark `name` changed by this transaction: every copy made before is set aside."""
    value = uuid.uuid4().hex
    upsert = conflict_insert(session.get_bind().dialect.name, Stamp).values(name=name, value=value)
    session.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"value": value}))
    _seen(session)[name] = value


def copy_of(session: Session, name: str, make: Callable[[Session], T]) -> T:
    """The process's copy of `name` under the stamp this transaction sees, made if missing."""
    stamp = _seen(session).get(name, "")
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _lock:
        copies = _copies.setdefault(engine, {})
        held = copies.get(name)
    if held is not None and held[0] == stamp:
        return held[1]
    made = make(session)
    with _lock:
        copies[name] = (stamp, made)
    return made


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    """The next transaction reads the stamps afresh."""
    if transaction.parent is None:
        session.info.pop(_SEEN, None)
