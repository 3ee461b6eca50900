"""Settings from the environment and ``.env`` (pydantic-settings); names as in SPEC §5."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.zones import is_known_zone

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/repaybot.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_base_url: str = "https://api.telegram.org/bot"
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    support_contact: str = ""
    default_timezone: str = "Asia/Shanghai"
    default_language: Literal["zh", "en"] = "zh"
    webhook_url: str = ""
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Loopback unless told otherwise: the reverse proxy on the same host reaches it, the
    # internet does not (the container sets 0.0.0.0: its own network is the boundary).
    webhook_host: str = "127.0.0.1"
    webhook_secret: SecretStr | None = None
    http_port: int = Field(default=8080, ge=0, le=65535)
    http_host: str = "127.0.0.1"  # /metrics tells who uses the bot how much: not public
    # The public address of HTTP_PORT (a reverse proxy passing on /calendar/ only): the
    # base of the calendar subscription links; empty, and /calendar offers the file only.
    public_http_url: str = ""
    quote_ttl_seconds: int = Field(default=600, ge=30)
    conversation_timeout_seconds: int = Field(default=600, ge=1)
    autopay_time: time = time(10, 0)
    reminder_time: time = time(9, 0)
    sweep_seconds: float = Field(default=30, ge=0)
    send_lease_seconds: float = Field(default=120, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # How long a handler keeps trying after a passing database fault before apologising.
    db_retry_seconds: float = Field(default=10, ge=0, le=120)
    max_topup: Decimal = Decimal("50000.00")
    # The payment provider (docs/provider-api.md). Empty: `repaybot run` starts the sandbox
    # provider in its own process, behind its HTTP API, with its own database file
    # (BANK_DATABASE; default beside a SQLite DATABASE_URL, else data/bank.db).
    gateway_url: str = ""
    # Signs the provider's notifications (16+ characters); needed with GATEWAY_URL. With
    # the embedded provider a random one is made at start when it is empty.
    gateway_secret: SecretStr | None = None
    bank_database: str = ""
    # How long a payment's submitter has to record the provider's answer before the sweep
    # asks the provider about it (calls to the provider time out in half of it, at most 10 s).
    payment_lease_seconds: float = Field(default=30, ge=2, le=3600)
    # /forget keeps payments and their allocation lines under a pseudonym (README "Privacy").
    forget_keeps_payment_records: bool = False

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_known_zone(value):
            raise ValueError(f"unknown IANA time zone {value[:64]!r}")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
