"""API and import shapes of the shop's master data."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from regulars.catalog.models import CategoryLevel, Channel
from regulars.money import Price


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, examples=["SH001"])
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=100)
    channel: Channel = Channel.STORE
    timezone: str = "Asia/Shanghai"


class Store(StoreCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int


class StoreUpdate(BaseModel):
    """What may change about a store; its code and zone stay, as its sales were dated in it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    region: str | None = Field(default=None, min_length=1, max_length=100)


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    level: CategoryLevel
    parent_code: str | None = None
    excluded_from_rewards: bool = False


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    brand: str = Field(min_length=1, max_length=100)
    category_code: str
    regular_price: Price
    excluded_from_points: bool | None = Field(
        default=None, description="Defaults to the category's exclusion."
    )
    excluded_from_promotions: bool | None = None
    private_label: bool = False
    premium: bool = False
    fresh: bool = False


class Category(CategoryCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    parent_code: str | None = None


class ProductUpdate(BaseModel):
    """What may change about a product. A new price counts from the next sale; receipts keep
    the prices they were rung up at."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    brand: str | None = Field(default=None, min_length=1, max_length=100)
    regular_price: Price | None = None
    excluded_from_points: bool | None = None
    excluded_from_promotions: bool | None = None
    private_label: bool | None = None
    premium: bool | None = None
    fresh: bool | None = None


class Product(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    brand: str
    category_id: int
    regular_price: Decimal
    excluded_from_points: bool
    excluded_from_promotions: bool
    private_label: bool
    premium: bool
    fresh: bool
