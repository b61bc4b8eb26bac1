"""Saved audiences."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class Audience(Base):
    __tablename__ = "audience"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    definition: Mapped[str] = mapped_column(Text, doc="the condition as JSON (criteria.py)")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
