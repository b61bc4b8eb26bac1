"""What the till was told for each committed sale, so a retry gets the very same answer."""

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base


class CommittedSale(Base):
    __tablename__ = "committed_sale"

    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id"), primary_key=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text, doc="the SaleResult as JSON")
