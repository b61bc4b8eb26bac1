"""Table of idempotency keys and the first answer given under each."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"

    caller: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of the credentials
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(doc="None while the first request is running")
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
