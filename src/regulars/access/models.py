"""Table of API keys; only a hash of each key is kept."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, TextEnum, UTCDateTime


class Role(StrEnum):
    ADMIN = "admin"
    POS = "pos"
    SUPPORT = "support"
    ANALYST = "analyst"
    MARKETING = "marketing"  # audiences and campaigns; counts, never contact details
    APP = "app"  # the member app's back end: issues member tokens, reads the program
    MEMBER = "member"  # a member's own token, never a key


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(TextEnum(Role))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
