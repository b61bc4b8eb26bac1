"""Tables of members and their consent history."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from regulars.catalog.models import Store
from regulars.db import Base, TextEnum, UTCDateTime
from regulars.members.protection import Sealed, SealedDate, blind_index
from regulars.members.rules import name_key


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNSPECIFIED = "unspecified"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    ERASED = "erased"
    MERGED = "merged"  # a duplicate registration folded into `merged_into_id`


class ConsentChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    WECHAT = "wechat"


class Member(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_number: Mapped[str] = mapped_column(String(24), unique=True)
    # Personal data is sealed at rest; phone and e-mail are looked up by their blind index.
    phone: Mapped[str | None] = mapped_column(Sealed())
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(Sealed())
    email_index: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(Sealed())
    name_index: Mapped[str | None] = mapped_column(String(64), index=True)  # many share a name
    gender: Mapped[Gender] = mapped_column(TextEnum(Gender), default=Gender.UNSPECIFIED)
    birth_date: Mapped[date | None] = mapped_column(SealedDate())
    birth_month: Mapped[int | None] = mapped_column(doc="kept clear for birthday offers")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    join_store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    join_store: Mapped[Store | None] = relationship()
    status: Mapped[MemberStatus] = mapped_column(
        TextEnum(MemberStatus), default=MemberStatus.ACTIVE
    )
    referral_code: Mapped[str] = mapped_column(String(16), unique=True)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    language: Mapped[str | None] = mapped_column(
        String(8), doc="zh-CN or en, for messages; none: the chain's language"
    )

    @validates("phone", "email", "name", "birth_date")
    def _keep_indexes(self, key: str, value: object) -> object:
        """Changing a phone, e-mail, name or birth date keeps its index or month in step."""
        if key == "birth_date":
            self.birth_month = value.month if isinstance(value, date) else None
        elif key == "name":
            self.name_index = blind_index(
                "name", name_key(value if isinstance(value, str) else None)
            )
        else:
            setattr(
                self, f"{key}_index", blind_index(key, value if isinstance(value, str) else None)
            )
        return value


class ConsentRecord(Base):
    """One change of a member's marketing consent; the latest per channel is in force."""

    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_member_channel", "member_id", "channel", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    channel: Mapped[ConsentChannel] = mapped_column(TextEnum(ConsentChannel))
    granted: Mapped[bool]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(40))
