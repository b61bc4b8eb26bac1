"""Staff accounts and their console sessions; only hashes of passwords and session tokens."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, TextEnum, UTCDateTime


class StaffRole(StrEnum):
    ADMIN = "admin"
    SUPPORT = "support"  # service agents at the desk and on the hotline
    ANALYST = "analyst"
    MARKETING = "marketing"  # audiences and campaigns
    STORE_MANAGER = "store_manager"  # one store's figures beside the chain's


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[StaffRole] = mapped_column(TextEnum(StaffRole))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    language: Mapped[str] = mapped_column(String(8))  # zh-CN or en
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffSession(Base):
    __tablename__ = "staff_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # at the latest
