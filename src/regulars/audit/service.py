"""Use cases of the audit log: append; find entries by actor, action, member and time."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
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


@dataclass(frozen=True)
class AuditFilter:
    """Which entries; each given criterion must hold."""

    actor: str | None = None
    action: str | None = None  # a part of the action, e.g. "erase" or "POST /v1/receipts"
    member_id: int | None = None  # entries whose object names this member
    since: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor is not None:
            found.append(AuditEntry.actor == self.actor)
        if self.action is not None:
            found.append(AuditEntry.action.contains(self.action, autoescape=True))
        if self.member_id is not None:
            named = f"member_id={self.member_id}"  # objects read "member_id=7,receipt_id=12"
            found.append(
                or_(
                    AuditEntry.object == named,
                    AuditEntry.object.startswith(f"{named},", autoescape=True),
                    AuditEntry.object.endswith(f",{named}", autoescape=True),
                    AuditEntry.object.contains(f",{named},", autoescape=True),
                )
            )
        if self.since is not None:
            found.append(AuditEntry.at >= self.since)
        return found


def page(
    session: Session, found: AuditFilter, *, after_id: int = 0, limit: int = 50
) -> list[AuditEntry]:
    """Entries after the one with id `after_id`, oldest first: for paging through."""
    query = select(AuditEntry).where(AuditEntry.id > after_id, *found.conditions())
    return list(session.scalars(query.order_by(AuditEntry.id).limit(limit)))


def latest(
    session: Session, found: AuditFilter | None = None, *, limit: int = 50
) -> list[AuditEntry]:
    """The newest entries, shown oldest first."""
    conditions = (found or AuditFilter()).conditions()
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc()).limit(limit)
    return list(reversed(list(session.scalars(query))))
