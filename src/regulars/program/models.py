"""Stored versions of the program definition; receipts remember the version that priced them."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, UTCDateTime


class ProgramVersion(Base):
    __tablename__ = "program_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # the version number, 1, 2, 3, …
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, doc="the validated program as JSON")
    source: Mapped[str] = mapped_column(Text, doc="the TOML text as applied")
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_by: Mapped[str] = mapped_column(String(100))
