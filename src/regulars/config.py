"""Settings from `REGULARS_*` environment variables."""

import secrets
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from regulars.sales.rules import Limits


class Settings(BaseSettings):
    """Everything an installation may change without touching code."""

    model_config = SettingsConfigDict(env_prefix="REGULARS_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/regulars.db"
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    phone_region: str = "CN"
    secret_key_file: Path = Path("var/secret.key")
    data_keys_file: Path = Path("var/data-keys.json")  # personal data encryption keys
    warehouse_dir: Path = Path("var/warehouse")  # Parquet copy for the analyses
    # A receipt dated later than now + this many minutes is refused: a till clock
    # that is off by a few minutes is normal, one that is off by days is a bug.
    future_tolerance_minutes: int = 15
    # Larger lines and receipts are refused as implausible (see sales.rules.Limits).
    max_line_quantity: Decimal = Decimal(1000)
    max_line_amount: Decimal = Decimal(50_000)
    max_receipt_amount: Decimal = Decimal(200_000)
    member_token_minutes: int = 15
    idempotency_hours: int = 24
    rate_limit_per_minute: int = 6000  # per key; a busy till sends a few sales a minute
    failed_auth_per_minute: int = 20  # per client address, then 429
    max_concurrent_requests: int = 16  # per server process, one connection each; the rest queue
    # A request that cannot get the database within this many seconds is answered 503.
    database_wait_seconds: float = 5
    schedule_file: Path | None = None  # TOML changing the jobs' default schedule
    log_format: Literal["text", "json"] = "text"  # json: one line per request on stderr
    # Campaign messages: at most this many marketing messages a member a week, all channels.
    marketing_per_week: int = 2
    # The chain's gross margin on a sale: what a campaign's extra sales earn, before its cost.
    gross_margin: Decimal = Decimal("0.20")
    public_url: str = "http://127.0.0.1:8000"  # where members reach this server (unsubscribe)
    outbox_dir: Path = Path("var/outbox")  # channels without a provider write files here
    smtp_host: str | None = None  # e-mail through this server, when set
    smtp_port: int = 25
    smtp_sender: str = "loyalty@localhost"
    gateway_url: str | None = None  # SMS, app push and WeChat through the chain's gateway
    gateway_secret: str | None = None  # shared with the gateway, signs each request
    # The service desk's mailbox: told of every service-level warning and breach of a case.
    escalation_email: str | None = None

    @property
    def receipt_limits(self) -> Limits:
        return Limits(
            future=timedelta(minutes=self.future_tolerance_minutes),
            line_quantity=self.max_line_quantity,
            line_amount=self.max_line_amount,
            receipt_amount=self.max_receipt_amount,
        )

    @property
    def idempotency_window(self) -> timedelta:
        return timedelta(hours=self.idempotency_hours)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be a three-letter ISO 4217 code")
        return value.upper()

    @model_validator(mode="after")
    def _secret_outside_development(self) -> "Settings":
        if self.environment == "production" and not self.secret_key_file.exists():
            raise ValueError(
                f"REGULARS_SECRET_KEY_FILE {self.secret_key_file} does not exist; "
                "production needs its own secret"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def secret_key(settings: Settings) -> bytes:
    """The signing secret; outside production a missing one is made on first use."""
    path = settings.secret_key_file
    if not path.exists():
        if settings.environment == "production":
            raise FileNotFoundError(f"{path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()
