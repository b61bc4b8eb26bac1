"""Append-only table of the audit log."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(100))  # e.g. "POST /v1/members/{member_id}/erase"
    object: Mapped[str] = mapped_column(String(200))  # e.g. "member_id=42"
    status: Mapped[int]
    request_id: Mapped[str] = mapped_column(String(64))
