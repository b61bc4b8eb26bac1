"""Tables of the shop's master data."""

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from regulars.db import Base, Money, TextEnum


class Channel(StrEnum):
    STORE = "store"
    ONLINE = "online"
    MINI_PROGRAM = "mini_program"


class CategoryLevel(StrEnum):
    DEPARTMENT = "department"
    CATEGORY = "category"
    SUBCATEGORY = "subcategory"


class Store(Base):
    __tablename__ = "store"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100))
    channel: Mapped[Channel] = mapped_column(TextEnum(Channel))
    timezone: Mapped[str] = mapped_column(String(64))


class Category(Base):
    """A node of the department > category > subcategory tree."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[CategoryLevel] = mapped_column(TextEnum(CategoryLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    # Categories whose goods may by law or by policy not be rewarded or discounted
    # (tobacco, infant formula): every product below inherits the exclusion.
    excluded_from_rewards: Mapped[bool] = mapped_column(default=False)


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    regular_price: Mapped[Decimal] = mapped_column(Money())
    excluded_from_points: Mapped[bool] = mapped_column(default=False)
    excluded_from_promotions: Mapped[bool] = mapped_column(default=False)
    private_label: Mapped[bool] = mapped_column(default=False)
    premium: Mapped[bool] = mapped_column(default=False)
    fresh: Mapped[bool] = mapped_column(default=False)
