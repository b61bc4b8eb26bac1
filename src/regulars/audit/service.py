"""Use cases of the audit log: append, read the latest."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.audit.models import AuditEntry
from regulars.db import bulk_insert

_APPEND = bulk_insert(AuditEntry)  # built once


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    object: str,
    status: int,
    request_id: str,
) -> None:
    session.execute(
        _APPEND,
        {
            "at": at,
            "actor": actor,
            "role": role,
            "action": action,
            "object": object,
            "status": status,
            "request_id": request_id,
        },
    )


def latest(session: Session, *, limit: int = 50) -> list[AuditEntry]:
    """The newest entries, oldest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return list(reversed(list(session.scalars(query))))
