"""A stamp per kind of rarely changing data, renewed in every transaction that changes it."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base


class Stamp(Base):
    __tablename__ = "stamp"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(32))
